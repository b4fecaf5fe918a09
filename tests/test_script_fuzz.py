"""Property tests for the script parser: whatever the text, the parser either
returns a well-formed Script or raises ScriptError, never anything else."""

from __future__ import annotations

import math
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tiers import examples

from voiceguide import rules
from voiceguide.errors import ScriptError
from voiceguide.parse.script import (
    ENCODING_REPAIRS,
    MAX_CYCLES,
    MAX_PAUSE_S,
    MAX_PHASE_S,
    MAX_SENTENCE_CHARS,
    At,
    Bell,
    Breathe,
    Chapter,
    Chime,
    Clip,
    Pause,
    Speech,
    parse_duration,
    parse_script,
)

FUZZ = settings(
    max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    soundfile.write(folder / "ok.wav", np.zeros(400, dtype=np.float32), 8000)
    (folder / "sub").mkdir()
    soundfile.write(folder / "sub" / "deel.flac", np.zeros(400, dtype=np.float32), 8000)
    return folder


# --- strategies -----------------------------------------------------------------

number = st.one_of(
    st.integers(0, 12).map(str),
    st.integers(0, 100_000).map(str),
    st.sampled_from(["0", ".5", "1.5", "0.25", "3.", "-1", "1e3", "nan", "inf", "²", "٣", "1_0", "9" * 400, "00"]),
)
unit = st.sampled_from(["", "s", "ms", "m", "min", "sec", "h", "S", "MS", " s", "x"])
duration = st.one_of(
    st.builds(lambda n, u: n + u, number, unit),
    st.builds(lambda m, s: f"{m}:{s}", number, number),
    st.builds(lambda a, u1, b, u2: f"{a}{u1}-{b}{u2}", number, unit, number, unit),
    st.builds(lambda a, b: f"{a}m{b}s", number, number),
    st.sampled_from(["*", "", " ", "-", "--", ":", "2-8s", "1:00-1:30", "500-1500ms", "**"]),
)
phase = st.one_of(number, st.builds(lambda n: n + "s", number))
pattern = st.one_of(
    st.sampled_from(["seed", "calm", "4-7-8", "box", "BOX", "seeds", "", "4-2-6", "4-0-6-2"]),
    st.lists(phase, min_size=1, max_size=5).map("-".join),
)
breathe_option = st.one_of(
    st.sampled_from(["count", "COUNT", "x*", "x", "X5", "loud", "x-1", "x5-", "x²"]),
    st.builds(lambda a: f"x{a}", number),
    st.builds(lambda a, b: f"x{a}-{b}", number, number),
)
clip_name = st.sampled_from(
    [
        "ok.wav",
        "OK.WAV",
        "sub/deel.flac",
        "./ok.wav",
        "nope.wav",
        "../ok.wav",
        "/etc/passwd.wav",
        "ok.txt",
        "a\x00.wav",
        "",
        "ok",
        "sub",
        "x" * 300 + ".wav",
        "mijn clip.mp3",
    ]
)
marker_body = st.one_of(
    st.builds(lambda d: f"pause {d}", duration),
    st.builds(lambda d: f"at {d}", duration),
    st.builds(lambda p, opts: " ".join(["breathe", p, *opts]), pattern, st.lists(breathe_option, max_size=3)),
    st.builds(lambda c: f"clip {c}", clip_name),
    st.sampled_from(
        ["bell", "chime", "bell x", "BELL", "", " ", "pauze 3s", "at", "at 1:00 2:00", "pause", "breathe", "[", "clip"]
    ),
    st.text(max_size=12),
)
marker = st.one_of(
    st.builds(lambda b: f"[{b}]", marker_body),
    st.builds(lambda d: f'<break time="{d}"/>', duration),
    st.sampled_from(
        ["<break/>", "<break time='1s'>", "<b>", "</p>", "< x", "<3", "[", "]", "[[pause 1s]]", "[pause 1s", "<break"]
    ),
)
# what a script may hold: no control characters, line separators or bidirectional overrides (rules.UNSAFE_CHARACTER)
word_alphabet = st.characters(
    codec="utf-8",
    exclude_categories=("Cs", "Cc", "Zl", "Zp"),
    exclude_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
)
word = st.one_of(
    st.sampled_from(["Adem", "rustig", "in", "uit", "Ga", "zitten", "café", "Geëerd", "à", "3.5", "Cafe\u0301", "O\u031b"]),
    st.sampled_from(list(ENCODING_REPAIRS)),
    st.text(word_alphabet, min_size=1, max_size=8),
)
punct = st.sampled_from(["", ".", "!", "?", "…", ". ", '." ', "!) ", "’ ", ",", "...", " — "])
sentence = st.builds(lambda words, end: " ".join(words) + end, st.lists(word, min_size=1, max_size=6), punct)
meta_key = st.sampled_from(
    ["title", "language", "voice", "rate", "pitch", "volume", "author", "hold_tone", "Title", "colour", "", "# note"]
)
meta_value = st.one_of(
    number,
    st.sampled_from(["nl", "en", "EN", "de", "auto", "soft", "silent", "loud", "", "<x>", "0.5", "1", "0", "Zelf # comment"]),
    st.text(max_size=10),
)
meta_line = st.one_of(
    st.builds(lambda k, v: f"{k}: {v}", meta_key, meta_value), st.sampled_from(["", "# comment", "no colon", "  rate :  100"])
)
front_matter = st.builds(
    lambda lines, close: "---\n" + "\n".join(lines) + ("\n---\n" if close else "\n"),
    st.lists(meta_line, max_size=5),
    st.booleans(),
)
line = st.one_of(
    st.lists(st.one_of(sentence, marker, word), min_size=1, max_size=5).map(" ".join),
    st.lists(st.one_of(sentence, marker), min_size=1, max_size=4).map("".join),
    marker,
    st.builds(lambda t: "# " + t, st.one_of(word, sentence, st.just(""))),
    st.sampled_from(["", "   ", "// comment [pause x]", "//", "#", "---", "\t"]),
)
newline = st.sampled_from(["\n", "\r\n", "\r", "\n\n"])
script_text = st.builds(
    lambda head, lines, seps: head + "".join(line + sep for line, sep in zip(lines, seps)),
    st.one_of(st.just(""), front_matter, st.sampled_from(["\n---\n", "---\ntitle: x\n---\n", "\ufeff"])),
    st.lists(line, min_size=0, max_size=8),
    st.lists(newline, min_size=8, max_size=8),
)


# well-formed pieces: (marker text, the item type it must yield)
seconds_text = st.one_of(
    st.integers(0, 600).map(lambda n: f"{n}s"),
    st.integers(0, 600_000).map(lambda n: f"{n}ms"),
    st.integers(0, 10).map(lambda n: f"{n}m"),
    st.tuples(st.integers(0, 9), st.integers(0, 59)).map(lambda t: f"{t[0]}:{t[1]:02d}"),
    st.integers(0, 6000).map(lambda n: f"{n / 10}"),
)
valid_pause = st.one_of(
    seconds_text.map(lambda d: f"[pause {d}]"),
    st.tuples(st.integers(0, 600), st.integers(0, 600)).map(lambda t: f"[pause {min(t)}-{max(t)}s]"),
    st.just("[pause *]"),
    seconds_text.map(lambda d: f'<break time="{d}"/>'),
)
valid_breathe = st.builds(
    lambda p, cycles, count: " ".join(["[breathe", p, *cycles, *count]) + "]",
    st.one_of(
        st.sampled_from(["seed", "calm", "4-7-8", "box", "Box"]),
        st.tuples(st.integers(1, 30), st.integers(0, 30), st.integers(1, 30), st.lists(st.integers(0, 30), max_size=1)).map(
            lambda t: "-".join(map(str, (t[0], t[1], t[2], *t[3])))
        ),
    ),
    st.lists(
        st.one_of(
            st.integers(1, 500).map(lambda n: f"x{n}"),
            st.just("x*"),
            st.tuples(st.integers(1, 250), st.integers(0, 250)).map(lambda t: f"x{t[0]}-{t[0] + t[1]}"),
        ),
        max_size=1,
    ),
    st.lists(st.just("count"), max_size=1),
)
valid_marker = st.one_of(
    valid_pause.map(lambda m: (m, Pause)),
    st.integers(0, 10800).map(lambda n: (f"[at {n}s]", At)),
    valid_breathe.map(lambda m: (m, Breathe)),
    st.sampled_from(
        [("[bell]", Bell), ("[chime]", Chime), ("[clip ok.wav]", Clip), ("[clip sub/deel.flac]", Clip), ("[ Bell ]", Bell)]
    ),
)
plain_words = st.lists(
    st.sampled_from(["Adem", "rustig", "in.", "uit!", "Voel", "je", "voeten?", "café", "rusƟg", "geëerd…", "3.5"]),
    min_size=1,
    max_size=5,
).map(" ".join)
valid_line = st.lists(st.one_of(plain_words.map(lambda w: (w, None)), valid_marker), min_size=1, max_size=4)
valid_front = st.lists(
    st.sampled_from(
        [
            "title: Oefening",
            "language: en",
            "voice: auto",
            "rate: 150",
            "pitch: 20",
            "volume: 0.7",
            "author: Jan",
            "hold_tone: silent",
            "# opmerking",
            "",
        ]
    ),
    max_size=4,
    unique_by=lambda line: line.split(":")[0],  # a setting given twice is an error
).map(lambda lines: "---\n" + "\n".join(lines) + "\n---\n")


# --- the properties ---------------------------------------------------------------


def parse_or_error(text: str, clip_dirs: tuple[Path, ...] = ()):
    """Parse, check the invariants of the result, and return it (or None on ScriptError)."""
    try:
        script = parse_script(text, "fuzz.vg", clip_dirs=clip_dirs)
    except ScriptError as error:
        line_count = len(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
        # every error found in the one pass: located, one line each, in file order
        assert error.errors[0] is error or (error.line, error.col, error.message) == (
            error.errors[0].line,
            error.errors[0].col,
            error.errors[0].message,
        )
        assert [(e.line, e.col) for e in error.errors] == sorted((e.line, e.col) for e in error.errors)
        assert str(error).split("\n") == [str(e) for e in error.errors]
        for each in error.errors:
            assert each.source == "fuzz.vg"
            assert each.message and "\n" not in each.message
            assert str(each).startswith("fuzz.vg:")
            assert 1 <= each.line <= line_count
            assert each.col >= 1
        return None
    check_script(script, text, clip_dirs)
    return script


def check_script(script, text: str, clip_dirs: tuple[Path, ...]) -> None:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    assert script.items
    assert any(isinstance(item, (Speech, Breathe, Clip, Bell, Chime)) for item in script.items)
    meta = script.meta
    assert 60 <= meta.rate <= 400 and 0 <= meta.pitch <= 99 and 0 < meta.volume <= 1
    assert meta.language in ("nl", "en") and meta.hold_tone in ("soft", "silent")
    assert meta.title and meta.voice
    previous_paragraph = -1
    for item in script.items:
        assert 1 <= item.at.line <= len(lines)
        assert 1 <= item.at.col <= len(lines[item.at.line - 1])
        written = lines[item.at.line - 1][item.at.col - 1]
        if isinstance(item, Speech):
            assert item.text and item.text == item.text.strip()
            assert "[" not in item.text and "]" not in item.text
            assert "<break" not in item.text.lower()
            assert not set(item.text) & set(ENCODING_REPAIRS)
            assert any(ch.isalnum() for ch in item.text)
            assert len(item.text) <= MAX_SENTENCE_CHARS
            assert unicodedata.is_normalized("NFC", item.text)
            assert "  " not in item.text and "\n" not in item.text and "\r" not in item.text
            assert item.paragraph >= previous_paragraph
            previous_paragraph = item.paragraph
            # the position is where the sentence starts in the source
            first = unicodedata.normalize("NFC", lines[item.at.line - 1][item.at.col - 1 :].split()[0])[0]
            assert item.text.startswith(ENCODING_REPAIRS.get(first, first))
        elif isinstance(item, Pause):
            assert written in "[<"
            for value in (item.min_s, item.max_s, item.default_s):
                assert not math.isnan(value) and value >= 0
            assert item.min_s <= item.default_s <= item.max_s
            assert math.isfinite(item.min_s) and math.isfinite(item.default_s)
            assert item.max_s <= MAX_PAUSE_S or (item.max_s == math.inf and (item.min_s, item.default_s) == (1.0, 4.0))
        elif isinstance(item, At):
            assert written == "["
            assert 0 <= item.time_s <= rules.MAX_SESSION_S
        elif isinstance(item, Breathe):
            assert written == "["
            assert len(item.pattern_s) in (3, 4)
            assert all(0 <= phase <= MAX_PHASE_S for phase in item.pattern_s)
            assert item.inhale_s >= 1 and item.exhale_s >= 1
            assert 1 <= item.cycles_min <= item.cycles_default <= item.cycles_max <= MAX_CYCLES
            assert isinstance(item.count, bool)
        elif isinstance(item, Chapter):
            assert written == "#"
            assert item.title and item.title == item.title.strip()
            assert not set(item.title) & set(ENCODING_REPAIRS)
        elif isinstance(item, Clip):
            assert written == "["
            assert item.path.is_file()
            assert any(item.path.is_relative_to(folder.resolve()) for folder in clip_dirs)
            assert item.path.suffix.lower() in (".wav", ".flac", ".mp3", ".ogg", ".opus")
        else:
            assert isinstance(item, (Bell, Chime)) and written == "["
    for where, bad, good in script.repairs:
        assert ENCODING_REPAIRS[bad] == good
        assert 1 <= where.line <= len(lines)


@FUZZ
@given(st.text())
@example("[pause 2S-8S]")
@example("[breathe seed x²]")
def test_arbitrary_text_only_raises_script_error(text):
    parse_or_error(text)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("[]<>#/-:.!?…*x 0123456789sm\n\r\t\"'ƫƩƠƟ")) | st.characters(), max_size=80))
def test_marker_alphabet_only_raises_script_error(text):
    parse_or_error(text)


@settings(FUZZ, max_examples=examples(600))
@given(text=script_text)
@example(text="---\nrate: " + "1" * 5000 + "\n---\nHallo.")
@example(text="[breathe seed x" + "1" * 5000 + "]")
@example(text="Een. Twee.\r\nDrie [bell] vier.\n")
@example(text="[clip a\x00.wav]")
@example(text="[clip " + "a" * 300 + ".wav]")
def test_grammar_scripts(text, clip_dir):
    parse_or_error(text, (clip_dir,))


@FUZZ
@given(text=st.lists(st.one_of(sentence, marker), min_size=1, max_size=6).map(" ".join))
def test_grammar_lines_with_clips(text, clip_dir):
    parse_or_error(text, (clip_dir,))


@FUZZ
@given(st.lists(sentence, min_size=1, max_size=8), st.sampled_from(["\n", "\r\n", " "]))
def test_plain_sentences_always_parse_and_keep_their_words(sentences, sep):
    text = sep.join(sentences)
    if not any(ch.isalnum() for ch in text) or any(ch in text for ch in "[]<#/") or text.lstrip().startswith("-"):
        return
    if any(line.lstrip().startswith("~") for line in text.splitlines()):
        return  # a line that starts with ~ is a return line (plan/returns.py), not a sentence
    script = parse_or_error(text)
    assert script is not None
    spoken = " ".join(s.text for s in script.sentences())
    expected = unicodedata.normalize("NFC", " ".join(text.split()))
    for bad, good in ENCODING_REPAIRS.items():
        expected = expected.replace(bad, good)
    # nothing is lost but punctuation-only sentences
    assert "".join(ch for ch in spoken if ch.isalnum()) == "".join(ch for ch in expected if ch.isalnum())


@FUZZ
@given(duration)
def test_parse_duration_is_finite_or_inf_and_non_negative(text):
    try:
        seconds = parse_duration(text)
    except ValueError as error:
        assert str(error)
        return
    assert seconds >= 0 and not math.isnan(seconds)


@FUZZ
@given(st.floats(0, MAX_PAUSE_S), st.floats(0, MAX_PAUSE_S))
def test_pause_range_round_trip(a, b):
    low, high = sorted((round(a, 3), round(b, 3)))
    (item, _) = parse_script(f"[pause {low}-{high}s]\n[bell]").items
    assert item == Pause(low, high, (low + high) / 2, item.at)


@FUZZ
@given(
    st.lists(st.integers(1, 30), min_size=3, max_size=4),
    st.integers(1, MAX_CYCLES),
    st.integers(0, MAX_CYCLES),
    st.booleans(),
)
def test_breathe_round_trip(phases, low, extra, count):
    high = min(low + extra, MAX_CYCLES)
    spec = "-".join(map(str, phases))
    text = f"[breathe {spec} x{low}-{high}{' count' if count else ''}]"
    (item,) = parse_script(text).items
    assert item.pattern_s == tuple(map(float, phases))
    assert (item.cycles_min, item.cycles_max, item.cycles_default) == (low, high, (low + high + 1) // 2)
    assert item.count is count


@settings(FUZZ, max_examples=examples(400))
@given(
    front=st.one_of(st.just(""), valid_front),
    lines=st.lists(st.one_of(valid_line, st.just([("", None)]), st.just([("# Hoofdstuk", Chapter)])), min_size=1, max_size=8),
    newline=newline,
)
def test_well_formed_scripts_always_parse(front, lines, newline, clip_dir):
    expected = [kind for line in lines for _, kind in line if kind is not None]
    text = front + newline.join(" ".join(piece for piece, _ in line) for line in lines)
    if not any(kind not in (Pause, At, Chapter) for kind in expected) and not any(
        kind is None and piece for line in lines for piece, kind in line
    ):
        text += newline + "[bell]"
        expected.append(Bell)
    try:
        script = parse_script(text, "fuzz.vg", clip_dirs=(clip_dir,))
    except ScriptError as error:
        raise AssertionError(f"well-formed script refused: {error}\n{text!r}") from None
    check_script(script, text, (clip_dir,))
    assert [type(item) for item in script.items if not isinstance(item, Speech)] == expected
