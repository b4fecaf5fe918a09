"""Every rule of :mod:`voiceguide.rules` holds at each place that checks it:
the command line's options, the script parser, the manifest checker, the
export and the practice log. Each test takes its numbers from the rule, so
a rule changed in rules.py changes what every one of them accepts, and a
copy of a limit left somewhere else fails here."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import click
import pytest

from voiceguide import rules
from voiceguide.batch import feed, manifest
from voiceguide.batch.marks import marks_from_json
from voiceguide.cli import cli
from voiceguide.errors import ScriptError, UsageError
from voiceguide.parse.script import parse_script
from voiceguide.practice.diary import parse_tension
from voiceguide.practice.log import suggestion
from voiceguide.sinks import export


def _options() -> dict[tuple[str, str], click.Parameter]:
    """Every option of every command, by (command, option)."""
    found = {}

    def walk(command: click.Command, name: str) -> None:
        if isinstance(command, click.Group):
            for sub, child in command.commands.items():
                walk(child, f"{name} {sub}".strip())
            return
        for param in command.params:
            if isinstance(param, click.Option):
                found[(name, param.opts[-1])] = param

    walk(cli, "")
    return found


OPTIONS = _options()

RANGES = {
    "--rate": rules.RATE_WPM,
    "--minutes": rules.MINUTES,
    "--loudness": rules.LOUDNESS_LUFS,
    "--ambience-level": rules.AMBIENCE_BELOW_VOICE_DB,
    "--track": rules.TRACK_NUMBER,
    "--jobs": rules.JOBS,
}
CHOICES = {
    "--lang": rules.LANGUAGES,
    "--engine": rules.ENGINES,
    "--transcript": rules.TRANSCRIPTS,
    "--ambience": rules.AMBIENCES,
    "--bit-depth": tuple(str(depth) for depth in rules.BIT_DEPTHS),
    "--sample-rate": tuple(str(rate) for rate in rules.SAMPLE_RATES),
}


@pytest.mark.parametrize("option, rule", RANGES.items())
def test_every_range_option_takes_its_bounds_from_the_rule(option, rule):
    params = [param for (_, name), param in OPTIONS.items() if name == option]
    assert params, option
    for param in params:
        assert (param.type.min, param.type.max) == (rule.low, rule.high), option


@pytest.mark.parametrize("option, rule", CHOICES.items())
def test_every_choice_option_offers_the_rules_choices(option, rule):
    params = [param for (command, name), param in OPTIONS.items() if name == option and command != "voices"]
    assert params, option  # 'voices --lang' filters by any language code, not only the scripts'
    for param in params:
        assert sorted(param.type.choices) == sorted(rule), option


def test_the_next_commands_cap_stops_at_the_longest_session():
    assert OPTIONS[("next", "--cap")].type.max == rules.MINUTES.high


def _front_matter(key: str, value: object) -> str:
    return f"---\ntitle: T\n{key}: {value}\n---\nHallo.\n"


@pytest.mark.parametrize("key, rule", [("rate", rules.RATE_WPM), ("pitch", rules.PITCH)])
def test_the_parser_takes_a_scripts_whole_number_settings_from_the_rule(key, rule):
    for value in (int(rule.low), int(rule.high)):
        assert parse_script(_front_matter(key, value)).meta.__getattribute__(key) == value
    for value in (int(rule.low) - 1, int(rule.high) + 1):
        with pytest.raises(ScriptError):
            parse_script(_front_matter(key, value))


def test_the_parser_takes_languages_and_hold_tones_from_the_rules():
    for language in rules.LANGUAGES:
        assert parse_script(_front_matter("language", language)).meta.language == language
    for tone in rules.HOLD_TONES:
        parse_script(_front_matter("hold_tone", tone))
    with pytest.raises(ScriptError):
        parse_script(_front_matter("language", "xx"))


def test_the_parser_allows_an_at_time_up_to_the_session_limit():
    seconds = int(rules.MAX_SESSION_S)
    parse_script(f"Hallo.\n[at {seconds}s]\nDag.\n")
    with pytest.raises(ScriptError):
        parse_script(f"Hallo.\n[at {seconds + 1}s]\nDag.\n")


def test_the_parser_allows_pauses_phases_and_cycles_up_to_their_limits():
    parse_script(f"Hallo. [pause {rules.MAX_PAUSE_S:g}s]\n")
    with pytest.raises(ScriptError):
        parse_script(f"Hallo. [pause {rules.MAX_PAUSE_S + 1:g}s]\n")
    parse_script(f"Hallo.\n[breathe {rules.MAX_PHASE_S:g}-0-4 x2]\n")
    with pytest.raises(ScriptError):
        parse_script(f"Hallo.\n[breathe {rules.MAX_PHASE_S + 1:g}-0-4 x2]\n")
    parse_script(f"Hallo.\n[breathe 4-0-4 x{rules.MAX_CYCLES}]\n")
    with pytest.raises(ScriptError):
        parse_script(f"Hallo.\n[breathe 4-0-4 x{rules.MAX_CYCLES + 1}]\n")


@pytest.mark.parametrize(
    "check, rule",
    [(manifest._minutes, rules.MINUTES), (manifest._rate, rules.RATE_WPM), (manifest._loudness, rules.LOUDNESS_LUFS)],
)
def test_the_manifest_takes_its_ranges_from_the_rules(check, rule):
    high = int(rule.high) if rule.whole or check is manifest._rate else rule.high
    check(high)
    with pytest.raises(ValueError):
        check(high + 1)


def test_the_manifest_takes_its_choices_from_the_rules():
    for language in rules.LANGUAGES:
        manifest._language(language)
    for ambience in rules.AMBIENCES:
        manifest._ambience(ambience)
    with pytest.raises(ValueError):
        manifest._language("xx")


def test_export_writes_exactly_the_rules_formats_and_bit_depths():
    assert sorted(suffix.lstrip(".") for suffix in export.FORMATS) == sorted(rules.FORMATS)
    for depth in rules.BIT_DEPTHS:
        export.format_for(Path("x.wav"), depth)
    with pytest.raises(UsageError):
        export.format_for(Path("x.wav"), max(rules.BIT_DEPTHS) + 8)


def test_export_checks_loudness_and_transcripts_against_the_rules(tmp_path):
    target = tmp_path / "x.wav"
    with pytest.raises(UsageError):  # checked before the session is touched
        export.export_session(None, target, loudness_lufs=rules.LOUDNESS_LUFS.high + 1)
    with pytest.raises(UsageError):
        export.export_session(None, target, transcript="txt")
    assert not target.exists()


def test_export_and_manifest_offer_the_same_mp3_bitrates():
    for kbps in export.mp3_bitrates(rules.DEFAULT_SAMPLE_RATE):
        assert kbps in rules.MP3_KBPS
        assert manifest._bitrate(kbps) == kbps


def test_tension_is_rated_within_the_rule():
    assert parse_tension(int(rules.TENSION.high)) == rules.TENSION.high
    assert parse_tension(int(rules.TENSION.low)) == rules.TENSION.low
    with pytest.raises(UsageError):
        parse_tension(int(rules.TENSION.high) + 1)


def test_the_practice_cap_stops_at_the_longest_session(tmp_path):
    suggestion("zelfkalmering", cap_minutes=rules.MINUTES.high, data_dir=tmp_path)
    with pytest.raises(UsageError):
        suggestion("zelfkalmering", cap_minutes=rules.MINUTES.high + 1, data_dir=tmp_path)


def _png_header(side: int) -> bytes:
    """The start of a PNG ``side`` pixels square: all a cover's check reads."""
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)


def _manifest_with(tmp_path: Path, bundle_line: str) -> Path:
    path = tmp_path / "groep.toml"
    path.write_text(f'[bundle]\n{bundle_line}\n[[track]]\nexercise = "zelfkalmering"\n', encoding="utf-8")
    return path


def test_the_manifest_takes_a_covers_size_from_the_rule(tmp_path):
    low, high = int(rules.COVER_SIDE_PX.low), int(rules.COVER_SIDE_PX.high)
    manifest_path = _manifest_with(tmp_path, 'cover = "c.png"')
    for side in (low, high):
        (tmp_path / "c.png").write_bytes(_png_header(side))
        assert manifest.read_manifest(manifest_path).cover == str(tmp_path / "c.png")
    for side in (low - 1, high + 1):
        (tmp_path / "c.png").write_bytes(_png_header(side))
        with pytest.raises(manifest.ManifestError, match=f"want {low} to {high} pixels a side"):
            manifest.read_manifest(manifest_path)
    with open(tmp_path / "c.png", "wb") as big:  # a valid header, then more bytes than the rule reads
        big.write(_png_header(low))
        big.truncate(rules.MAX_COVER_BYTES + 1)
    with pytest.raises(manifest.ManifestError):
        manifest.read_manifest(manifest_path)


def test_the_manifest_refuses_a_key_of_more_parts_than_the_rule(tmp_path):
    too_long = f"more than {rules.MAX_MANIFEST_KEY_PARTS} dotted parts"
    with pytest.raises(manifest.ManifestError, match=too_long):
        manifest.read_manifest(_manifest_with(tmp_path, "a." * rules.MAX_MANIFEST_KEY_PARTS + "b = 1"))
    with pytest.raises(manifest.ManifestError) as other:  # as long as allowed: refused for being unknown, not long
        manifest.read_manifest(_manifest_with(tmp_path, "a." * (rules.MAX_MANIFEST_KEY_PARTS - 1) + "b = 1"))
    assert "dotted parts" not in str(other.value)


def test_state_files_are_read_up_to_the_rules_sizes(tmp_path):
    state = {"version": feed.FEED_STATE_VERSION, "files": ["feed.xml"]}
    text = json.dumps(state)
    for size, read in ((rules.MAX_FEED_STATE_BYTES, True), (rules.MAX_FEED_STATE_BYTES + 1, False)):
        (tmp_path / feed.FEED_STATE).write_text(text + " " * (size - len(text)), encoding="utf-8")
        assert feed.feed_written_names(tmp_path) == ({"feed.xml"} if read else set())
    chapter = ["Begin", 0.0]
    assert marks_from_json({"phases": [], "chapters": [chapter] * rules.MAX_MARKS}) is not None
    assert marks_from_json({"phases": [], "chapters": [chapter] * (rules.MAX_MARKS + 1)}) is None


def test_a_kept_pace_is_read_up_to_the_rules_size_and_not_past_it(tmp_path):
    from types import SimpleNamespace

    from voiceguide.speech import piper_pace

    model = SimpleNamespace(path=tmp_path / "stem.onnx", in_voices_dir=True)
    points = [(scale, 1.0 + scale) for scale in piper_pace.SCALES]
    piper_pace.keep_pace(model, "id", points)
    kept = piper_pace.pace_file(model, "id")
    text = kept.read_text(encoding="utf-8")
    kept.write_text(text + " " * (rules.MAX_PACE_FILE_BYTES - len(text.encode())), encoding="utf-8")
    assert piper_pace.read_pace(model, "id") == points
    kept.write_text(text + " " * (rules.MAX_PACE_FILE_BYTES + 1 - len(text.encode())), encoding="utf-8")
    assert piper_pace.read_pace(model, "id") is None
