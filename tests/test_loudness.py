"""Streaming loudness and true peak (BS.1770-4), and the gain stages that
keep peaks down: checked against pyloudnorm and scipy on whole arrays."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
from audio_checks import high_band_dbfs, peak_dbfs
from scipy.signal import resample_poly

from voiceguide.dsp.dynamics import LookaheadGain, limit_gain_db, sliding_min, soft_knee_gain_db, tame_peaks
from voiceguide.dsp.loudness import LoudnessMeter, TruePeakDetector


def noise_bursts(rate: int, seconds: float, seed: int = 1) -> np.ndarray:
    """Band-limited noise with a quiet stretch (gated out) and a loud burst."""
    rng = np.random.default_rng(seed)
    x = resample_poly(rng.standard_normal(int(seconds * rate)), 1, 3)
    x = resample_poly(x, 3, 1)[: int(seconds * rate)] * 0.15
    x[: len(x) // 4] *= 0.003
    x[len(x) // 2 : len(x) // 2 + rate // 10] *= 5
    return x


def true_peak_reference(x: np.ndarray) -> float:
    return 20 * np.log10(max(np.max(np.abs(resample_poly(x, 4, 1))), np.max(np.abs(x))))


def blocks_of(x: np.ndarray, size: int):
    return [x[i : i + size] for i in range(0, len(x), size)]


@pytest.mark.parametrize("rate", [22_050, 44_100, 48_000])
@pytest.mark.parametrize("block", [1000, 8192, 65_536])
def test_streaming_loudness_matches_pyloudnorm_on_the_whole_array(rate, block):
    x = noise_bursts(rate, 7.3)
    measured = LoudnessMeter(rate).add_all(blocks_of(x, block))
    assert measured.integrated_lufs == pytest.approx(pyloudnorm.Meter(rate).integrated_loudness(x), abs=0.01)
    assert measured.true_peak_dbtp == pytest.approx(true_peak_reference(x), abs=0.01)
    assert measured.frames == len(x)


def test_streaming_loudness_of_a_real_mix_matches_pyloudnorm(write_script, engine):
    from voiceguide import load_script, prepare_session

    session = prepare_session(
        load_script(write_script("Hallo daar. [pause 1s] Adem rustig in. [breathe 3-1-4 x1] [bell] Dank je wel.")), engine=engine
    )
    whole = session.mixer.render_all().astype(np.float64)
    streamed = LoudnessMeter(session.sample_rate).add_all(session.mixer.blocks(block_frames=4096))
    assert abs(streamed.integrated_lufs - pyloudnorm.Meter(session.sample_rate).integrated_loudness(whole)) < 0.1
    assert abs(streamed.true_peak_dbtp - true_peak_reference(whole)) < 0.01


@pytest.mark.parametrize("rate", [22_050, 44_100, 48_000])
def test_filters_are_the_ones_pyloudnorm_and_scipy_design(rate):
    from pyloudnorm.iirfilter import IIRfilter
    from scipy.signal import firwin, sosfilt

    from voiceguide.dsp.loudness import FirFilter, _interpolator, k_weighting_fir, k_weighting_sos

    stages = (IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, rate, "high_shelf"), IIRfilter(0.0, 0.5, 38.0, rate, "high_pass"))
    sos = np.array([np.concatenate([stage.b, stage.a]) for stage in stages])
    assert np.allclose(k_weighting_sos(rate), sos, rtol=0, atol=1e-12)
    x = noise_bursts(rate, 3.0)
    streamed = np.concatenate([FirFilter(k_weighting_fir(rate))(part) for part in [x]])
    assert np.max(np.abs(streamed - sosfilt(sos, x))) < 1e-10
    assert np.allclose(_interpolator(), firwin(81, 0.25, window=("kaiser", 5.0)) * 4, rtol=0, atol=1e-15)


def test_measuring_and_limiting_need_only_numpy():
    """scipy.signal costs about 50 MB and a second or more to import; the
    export path must not pull it in (a long export has to stay small)."""
    code = (
        "import sys, numpy as np\n"
        "from voiceguide.dsp.loudness import LoudnessMeter\n"
        "from voiceguide.dsp.dynamics import LookaheadGain, limit_gain_db, tame_peaks\n"
        "x = np.random.default_rng(0).standard_normal(44100)\n"
        "LoudnessMeter(44100).add_all([x]); list(LookaheadGain(44100, limit_gain_db(-1), true_peak=True).stream([x]))\n"
        "tame_peaks(x.astype('float32'), 44100, -10.0)\n"
        "import voiceguide.sinks.export\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'pyloudnorm')))\n"
    )
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_silence_and_very_short_audio_measure_minus_infinity():
    assert LoudnessMeter(44_100).add_all([np.zeros(44_100)]).integrated_lufs == -np.inf
    assert LoudnessMeter(44_100).add_all([np.full(1000, 0.5)]).integrated_lufs == -np.inf


def test_true_peak_finds_the_peak_between_samples():
    rate = 48_000
    # a sine at a quarter of the rate, sampled 45 degrees off its crests:
    # every sample is at 0.707, the waveform reaches 1.0 in between
    n = np.arange(4800)
    x = np.sin(2 * np.pi * (rate / 4) * n / rate + np.pi / 4) * np.hanning(len(n)) ** 0.01
    measured = LoudnessMeter(rate).add_all([x])
    assert measured.sample_peak_dbfs == pytest.approx(-3.0, abs=0.1)
    assert measured.true_peak_dbtp == pytest.approx(0.0, abs=0.2)


@pytest.mark.parametrize("block", [777, 8192, 100_000])
def test_limiter_keeps_the_true_peak_under_the_ceiling_without_clipping(block):
    rate = 44_100
    x = noise_bursts(rate, 4.0) * 4  # peaks near +12 dBFS
    limiter = LookaheadGain(rate, limit_gain_db(-1.0), true_peak=True, active_above_db=-1.0)
    out = np.concatenate(list(limiter.stream(blocks_of(x, block))))
    assert len(out) == len(x)
    assert true_peak_reference(out.astype(np.float64)) <= -1.0 + 1e-3
    assert limiter.max_reduction_db < -6
    # a gain, never a waveshaper: where the gain is back to 0 dB the signal is untouched
    quiet = slice(0, len(x) // 4 - rate // 50)
    assert np.array_equal(out[quiet], x[quiet].astype(np.float32))


def test_limiter_output_does_not_depend_on_block_size():
    rate = 44_100
    x = noise_bursts(rate, 3.0) * 4

    def run(size):
        limiter = LookaheadGain(rate, limit_gain_db(-1.0), true_peak=True, active_above_db=-1.0)
        return np.concatenate(list(limiter.stream(blocks_of(x, size))))

    # equal up to float rounding (running sums start at other offsets)
    assert np.max(np.abs(run(1000) - run(65_536))) < 1e-6


@pytest.mark.parametrize("block", [300, 4096, 65_536])
def test_limiter_skips_quiet_blocks_without_changing_a_sample(block):
    """A gain computer that says which levels need nothing (the limiter's
    does) lets quiet blocks skip it; the output, the deepest reduction and
    the highest output level are those of the full path."""
    rate = 44_100
    quiet = noise_bursts(rate, 3.0) * 0.5  # under the ceiling
    loud = noise_bursts(rate, 2.0) * 4  # far over it
    x = np.concatenate([quiet, loud, np.zeros(rate // 3), quiet, quiet * 1.6])

    def full_path(level_db):  # the same gain, without the hint
        return limit_gain_db(-1.0)(level_db)

    results = []
    for gain in (limit_gain_db(-1.0), full_path):
        limiter = LookaheadGain(rate, gain, true_peak=True, active_above_db=-1.0)
        results.append((np.concatenate(list(limiter.stream(blocks_of(x, block)))), limiter))
    (fast, fast_limiter), (full, full_limiter) = results
    assert hasattr(limit_gain_db(-1.0), "quiet_below_db") and not hasattr(full_path, "quiet_below_db")
    assert np.array_equal(fast, full)
    assert fast_limiter.max_output_db == full_limiter.max_output_db
    assert fast_limiter.max_reduction_db == full_limiter.max_reduction_db < -6


def speech_like(rate: int, seconds: float, seed: int = 3) -> np.ndarray:
    """Syllables of a pulse train (a voiced vowel's peaks) at varying levels, with pauses."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pulses = np.sign(np.sin(2 * np.pi * 120 * t)) * np.exp(-((t * 120) % 1) * 6)
    envelope = np.repeat(rng.uniform(0.0, 1.0, int(seconds * 5)) ** 2, rate // 5)[: len(t)]
    envelope = np.concatenate([envelope, np.zeros(len(t) - len(envelope))])
    return 0.3 * pulses * envelope + 0.01 * rng.standard_normal(len(t))


@pytest.mark.parametrize("block", [700, 8192, 1_000_000])
@pytest.mark.parametrize("release_db_per_s", [60.0, 4.0])
@pytest.mark.parametrize("kind", ["compressor", "limiter"])
def test_gain_computed_only_where_it_can_be_needed_is_the_full_path_to_the_bit(kind, release_db_per_s, block, monkeypatch):
    """A gain computer that says below which level it asks for nothing lets
    the gain stage compute only near the levels that need a gain (the
    rest stays at exactly 0 dB): samples, deepest reduction, highest output
    level and frames turned down are those of the full path, whatever the
    blocks, with recoveries that outlast a block (a slow release)."""
    from voiceguide.dsp.dynamics import soft_knee_gain

    rate = 22_050
    x = speech_like(rate, 6.0)
    if kind == "compressor":
        threshold = 20 * np.log10(np.sqrt(np.mean(x**2))) + 8
        hinted, options = soft_knee_gain(threshold, 3.0, 6.0), {"lookahead_s": 0.004, "hold_s": 0.004}
    else:
        hinted, options = limit_gain_db(-12.0), {"true_peak": True, "active_above_db": -12.0}

    def plain(level_db):  # the same gain, without the hint: the full path
        return hinted(level_db)

    sparse_blocks = []
    full_process = LookaheadGain._process_sparse
    monkeypatch.setattr(LookaheadGain, "_process_sparse", lambda self, *a: sparse_blocks.append(1) or full_process(self, *a))
    results = []
    for gain in (hinted, plain):
        stage = LookaheadGain(rate, gain, release_db_per_s=release_db_per_s, **options)
        out = np.concatenate(list(stage.stream(blocks_of(x, block))))
        results.append((out, stage.max_reduction_db, stage.max_output_db, stage.reduced_frames))
    (fast, *fast_report), (full, *full_report) = results
    assert sparse_blocks, "the hinted gain should have taken the sparse path"
    assert fast_report[0] < -3 and fast_report[2] > 0  # it did turn peaks down
    assert np.array_equal(fast, full)
    assert fast_report == full_report


def test_limiter_gain_moves_smoothly():
    rate = 44_100
    t = np.arange(rate) / rate
    swell = np.ones(rate)
    ramp = (1 - np.cos(np.linspace(0, np.pi, rate // 50))) / 2  # 20 ms, itself click-free
    swell[rate // 2 : rate // 2 + len(ramp)] += 2 * ramp
    swell[rate // 2 + len(ramp) : rate // 2 + 4000] = 3
    swell[rate // 2 + 4000 : rate // 2 + 4000 + len(ramp)] = 1 + 2 * ramp[::-1]
    tone = 0.5 * np.sin(2 * np.pi * 200 * t) * swell  # a 10 dB swell
    limiter = LookaheadGain(rate, limit_gain_db(-6.0), true_peak=True, active_above_db=-6.0)
    out = np.concatenate(list(limiter.stream([tone])))
    assert peak_dbfs(out) <= -6.0 + 1e-3
    # no click: nothing appears above 12 kHz, where a 200 Hz tone has nothing
    assert peak_dbfs(high_band_dbfs(out, rate)[2000:-2000]) < -60


def test_soft_knee_is_continuous_and_reaches_the_ratio():
    levels = np.linspace(-40, 0, 4001)
    gain = soft_knee_gain_db(levels, threshold_db=-20, ratio=3, knee_db=6)
    assert np.all(gain <= 0) and np.all(gain[levels < -23] == 0)
    assert np.max(np.abs(np.diff(gain))) < 0.01
    assert gain[-1] == pytest.approx((1 / 3 - 1) * 20)


def test_tame_peaks_lowers_the_crest_factor_of_a_peaky_phrase():
    rate = 44_100
    t = np.arange(2 * rate) / rate
    # a pulse train like a voiced vowel, with one syllable much louder
    voice = np.sign(np.sin(2 * np.pi * 110 * t)) * np.exp(-((t * 110) % 1) * 8) * 0.1
    voice[rate // 2 : rate] *= 4
    threshold = 20 * np.log10(np.sqrt(np.mean(voice**2))) + 8
    out, reduction = tame_peaks(voice.astype(np.float32), rate, threshold)
    assert len(out) == len(voice) and reduction < -3

    def crest(x):
        return 20 * np.log10(np.max(np.abs(x)) / np.sqrt(np.mean(x**2)))

    assert crest(out) < crest(voice) - 1.5


def test_voice_levelling_keeps_its_level_and_lowers_peaks(engine):
    from voiceguide.audio import active_rms
    from voiceguide.dsp.level import level_voice
    from voiceguide.mix.mixer import MixSettings
    from voiceguide.speech.engine import VoiceSettings

    raw = engine.synthesize("Sluit je ogen als dat prettig voelt.", VoiceSettings("gmw/nl", 125))
    levelled = level_voice(raw, MixSettings().sample_rate, MixSettings().voice_rms_dbfs, MixSettings().peak_dbfs)
    assert 20 * np.log10(active_rms(levelled.samples, levelled.sample_rate)) == pytest.approx(-20.0, abs=0.1)
    crest = peak_dbfs(levelled.samples) + 20.0
    assert crest < 15.5  # raw espeak: about 17 dB


def test_sliding_min_matches_the_definition():
    rng = np.random.default_rng(3)
    for n in (1, 9, 100, 1001):
        for width in (1, 2, 7, 64):
            x = rng.standard_normal(n)
            expected = np.array([x[i : i + width].min() for i in range(n - width + 1)])
            assert np.array_equal(sliding_min(x, width), expected)


def test_true_peak_detector_flush_covers_the_last_samples():
    detector = TruePeakDetector()
    x = np.zeros(1000)
    x[-1] = 0.9
    assert detector.peak(x) < 0.9
    assert detector.flush() >= 0.9 - 1e-9


def test_profile_predicts_the_real_limiter_within_a_few_tenths(write_script, engine):
    from voiceguide import load_script, prepare_session

    session = prepare_session(
        load_script(write_script("Ga rustig zitten. Voel je voeten op de grond. [breathe 3-1-4 x1 count] Dank je wel.")),
        engine=engine,
    )
    rate = session.sample_rate
    meter = LoudnessMeter(rate, true_peak=False)
    meter.add_all(session.mixer.blocks())
    profile = meter.profile()
    assert profile.integrated_lufs() == pytest.approx(meter.result().integrated_lufs)
    for extra_db in (0.0, 3.0):
        gain_db = -16 - profile.integrated_lufs() + extra_db
        limiter = LookaheadGain(rate, limit_gain_db(-1.0), true_peak=True, active_above_db=-1.0, release_db_per_s=60)
        real = LoudnessMeter(rate, true_peak=False).add_all(
            limiter.stream(b * 10 ** (gain_db / 20) for b in session.mixer.blocks())
        )
        assert profile.predict_lufs(gain_db, -1.0, 60) == pytest.approx(real.integrated_lufs, abs=0.25)


def test_stored_profiles_are_the_measured_ones_and_damage_is_measured_again(write_script, fake_engine, tmp_path, monkeypatch):
    """mix_profiles with a store reads what an earlier run measured (the
    same samples) and gives the same profiles; an entry that is damaged,
    or made for other samples, is measured again and replaced."""
    from voiceguide import load_script, prepare_session
    from voiceguide.sinks.normalise import mix_profiles
    from voiceguide.speech.cache import BlobCache

    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(tmp_path / "cache"))
    session = prepare_session(
        load_script(write_script("Ga rustig zitten. [breathe 3-1-4 x2] Voel je voeten. [bell] Dank je wel.")), engine=fake_engine
    )
    measured = mix_profiles(session.mixer)
    store = BlobCache("profiles")
    first = mix_profiles(session.mixer, store)
    entries = sorted(path for path in (tmp_path / "cache" / "profiles").rglob("*") if path.is_file())
    assert len(entries) >= 4  # a phrase or more, the cues and the bell
    reads = []
    store.get = lambda key, get=store.get: reads.append(key) or get(key)  # type: ignore[method-assign]
    second = mix_profiles(session.mixer, store)
    assert len(reads) == len(entries)
    for a, b, c in zip(measured, first, second):
        np.testing.assert_array_equal(a.energy, b.energy)
        np.testing.assert_array_equal(a.energy, c.energy)
        np.testing.assert_array_equal(a.peak, c.peak)
        assert a.integrated_lufs() == c.integrated_lufs()
    # damage: a flipped byte in the body, a cut file, another entry's content
    entries[0].write_bytes(entries[0].read_bytes()[:-9] + b"\x00" * 9)
    entries[1].write_bytes(entries[1].read_bytes()[:20])
    entries[2].write_bytes(entries[3].read_bytes())
    again = mix_profiles(session.mixer, BlobCache("profiles"))
    for a, b in zip(measured, again):
        np.testing.assert_array_equal(a.energy, b.energy)
        np.testing.assert_array_equal(a.peak, b.peak)
    assert entries[1].stat().st_size > 20  # measured again and stored whole


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("name", ["zelfkalmering", "herinnering", "veilige-plek"])
def test_the_player_level_puts_every_built_ins_voice_within_0_7_db_of_an_export(engine, name, language):
    """The player raises the mix by the gain that brings its first phrase to
    the mono export's target (sinks.normalise.play_gain); measured over the
    whole voice as an export measures it, that lands within 0.7 dB of -19 LUFS."""
    from voiceguide import load_script, prepare_session
    from voiceguide.mix.mixer import MixSettings
    from voiceguide.rules import DEFAULT_LOUDNESS_LUFS
    from voiceguide.sinks.normalise import mix_profiles, play_gain, speech_loudness

    session = prepare_session(load_script(name, language), engine=engine, mix=MixSettings(sample_rate=44_100))
    voice, _whole = mix_profiles(session.mixer)
    played = speech_loudness(session.timeline, voice) + 20 * np.log10(play_gain(session.mixer))
    assert abs(played - DEFAULT_LOUDNESS_LUFS) <= 0.7, played


def test_a_sound_freed_and_its_id_taken_by_another_is_measured_again():
    """mix_profiles measures each distinct sound once, by the array's
    identity; a sound made anew for each event (a hold tone) is freed once
    placed and the next array may get its id: that one is another sound and
    must not get the first one's profile (cold exports of session.vg
    differed from run to run while it did)."""
    from voiceguide.sinks.normalise import _Profiles

    rate = 32_000
    profiles = _Profiles(rate, 10 * rate)
    loud = np.full(rate, 0.5, dtype=np.float32)
    taken = id(loud)
    loud_profile = profiles.measure(loud)
    assert profiles.measure(loud) is loud_profile  # the same array: measured once
    del loud
    quiet = None
    for _ in range(1000):  # CPython hands a freed object's memory to the next one of its size
        quiet = np.full(rate, 0.01, dtype=np.float32)
        if id(quiet) == taken:
            break
        quiet = None
    if quiet is None:  # the allocator gave the id to no new array this time: make the collision by hand
        quiet = np.full(rate, 0.01, dtype=np.float32)
        profiles._measured[id(quiet)] = (lambda: None, loud_profile)  # a freed sound's entry under quiet's id
    assert np.max(profiles.measure(quiet).peak) == pytest.approx(0.01)
    assert np.max(loud_profile.peak) == pytest.approx(0.5)


@pytest.mark.parametrize("rate", [22_050, 32_000, 44_100, 48_000])
def test_the_kept_k_weighting_taps_are_the_designed_ones(rate):
    """The taps kept with the package (designing them took ~20 ms before
    play's first sound) are what the design makes; a changed design needs
    them made again (python -m voiceguide.dsp.loudness)."""
    from voiceguide.dsp.loudness import KEPT_TAPS, design_k_weighting_fir, k_weighting_fir

    assert (KEPT_TAPS / f"{rate}.f64").is_file()
    kept, designed = k_weighting_fir(rate), design_k_weighting_fir(rate)
    assert len(kept) == len(designed)
    np.testing.assert_allclose(kept, designed, rtol=0, atol=1e-15 * np.max(np.abs(designed)))
