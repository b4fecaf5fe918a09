"""Hostile input, round 3 (issue 27): Piper voices and the voices folder.

A voice model is a file someone downloaded or was given: its size is
checked before it is hashed or loaded (Piper's models are under 200 MB),
its config is read bounded and as data (no NaN, no number beyond what the
network takes, no nesting that breaks the parser), and whatever its file
name holds reaches the terminal as visible text.
"""

from __future__ import annotations

import pytest
from hostile import SHORT, one_line, voiceguide
from test_piper import CONFIG, fake_model


@pytest.fixture
def data(tmp_path):
    (tmp_path / "kort.vg").write_text(SHORT, encoding="utf-8")
    return tmp_path / "data"


def test_a_sparse_giant_model_is_refused_before_it_is_hashed_or_loaded(tmp_path, data):
    model = fake_model(tmp_path / "models")
    with model.open("r+b") as file:
        file.truncate(2 << 30)
    result = voiceguide(
        "export", "kort.vg", "--voice", f"piper:{model}", "-o", "out.wav", cwd=tmp_path, limit_memory=True, timeout=60
    )
    assert one_line(result) == (
        f"voiceguide: {model} is 2147483648 bytes; Piper voice models are at most 200000000 bytes, so this is not one"
    )


@pytest.mark.sampled(2)
@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"inference": {"noise_scale": float("nan")}}, "holds NaN, which is not a number"),
        ({"inference": {"noise_scale": 1e308 * 10}}, "holds Infinity, which is not a number"),
        ({"inference": {"noise_w": "0.8"}}, "'noise_w' holds '0.8'; numbers from 0 to 10.0 are read"),
        (
            {"phoneme_id_map": {**CONFIG["phoneme_id_map"], "h": [10**30]}},
            "'phoneme_id_map' holds a number of about 31 digits; whole numbers from 0 to 65535 are read",
        ),
        ({"num_speakers": 10**40}, "'num_speakers' holds a number of about 41 digits; whole numbers from 0 to 10000 are read"),
    ],
)
def test_a_config_value_no_voice_has_is_bad_input(tmp_path, data, change, shown):
    model = fake_model(tmp_path / "models", config={**CONFIG, **change})
    result = voiceguide("export", "kort.vg", "--voice", f"piper:{model}", "-o", "out.wav", cwd=tmp_path)
    assert one_line(result) == f"voiceguide: {model}.json is not a Piper voice config ({shown})"


@pytest.mark.parametrize(
    ("config", "shown"),
    [
        ("[" * 100_000, "not valid JSON: nested too deeply"),
        ('{"num_speakers": ' + "9" * 5000 + "}", "holds a number of more than 4300 digits"),
    ],
)
def test_a_config_that_trips_the_parser_is_skipped_in_the_voices_list(tmp_path, data, config, shown):
    model = fake_model(data / "voices", config=None)
    model.with_name(model.name + ".json").write_text(config)
    fake_model(data / "voices", "en_US-good-low")
    result = voiceguide("voices", "--lang", "en", VOICEGUIDE_DATA_DIR=str(data))
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert result.stderr == (
        f"voiceguide: skipping a voice in {data / 'voices'}: {model}.json is not a Piper voice config ({shown})\n"
    )
    assert "piper:en_US-good-low" in result.stdout


def test_a_voice_file_name_with_escapes_reaches_the_terminal_as_text(data):
    fake_model(data / "voices", "evil\x1b]0;owned\x07\x1b[2J", config={**CONFIG, "num_speakers": -1})
    result = voiceguide("voices", "--lang", "en", VOICEGUIDE_DATA_DIR=str(data))
    assert result.returncode == 0
    assert "\x1b" not in result.stderr + result.stdout and "\x07" not in result.stderr
    assert "evil\\x1b]0;owned\\x07\\x1b[2J.onnx" in result.stderr
