"""Stage 1, the script parser: every marker, every setting, every error."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile

from voiceguide.errors import ScriptError
from voiceguide.parse.script import (
    At,
    Bell,
    Breathe,
    Chapter,
    Chime,
    Clip,
    Meta,
    Pause,
    Position,
    Speech,
    parse_duration,
    parse_script,
    read_script,
)

P = Position
INF = math.inf


def write_wav(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.zeros(800, dtype=np.float32), 8000)
    return path


def speeches(text: str) -> list[Speech]:
    return parse_script(text).sentences()


# --- markers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("[pause 3s]", Pause(3.0, 3.0, 3.0, P(1, 1))),
        ("[pause 1.5s]", Pause(1.5, 1.5, 1.5, P(1, 1))),
        ("[pause .5s]", Pause(0.5, 0.5, 0.5, P(1, 1))),
        ("[pause 500ms]", Pause(0.5, 0.5, 0.5, P(1, 1))),
        ("[pause 1:30]", Pause(90.0, 90.0, 90.0, P(1, 1))),
        ("[pause 0:05.5]", Pause(5.5, 5.5, 5.5, P(1, 1))),
        ("[pause 2m]", Pause(120.0, 120.0, 120.0, P(1, 1))),
        ("[pause 2 min]", Pause(120.0, 120.0, 120.0, P(1, 1))),
        ("[pause 1m30s]", Pause(90.0, 90.0, 90.0, P(1, 1))),
        ("[pause 4]", Pause(4.0, 4.0, 4.0, P(1, 1))),
        ("[pause 4 sec]", Pause(4.0, 4.0, 4.0, P(1, 1))),
        ("[pause 0s]", Pause(0.0, 0.0, 0.0, P(1, 1))),
        ("[pause 600s]", Pause(600.0, 600.0, 600.0, P(1, 1))),
        ("[pause 10m]", Pause(600.0, 600.0, 600.0, P(1, 1))),
        ("[pause 2-8s]", Pause(2.0, 8.0, 5.0, P(1, 1))),
        ("[pause 2-8]", Pause(2.0, 8.0, 5.0, P(1, 1))),
        ("[pause 2 - 8 s]", Pause(2.0, 8.0, 5.0, P(1, 1))),
        ("[pause 2S-8S]", Pause(2.0, 8.0, 5.0, P(1, 1))),
        ("[pause 500-1500ms]", Pause(0.5, 1.5, 1.0, P(1, 1))),
        ("[pause 1-2m]", Pause(60.0, 120.0, 90.0, P(1, 1))),
        ("[pause 30s-1m]", Pause(30.0, 60.0, 45.0, P(1, 1))),
        ("[pause 1:00-1:30]", Pause(60.0, 90.0, 75.0, P(1, 1))),
        ("[pause 3-3s]", Pause(3.0, 3.0, 3.0, P(1, 1))),
        ("[pause *]", Pause(1.0, INF, 4.0, P(1, 1))),
        ("[ pause\t3s ]", Pause(3.0, 3.0, 3.0, P(1, 1))),
        ("[PAUSE 3S]", Pause(3.0, 3.0, 3.0, P(1, 1))),
        ("   [pause 3s]", Pause(3.0, 3.0, 3.0, P(1, 4))),
        ("[at 1:00]", At(60.0, P(1, 1))),
        ("[at 90s]", At(90.0, P(1, 1))),
        ("[at 0]", At(0.0, P(1, 1))),
        ("[at 180m]", At(10800.0, P(1, 1))),
        ("[bell]", Bell(P(1, 1))),
        ("[Bell ]", Bell(P(1, 1))),
        ("[chime]", Chime(P(1, 1))),
        ("[breathe 4-2-6 x5 count]", Breathe((4.0, 2.0, 6.0), 5, 5, 5, True, P(1, 1))),
        ("[breathe 4-2-6]", Breathe((4.0, 2.0, 6.0), 5, 5, 5, False, P(1, 1))),
        ("[breathe 4-2-6 count x7]", Breathe((4.0, 2.0, 6.0), 7, 7, 7, True, P(1, 1))),
        ("[BREATHE 4-2-6 X3 COUNT]", Breathe((4.0, 2.0, 6.0), 3, 3, 3, True, P(1, 1))),
        ("[breathe 4s-2s-6s x2]", Breathe((4.0, 2.0, 6.0), 2, 2, 2, False, P(1, 1))),
        ("[breathe 3.5-1.5-5.5 x2 count]", Breathe((3.5, 1.5, 5.5), 2, 2, 2, True, P(1, 1))),
        ("[breathe 4-0-6-2 x3-4]", Breathe((4.0, 0.0, 6.0, 2.0), 3, 4, 4, False, P(1, 1))),
        ("[breathe 1-30-1 x500]", Breathe((1.0, 30.0, 1.0), 500, 500, 500, False, P(1, 1))),
        ("[breathe 4-2-6 x1-500]", Breathe((4.0, 2.0, 6.0), 1, 500, 251, False, P(1, 1))),
        ("[breathe 4-2-6 x3-6]", Breathe((4.0, 2.0, 6.0), 3, 6, 5, False, P(1, 1))),
        ("[breathe seed x*]", Breathe((4.0, 2.0, 6.0), 1, 500, 5, False, P(1, 1))),
        ("[breathe seed x3+]", Breathe((4.0, 2.0, 6.0), 3, 500, 3, False, P(1, 1))),
        ("[breathe seed x0+ count]", Breathe((4.0, 2.0, 6.0), 0, 500, 0, True, P(1, 1))),
        ('<break time="1500ms"/>', Pause(1.5, 1.5, 1.5, P(1, 1))),
        ("<break time='2s'>", Pause(2.0, 2.0, 2.0, P(1, 1))),
        ('<BREAK TIME = "1:00" />', Pause(60.0, 60.0, 60.0, P(1, 1))),
        ('<break strength="x" time="3"/>', Pause(3.0, 3.0, 3.0, P(1, 1))),
    ],
)
def test_marker_yields_item(text, expected):
    # [pause] and [at] alone would leave nothing to play
    assert parse_script(text + "\nHallo.").items == (expected, Speech("Hallo.", P(2, 1), 0))


@pytest.mark.parametrize(
    "name, pattern",
    [
        ("seed", (4.0, 2.0, 6.0)),
        ("calm", (4.0, 2.0, 6.0)),
        ("4-7-8", (4.0, 7.0, 8.0)),
        ("box", (4.0, 4.0, 4.0, 4.0)),
        ("BOX", (4.0, 4.0, 4.0, 4.0)),
        ("Seed", (4.0, 2.0, 6.0)),
    ],
)
def test_breath_presets(name, pattern):
    (item,) = parse_script(f"[breathe {name} x4 count]").items
    assert item == Breathe(pattern, 4, 4, 4, True, P(1, 1))


def test_breathe_phase_properties():
    box = parse_script("[breathe box]").items[0]
    assert (box.inhale_s, box.hold_s, box.exhale_s, box.hold_after_s, box.cycle_s) == (4.0, 4.0, 4.0, 4.0, 16.0)
    seed = parse_script("[breathe seed]").items[0]
    assert (seed.inhale_s, seed.hold_s, seed.exhale_s, seed.hold_after_s, seed.cycle_s) == (4.0, 2.0, 6.0, 0.0, 12.0)


@pytest.mark.parametrize(
    "text, elastic", [("[pause 3s]", False), ("[pause 2-8s]", True), ("[pause *]", True), ("[pause 3-3s]", False)]
)
def test_pause_elastic(text, elastic):
    assert parse_script(text + " [bell]").items[0].elastic is elastic


# --- inline and standalone markers, sentences, paragraphs ---------------------


def test_inline_marker_splits_text_within_one_paragraph():
    script = parse_script("Adem in. [pause 2s] Adem uit.")
    assert script.items == (
        Speech("Adem in.", P(1, 1), 0),
        Pause(2.0, 2.0, 2.0, P(1, 10)),
        Speech("Adem uit.", P(1, 21), 0),
    )


def test_inline_marker_mid_sentence():
    script = parse_script("Adem [bell] rustig in")
    assert script.items == (Speech("Adem", P(1, 1), 0), Bell(P(1, 6)), Speech("rustig in", P(1, 13), 0))


def test_standalone_markers_on_their_own_lines():
    script = parse_script("Adem in.\n[pause 2s]\n  [breathe seed x3]\nAdem uit.")
    assert script.items == (
        Speech("Adem in.", P(1, 1), 0),
        Pause(2.0, 2.0, 2.0, P(2, 1)),
        Breathe((4.0, 2.0, 6.0), 3, 3, 3, False, P(3, 3)),
        Speech("Adem uit.", P(4, 1), 0),
    )


def test_several_markers_on_one_line():
    script = parse_script('[bell][pause 1s] <break time="2s"/>[chime]')
    assert script.items == (Bell(P(1, 1)), Pause(1.0, 1.0, 1.0, P(1, 7)), Pause(2.0, 2.0, 2.0, P(1, 18)), Chime(P(1, 36)))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Een. Twee! Drie? Vier… Vijf", [("Een.", 1, 1), ("Twee!", 1, 6), ("Drie?", 1, 12), ("Vier…", 1, 18), ("Vijf", 1, 24)]),
        ('Hij zei "ja." Toen ging hij.', [('Hij zei "ja."', 1, 1), ("Toen ging hij.", 1, 15)]),
        ("Zij zei (echt!) niets.", [("Zij zei (echt!)", 1, 1), ("niets.", 1, 17)]),
        ("Drie.Vier keer 3.5 tellen.", [("Drie.Vier keer 3.5 tellen.", 1, 1)]),
        ("Adem\nrustig in.", [("Adem rustig in.", 1, 1)]),
        ("Een. Twee\ndrie. Vier.", [("Een.", 1, 1), ("Twee drie.", 1, 6), ("Vier.", 2, 7)]),
        ("Adem   \t  rustig    in.", [("Adem rustig in.", 1, 1)]),
        ("   Ingesprongen zin.", [("Ingesprongen zin.", 1, 4)]),
        ("Hallo. ... Daar.", [("Hallo.", 1, 1), ("Daar.", 1, 12)]),
        ("Ja.   Nee.", [("Ja.", 1, 1), ("Nee.", 1, 7)]),
        ("Hallo // geen commentaar", [("Hallo // geen commentaar", 1, 1)]),
        ("3 > 2 en 2 <3 en <- pijl", [("3 > 2 en 2 <3 en <- pijl", 1, 1)]),
        ("Ja.) Nee.", [("Ja.)", 1, 1), ("Nee.", 1, 6)]),
        ("Hij zei: ‘Rustig.’ Zij ook.", [("Hij zei: ‘Rustig.’", 1, 1), ("Zij ook.", 1, 20)]),
    ],
)
def test_sentence_splitting_and_positions(text, expected):
    assert [(s.text, s.at.line, s.at.col) for s in speeches(text)] == expected


def test_decomposed_text_is_nfc_normalised():
    (sentence,) = speeches("Cafe\u0301 open.")
    assert sentence.text == "Caf\u00e9 open."


def test_paragraphs_are_separated_by_blank_lines_and_headings():
    script = parse_script("Een. Twee.\nDrie.\n\nVier.\n\n\n   \nVijf. [pause 1s] Zes.\n# Hoofdstuk\nZeven.")
    paragraph = {s.text: s.paragraph for s in script.sentences()}
    assert paragraph["Een."] == paragraph["Twee."] == paragraph["Drie."]
    assert paragraph["Vijf."] == paragraph["Zes."]
    assert paragraph["Drie."] < paragraph["Vier."] < paragraph["Vijf."] < paragraph["Zeven."]


def test_first_sentence_is_paragraph_zero():
    assert [s.paragraph for s in speeches("Een.\n\nTwee.")] == [0, 1]


def test_punctuation_only_text_is_not_spoken():
    assert parse_script("... [bell] — !").items == (Bell(P(1, 5)),)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("# Aankomen\n[bell]", Chapter("Aankomen", P(1, 1))),
        ("  ## Twee   woorden  \n[bell]", Chapter("Twee   woorden", P(1, 3))),
        ("#Zonder spatie\n[bell]", Chapter("Zonder spatie", P(1, 1))),
        ("Tekst.\n\n# Later\n[bell]", Chapter("Later", P(3, 1))),
    ],
)
def test_chapter_headings(text, expected):
    chapters = [item for item in parse_script(text).items if isinstance(item, Chapter)]
    assert chapters == [expected]


def test_chapter_heading_keeps_marker_text_literal():
    assert parse_script("# Deel [een]\n[bell]").items[0] == Chapter("Deel [een]", P(1, 1))


def test_comments_are_ignored():
    script = parse_script("// intro\n  // ingesprongen [pause x] <b>\nHallo.\n// [bell]\nDaar.")
    assert script.items == (Speech("Hallo.", P(3, 1), 0), Speech("Daar.", P(5, 1), 0))


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_crlf_and_cr_line_endings(newline):
    text = newline.join(["---", "title: Eind", "rate: 150", "---", "Een.", "", "Twee. [pause 1s]", "[bell]", ""])
    script = parse_script(text)
    assert script.meta == Meta(title="Eind", rate=150)
    assert script.items == (
        Speech("Een.", P(5, 1), script.items[0].paragraph),
        Speech("Twee.", P(7, 1), script.items[1].paragraph),
        Pause(1.0, 1.0, 1.0, P(7, 7)),
        Bell(P(8, 1)),
    )
    assert script.items[0].paragraph < script.items[1].paragraph
    assert all("\r" not in s.text for s in script.sentences())


def test_crlf_error_positions():
    with pytest.raises(ScriptError) as info:
        parse_script("Een.\r\nTwee [pauze 1s]\r\n")
    assert (info.value.line, info.value.col) == (2, 6)


def test_source_is_kept():
    script = parse_script("Hallo.", Path("oefening.vg"))
    assert script.source == "oefening.vg"
    assert parse_script("Hallo.").source == "<script>"


# --- front matter -------------------------------------------------------------


def test_no_front_matter_gives_defaults():
    assert parse_script("Hallo.").meta == Meta()
    assert Meta() == Meta(
        title="Untitled", language="nl", voice="auto", rate=125, pitch=50, volume=1.0, author="", hold_tone="soft"
    )


@pytest.mark.parametrize(
    "line, field, value",
    [
        ("title: Zelfkalmering", "title", "Zelfkalmering"),
        ("title:   Veilige plek   ", "title", "Veilige plek"),
        ("title: Week: een # commentaar", "title", "Week: een"),
        ("Title: Hoofdletters", "title", "Hoofdletters"),
        ("language: nl", "language", "nl"),
        ("language: EN", "language", "en"),
        ("voice: auto", "voice", "auto"),
        ("voice: en-us+f3", "voice", "en-us+f3"),
        ("voice: Microsoft Zira Desktop", "voice", "Microsoft Zira Desktop"),
        ("voice: gmw/nl", "voice", "gmw/nl"),
        ("rate: 60", "rate", 60),
        ("rate: 400", "rate", 400),
        ("rate: 150 # woorden per minuut", "rate", 150),
        ("pitch: 0", "pitch", 0),
        ("pitch: 99", "pitch", 99),
        ("volume: 0.5", "volume", 0.5),
        ("volume: 1", "volume", 1.0),
        ("volume: 1e-3", "volume", 0.001),
        ("author: Jan de Vries", "author", "Jan de Vries"),
        ("hold_tone: soft", "hold_tone", "soft"),
        ("hold_tone: Silent", "hold_tone", "silent"),
    ],
)
def test_front_matter_settings(line, field, value):
    script = parse_script(f"---\n{line}\n---\nHallo.")
    assert getattr(script.meta, field) == value
    assert type(getattr(script.meta, field)) is type(value)
    # everything else stays at its default
    defaults = Meta()
    for other in ("title", "language", "voice", "rate", "pitch", "volume", "author", "hold_tone"):
        if other != field:
            assert getattr(script.meta, other) == getattr(defaults, other)


def test_full_front_matter_and_body_positions():
    text = "\n\n---\n# settings\ntitle: T\nlanguage: en\n\nvoice: v1\nrate: 100\npitch: 40\nvolume: 0.8\nauthor: A\nhold_tone: silent\n---\nHallo."
    script = parse_script(text)
    assert script.meta == Meta("T", "en", "v1", 100, 40, 0.8, "A", "silent")
    assert script.items == (Speech("Hallo.", P(15, 1), 0),)


def test_second_dash_block_is_body_text():
    script = parse_script("---\ntitle: x\n---\n---\nspeed: 3\n---\nHallo.")
    assert script.meta == Meta(title="x")
    assert [(s.text, s.at.line) for s in script.sentences()] == [("--- speed: 3 --- Hallo.", 4)]


def test_a_setting_given_twice_is_an_error_not_last_one_wins():
    with pytest.raises(ScriptError) as info:
        parse_script("---\nrate: 100\nRate: 200\n---\nHallo.", "t.vg")
    assert str(info.value) == "t.vg:3:1: setting 'rate' is given twice (first on line 2); keep one"


def test_dashes_not_on_first_line_are_not_front_matter():
    script = parse_script("Hallo.\n---\ntitle: x\n---")
    assert script.meta == Meta()
    assert [s.text for s in script.sentences()] == ["Hallo.", "--- title: x ---"]


# --- encoding damage ----------------------------------------------------------

MOJIBAKE = "ƫƩƠƟ"


@pytest.mark.parametrize(
    "text, spoken, repairs",
    [
        ("Ga rusƟg zitten.", "Ga rustig zitten.", [(P(1, 7), "Ɵ", "ti")]),
        ("Geƫerd.", "Geëerd.", [(P(1, 3), "ƫ", "ë")]),
        ("CafƩ open.", "Café open.", [(P(1, 4), "Ʃ", "é")]),
        ("Ơ la carte.", "à la carte.", [(P(1, 1), "Ơ", "à")]),
        ("Het is niet ver.\nGa rusƟg zitten.", "Ga rustig zitten.", [(P(2, 7), "Ɵ", "ti")]),
        ("[bell] AandachƟg en rusƟg.", "Aandachtig en rustig.", [(P(1, 15), "Ɵ", "ti")]),
        ("CafƩ en aandachƟg, Ɵ.", "Café en aandachtig, ti.", [(P(1, 4), "Ʃ", "é"), (P(1, 16), "Ɵ", "ti")]),
        ("Een. Twee. CafƩ.", "Café.", [(P(1, 15), "Ʃ", "é")]),
        ("Een    twee CafƩ.", "Een twee Café.", [(P(1, 16), "Ʃ", "é")]),
        ("O\u031b la carte.", "à la carte.", [(P(1, 1), "Ơ", "à")]),
    ],
)
def test_encoding_damage_is_repaired(text, spoken, repairs):
    script = parse_script(text)
    assert spoken in [s.text for s in script.sentences()]
    assert list(script.repairs) == repairs


def test_chapter_title_damage_is_repaired_at_its_column():
    script = parse_script("##  RusƟg\n[bell]")
    assert script.items[0] == Chapter("Rustig", P(1, 1))
    assert list(script.repairs) == [(P(1, 8), "Ɵ", "ti")]


def test_no_damage_remains_in_any_sentence():
    text = "\n".join(
        [
            "# Ɵ ƫ",
            "ƫƩƠƟ. ƟƟ! Ơ? Ʃ… ƫ",
            "A [pause 1s] ƩƩƩ [bell] ƠƟƫ",
            "",
            "O\u031b en o\u031b. ƫ",
        ]
    )
    script = parse_script(text)
    assert script.sentences()
    for sentence in script.sentences():
        assert not set(sentence.text) & set(MOJIBAKE), sentence.text
    assert not set(script.items[0].title) & set(MOJIBAKE)
    assert {bad for _, bad, _ in script.repairs} == set(MOJIBAKE)


def test_clean_text_has_no_repairs():
    assert parse_script("Geëerd, café, à la carte, rustig.").repairs == ()


# --- clips --------------------------------------------------------------------


@pytest.fixture
def clips(tmp_path: Path) -> Path:
    folder = tmp_path / "clips"
    write_wav(folder / "welkom.wav")
    write_wav(folder / "sub" / "deel.wav")
    write_wav(folder / "mijn clip.wav")
    write_wav(tmp_path / "buiten.wav")
    return folder


@pytest.mark.parametrize("name", ["welkom.wav", "sub/deel.wav", "mijn clip.wav", "./welkom.wav"])
def test_clip_found(clips, name):
    script = parse_script(f"Hallo [clip {name}]", clip_dirs=(clips,))
    assert script.items[1] == Clip((clips / name).resolve(), P(1, 7))
    assert script.items[1].path.is_absolute()


def test_clip_dirs_are_searched_in_order(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    write_wav(first / "x.wav")
    write_wav(second / "x.wav")
    write_wav(second / "y.wav")
    script = parse_script("[clip x.wav]\n[clip y.wav]", clip_dirs=(first, second))
    assert [item.path for item in script.items] == [(first / "x.wav").resolve(), (second / "y.wav").resolve()]


def test_read_script_resolves_clips_beside_the_script_first(tmp_path, clips):
    write_wav(tmp_path / "welkom.wav")
    path = tmp_path / "oefening.vg"
    path.write_text("[clip welkom.wav]\n[clip sub/deel.wav]\n", encoding="utf-8")
    script = read_script(path, clip_dirs=(clips,))
    assert [item.path for item in script.items] == [(tmp_path / "welkom.wav").resolve(), (clips / "sub" / "deel.wav").resolve()]
    assert script.source == str(path)


@pytest.mark.parametrize(
    "name, message",
    [
        ("nope.wav", "clip 'nope.wav' not found; looked in "),
        ("../buiten.wav", "without '..' or an absolute path"),
        ("sub/../../buiten.wav", "without '..' or an absolute path"),
        ("/etc/passwd.wav", "without '..' or an absolute path"),
        ("notes.txt", "must be a sound file (.wav, .flac, .mp3, .ogg, .opus)"),
        ("welkom.wav.txt", "must be a sound file"),
        ("welkom", "must be a sound file"),
        ("sub", "must be a sound file"),
        ("a\x00.wav", "not found"),
        ("a" * 300 + ".wav", "not found"),
    ],
)
def test_clip_refused(clips, name, message):
    with pytest.raises(ScriptError) as info:
        parse_script(f"Hallo.\n  [clip {name}]", clip_dirs=(clips,))
    assert message in info.value.message
    assert (info.value.line, info.value.col) == (2, 9)


def test_clip_absolute_path_inside_clip_dir_refused(clips):
    with pytest.raises(ScriptError, match="without '..' or an absolute path"):
        parse_script(f"[clip {clips / 'welkom.wav'}]", clip_dirs=(clips,))


def test_clip_folder_with_sound_name_is_not_a_clip(clips):
    (clips / "map.wav").mkdir()
    with pytest.raises(ScriptError, match="not found"):
        parse_script("[clip map.wav]", clip_dirs=(clips,))


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_clip_symlink_out_of_the_folder_refused(clips, tmp_path):
    (clips / "link.wav").symlink_to(tmp_path / "buiten.wav")
    with pytest.raises(ScriptError, match="clip 'link.wav' not found"):
        parse_script("[clip link.wav]", clip_dirs=(clips,))


def test_clip_not_found_lists_folders(clips, tmp_path):
    with pytest.raises(ScriptError) as info:
        parse_script("[clip nope.wav]", clip_dirs=(clips, tmp_path))
    assert info.value.message == f"clip 'nope.wav' not found; looked in {clips}, {tmp_path}"


# --- every error the parser raises --------------------------------------------

LONG = "a" * 1001


@pytest.mark.parametrize(
    "text, line, col, message",
    [
        # whole script
        ("a" * 200_001, 1, 1, "script has 200001 characters; the limit is 200000"),
        ("", 1, 1, "script has nothing to play"),
        ("// alleen\n# Titel\n[pause 3s]\n", 4, 1, "script has nothing to play; add a sentence or a marker"),
        ("---\ntitle: x\n---", 3, 1, "script has nothing to play"),
        ("... !!!\n[at 1:00]", 2, 1, "script has nothing to play"),
        # front matter
        ("---\ntitle Zonder punt\n---\nHallo.", 2, 1, "front matter line 'title Zonder punt' needs the form 'key: value'"),
        ("---\n   titel\n---\nHallo.", 2, 4, "needs the form 'key: value'"),
        ("---\n  colour: blue\n---\nHallo.", 2, 3, "unknown setting 'colour'; known settings: author, hold_tone, language"),
        ("\n---\ntitle: x\n# nog steeds instellingen\n", 2, 1, "front matter opened with '---' is never closed"),
        ("---\ntitle: x\nHallo.", 3, 1, "front matter line 'Hallo.' needs the form 'key: value'"),
        ("---\nrate: 59\n---\nHi.", 2, 7, "rate must be a whole number from 60 to 400, not '59'"),
        ("---\nrate: 401\n---\nHi.", 2, 7, "not '401'"),
        ("---\nrate:   fast # te snel\n---\nHi.", 2, 9, "rate must be a whole number from 60 to 400, not 'fast'"),
        ("---\nrate: 12.5\n---\nHi.", 2, 7, "not '12.5'"),
        ("---\nrate: -100\n---\nHi.", 2, 7, "not '-100'"),
        ("---\nrate: " + "1" * 5000 + "\n---\nHi.", 2, 7, "rate must be a whole number from 60 to 400"),
        ("---\npitch: 100\n---\nHi.", 2, 8, "pitch must be a whole number from 0 to 99, not '100'"),
        ("---\npitch:\n---\nHi.", 2, 7, "pitch must be a whole number from 0 to 99, not ''"),
        ("---\nvolume: 0\n---\nHi.", 2, 9, "volume must be a number above 0 and at most 1, not '0'"),
        ("---\nvolume: 1.5\n---\nHi.", 2, 9, "not '1.5'"),
        ("---\nvolume: luid\n---\nHi.", 2, 9, "not 'luid'"),
        ("---\nvolume: nan\n---\nHi.", 2, 9, "not 'nan'"),
        ("---\nvolume: -0.5\n---\nHi.", 2, 9, "not '-0.5'"),
        ("---\nlanguage: de\n---\nHi.", 2, 11, "language 'de' is not supported; use one of: nl, en"),
        ("---\nhold_tone: loud\n---\nHi.", 2, 12, "hold_tone must be 'soft' or 'silent', not 'loud'"),
        ("---\nvoice: <script>\n---\nHi.", 2, 8, "voice '<script>' is not a voice id; use 'auto'"),
        ("---\nvoice:\n---\nHi.", 2, 7, "voice '' is not a voice id"),
        ("---\nvoice: " + "v" * 81 + "\n---\nHi.", 2, 8, "is not a voice id"),
        ("---\ntitle:\n---\nHi.", 2, 7, "title needs a value"),
        ("---\nauthor:   # niemand\n---\nHi.", 2, 11, "author needs a value"),
        # body
        ("# \n[bell]", 1, 1, "chapter heading is empty; write '# Title'"),
        ("Hallo.\n  ###\n[bell]", 2, 3, "chapter heading is empty"),
        ("Hallo] daar.", 1, 6, "']' without an opening '['"),
        ("[bell] ]", 1, 8, "']' without an opening '['"),
        ("Hallo [pause 3s", 1, 7, "marker is not closed; add ']'"),
        ("Hallo.\n[bell] [chime", 2, 8, "marker is not closed"),
        ("Hallo <speak>daar</speak>", 1, 7, 'only the SSML tag <break time="2s"/> is understood'),
        ("a < b", 1, 3, "only the SSML tag"),
        ("1 <3 <em>x</em>", 1, 6, "only the SSML tag"),
        ("[bell] tekst </p>", 1, 14, "only the SSML tag"),
        ("Hallo <break", 1, 7, "only the SSML tag"),
        (LONG + ".", 1, 1, "sentence has 1002 characters; split it (the limit is 1000)"),
        ("Kort.\nNog kort. " + LONG, 2, 11, "sentence has 1001 characters"),
        # markers
        ("[]", 1, 1, "empty marker []; use one of: pause, at, breathe, bell, chime, clip"),
        ("Hallo [  ]", 1, 7, "empty marker []"),
        ("Hallo [pauze 3s]", 1, 7, "unknown marker [pauze]; use one of: pause, at, breathe, bell, chime, clip"),
        ("[pause]", 1, 7, "[pause] needs a length, e.g. [pause 3s]"),
        ("[pause   ]", 1, 10, "[pause] needs a length"),
        ("[pause drie]", 1, 8, "'drie' is not a duration; write e.g. 3s, 1.5s, 500ms, 2m or 1:30"),
        ("[pause   drie]", 1, 10, "'drie' is not a duration"),
        ("[pause 3h]", 1, 8, "'3h' is not a duration"),
        (
            "[pause -3s]",
            1,
            8,
            "a pause cannot be negative ('-3s'); write a length such as [pause 1s], or a range such as [pause 1-3s]",
        ),
        ("[pause 1:75]", 1, 8, "'1:75' has 75 seconds; use 0-59 after the colon"),
        ("[pause 2s-x]", 1, 11, "'x' is not a duration"),
        ("[pause 2s - x]", 1, 13, "'x' is not a duration"),
        ("[pause 8-2s]", 1, 8, "pause range 8-2s runs backwards; write the shorter length first"),
        ("[pause 1m-30s]", 1, 8, "runs backwards"),
        ("[pause 601s]", 1, 8, "pause of 601 s is longer than the 600 s limit"),
        ("[pause 5-11m]", 1, 8, "pause of 660 s is longer than the 600 s limit"),
        ("[pause " + "9" * 400 + "s]", 1, 8, "pause of inf s is longer than the 600 s limit"),
        ("[pause " + "1" * 5000 + ":00]", 1, 8, "pause of inf s is longer than the 600 s limit"),
        ("[pause " + "9" * 400 + "m0s]", 1, 8, "pause of inf s is longer than the 600 s limit"),
        ("[at " + "9" * 400 + ":00]", 1, 5, "is beyond the 3 hour limit"),
        ("[at]", 1, 1, "[at] takes one time, e.g. [at 1:00] or [at 90s]"),
        ("Hallo. [at 1:00 2:00]", 1, 8, "[at] takes one time"),
        ("[at soon]", 1, 5, "'soon' is not a duration"),
        ("[at 181m]", 1, 5, "[at 181m] is beyond the 3 hour limit"),
        ("[bell loud]", 1, 7, "[bell] takes no arguments"),
        ("[chime   x]", 1, 10, "[chime] takes no arguments"),
        ("<break/>", 1, 1, '<break> needs a time attribute, e.g. <break time="1500ms"/>'),
        ('Hallo <break strength="weak"/>', 1, 7, "<break> needs a time attribute"),
        ('Hallo <break time="soon"/>', 1, 7, "'soon' is not a duration"),
        ('<break time="11m"/>', 1, 1, "pause of 660 s is longer than the 600 s limit"),
        ("[breathe]", 1, 9, "[breathe] needs a pattern; write e.g. [breathe 4-2-6 x5 count]"),
        ("[breathe 4-2-6 x5 loud]", 1, 19, "unknown breathe option 'loud'"),
        ("[breathe  4-2-6   traag]", 1, 19, "unknown breathe option 'traag'"),
        ("[breathe 4-6]", 1, 10, "breath pattern '4-6' needs 3 or 4 lengths in seconds"),
        ("[breathe calmer]", 1, 10, "breath pattern 'calmer' needs 3 or 4 lengths"),
        ("[breathe 1-2-3-4-5]", 1, 10, "needs 3 or 4 lengths"),
        ("[breathe 4-two-6]", 1, 10, "breath phase 'two' is not a number of seconds"),
        ("[breathe 4--6]", 1, 10, "breath phase '' is not a number of seconds"),
        ("[breathe 4-31-6]", 1, 10, "breath phase '31' must be from 0 to 30 seconds"),
        ("[breathe 4-nan-6]", 1, 10, "breath phase 'nan' must be from 0 to 30 seconds"),
        ("[breathe 4-inf-6]", 1, 10, "breath phase 'inf' must be from 0 to 30 seconds"),
        ("[breathe 4-2-6-31]", 1, 10, "breath phase '31' must be"),
        ("[breathe 0.5-2-6]", 1, 10, "breathing in and out take at least 1 second each, not '0.5-2-6'"),
        ("[breathe 4-2-0]", 1, 10, "breathing in and out take at least 1 second each"),
        ("[breathe seed xfive]", 1, 15, "cycle count 'xfive' must be xN, xN-M, xN+ or x*, e.g. x5"),
        ("[breathe seed x]", 1, 15, "cycle count 'x' must be xN"),
        ("[breathe seed x5-]", 1, 15, "cycle count 'x5-' must be xN"),
        ("[breathe seed x3-5+]", 1, 15, "cycle count 'x3-5+' must be xN"),
        ("[breathe seed x500+]", 1, 15, "cycle count 'x500+' must be between 1 and 500"),
        ("[breathe seed x²]", 1, 15, "cycle count 'x²' must be xN"),
        ("[breathe seed count x-3]", 1, 21, "cycle count 'x-3' must be xN"),
        ("[breathe seed x0]", 1, 15, "cycle count 'x0' must be between 1 and 500, smaller number first"),
        ("[breathe seed x501]", 1, 15, "between 1 and 500"),
        ("[breathe seed x6-3]", 1, 15, "between 1 and 500, smaller number first"),
        ("[breathe seed x" + "1" * 5000 + "]", 1, 15, "between 1 and 500"),
        ("[clip]", 1, 6, "[clip] needs a file name, e.g. [clip welkom.wav]"),
        ("[clip notes.txt]", 1, 7, "clip 'notes.txt' must be a sound file"),
        ("[clip ../x.wav]", 1, 7, "clip '../x.wav' must be a file name inside the script's folder"),
        ("[clip /etc/passwd.wav]", 1, 7, "without '..' or an absolute path"),
        ("[clip welkom.wav]", 1, 7, "clip 'welkom.wav' not found; looked in no folders"),
    ],
)
def test_parse_errors(text, line, col, message):
    with pytest.raises(ScriptError) as info:
        parse_script(text, "oefening.vg")
    error = info.value
    assert message in error.message
    assert (error.source, error.line, error.col) == ("oefening.vg", line, col)
    assert str(error) == f"oefening.vg:{line}:{col}: {error.message}"
    assert "\n" not in error.message


def test_error_without_line_has_no_location_numbers():
    error = ScriptError("kapot", "x.vg")
    assert str(error) == "x.vg: kapot"
    assert (error.line, error.col) == (0, 0)


# --- read_script --------------------------------------------------------------


def test_read_script_reads_utf8_with_bom(tmp_path):
    path = tmp_path / "bom.vg"
    path.write_bytes(b"\xef\xbb\xbf" + "---\ntitle: Geëerd\n---\nHallo.\n".encode())
    script = read_script(path)
    assert script.meta.title == "Geëerd"
    assert script.items == (Speech("Hallo.", P(4, 1), 0),)


def test_read_script_error_locations_use_the_file_name(tmp_path):
    path = tmp_path / "fout.vg"
    path.write_text("Hallo.\n[pauze]\n", encoding="utf-8")
    with pytest.raises(ScriptError) as info:
        read_script(path)
    assert (info.value.source, info.value.line, info.value.col) == (str(path), 2, 1)


def test_read_script_missing_file(tmp_path):
    path = tmp_path / "weg.vg"
    with pytest.raises(ScriptError) as info:
        read_script(path)
    assert info.value.message.startswith("no such script file")
    assert (info.value.source, info.value.line, info.value.col) == (str(path), 0, 0)
    assert str(info.value) == f"{path}: {info.value.message}"


def test_read_script_folder(tmp_path):
    with pytest.raises(ScriptError) as info:
        read_script(tmp_path)
    assert info.value.message == "is a folder, not a script file"
    assert info.value.line == 0


def test_read_script_unreadable_path(tmp_path):
    (tmp_path / "bestand").write_text("x")
    with pytest.raises(ScriptError) as info:
        read_script(tmp_path / "bestand" / "oefening.vg")
    assert info.value.message.startswith("cannot read: ")
    assert info.value.line == 0


def test_read_script_too_big(tmp_path):
    path = tmp_path / "groot.vg"
    path.write_bytes(b"a" * 800_001)
    with pytest.raises(ScriptError) as info:
        read_script(path)
    assert info.value.message == "script is 800001 bytes; scripts are limited to 200000 characters"


@pytest.mark.parametrize(
    "raw, line, col",
    [
        (b"\xff", 1, 1),
        (b"Hallo\n\xffx", 2, 1),
        (b"Hallo\nd\xc3\xa9 \xff", 2, 4),
        (b"\xef\xbb\xbfa\nb\xff", 2, 2),
        (b"\xef\xbb\xbfab\xff", 1, 3),
        (b"a\r\nb\r\xfe", 3, 1),
        (b"een\ntwee\ndrie \xe2\x80", 3, 6),
        (b"caf\xe9", 1, 4),
    ],
)
def test_read_script_invalid_utf8(tmp_path, raw, line, col):
    path = tmp_path / "latin1.vg"
    path.write_bytes(raw)
    with pytest.raises(ScriptError) as info:
        read_script(path)
    assert info.value.message == "not valid UTF-8 text; save the script as UTF-8"
    assert (info.value.line, info.value.col) == (line, col)


# --- parse_duration -----------------------------------------------------------


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("3s", 3.0),
        ("3", 3.0),
        (" 3 s ", 3.0),
        ("1.5s", 1.5),
        (".5", 0.5),
        ("500ms", 0.5),
        ("2m", 120.0),
        ("2min", 120.0),
        ("2 MIN", 120.0),
        ("10sec", 10.0),
        ("1:30", 90.0),
        ("0:59.5", 59.5),
        ("12:05", 725.0),
        ("1m30s", 90.0),
        ("1min 2.5s", 62.5),
        ("0", 0.0),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text", ["9" * 400, "9" * 400 + "s", "9" * 400 + ":00", "9" * 400 + "m0s", "1" * 5000 + ":00", "1" * 5000 + "m"]
)
def test_parse_duration_huge_numbers_are_infinite(text):
    assert parse_duration(text) == INF


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "'' is not a duration"),
        ("drie", "'drie' is not a duration; write e.g. 3s, 1.5s, 500ms, 2m or 1:30"),
        ("3h", "'3h' is not a duration"),
        ("-3s", "'-3s' is not a duration"),
        ("1e3", "'1e3' is not a duration"),
        ("inf", "'inf' is not a duration"),
        ("nan", "'nan' is not a duration"),
        ("1:2:3", "'1:2:3' is not a duration"),
        ("1:60", "'1:60' has 60 seconds; use 0-59 after the colon"),
        ("1:123", "'1:123' is not a duration"),
        ("3.s", "'3.s' is not a duration"),
    ],
)
def test_parse_duration_rejects(text, message):
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value).startswith(message)
