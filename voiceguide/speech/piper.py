"""Piper voices: natural neural speech from a voice model file (VITS, ONNX).

A Piper voice is two files: ``NAME.onnx`` (the network) and
``NAME.onnx.json`` (its config: sample rate, language, espeak-ng voice,
phoneme ids). The user downloads both (see docs/natural-voice.md) into the
voices folder, :func:`voices_dir` (``~/.local/share/voiceguide/voices`` on
Linux), and speaks with ``--voice piper:NAME`` or ``voice: piper:NAME`` in a
script; ``--voice piper:PATH/NAME.onnx`` names a file anywhere (on the
command line only: a shared script or manifest cannot name a file, see
:data:`voiceguide.rules.VOICE_ID`).

How a phrase is made (what Piper's own runtime does, checked against it):

1. **phonemes**: libespeak-ng, the library the espeak engine drives, turns
   the text into IPA one clause at a time in the model's espeak voice
   (``espeak_TextToPhonemes``). The clause's punctuation is kept, because the
   model was trained with it (a comma gives a pause, a question mark a rise),
   and sentences end at ``.``, ``?`` and ``!``. espeak-ng 1.51 does not report
   which punctuation ended a clause, so it is read from the text espeak
   consumed. Piper's own runtime bundles a newer espeak-ng: on the 38 pace
   sentences 27 gave the same phoneme ids, the rest differ in a vowel or a
   glide where espeak-ng's English rules changed between versions.
2. **ids**: ``^`` + (phoneme id, pad id)... + ``$`` through the config's
   ``phoneme_id_map``.
3. **audio**: onnxruntime runs the network once per sentence with the
   scales (noise, length, noise width); the sentences are joined as they
   come, as Piper does: the model ends each with its own pause (0.2-0.3 s at
   its own pace, 0.4-0.8 s at a calm one, with the start of the next). A sentence longer than about 20 s of
   speech is spoken in several runs, cut at its clauses (or between words),
   so memory stays bounded (:func:`model_runs`).

Determinism: the network draws Gaussian noise inside the graph (two
``RandomNormalLike`` nodes, for the durations and the voice), from a
generator that runs on from one call to the next, so the same phrase came
out a different length each time. When a model is loaded those nodes are
replaced, in memory, by slices of a fixed table of Gaussian noise (a seeded
draw): every call starts from the same noise, so the same text, model and
settings give the same samples in any order, in any process. The noise keeps
its distribution, so the voice sounds as it does in Piper.

Pace: the script's rate (words per minute as heard) becomes Piper's length
scale through a calibration measured once per model and remembered
(:mod:`voiceguide.speech.piper_pace`).

The modules, one job each: :mod:`~voiceguide.speech.piper_model` (a model
and its config on disk: checked, found, known by content),
:mod:`~voiceguide.speech.piper_phonemes` (text to phoneme ids, and where a
vowel lies among them), :mod:`~voiceguide.speech.piper_network` (the network
in onnxruntime: its noise fixed, its durations exposed, kept in the cache),
:mod:`~voiceguide.speech.piper_pace` (words per minute to length scale), and
this one, the engine (phrases planned, paced, run side by side, joined).

Why this runtime: Piper's own ``piper-tts`` is GPL-3.0; of the permissive
ones, ``piper-onnx`` phonemises every model as American English (and needs
the GPL ``phonemizer-fork``), ``sherpa-onnx`` only loads models re-exported
with its own metadata (a downloaded Piper model fails with "'sample_rate'
does not exist in the metadata"), and ``pipersynth`` (Apache-2.0) speaks
well (the same phonemes as here) but runs the espeak-ng command line per
phrase on espeak-ng 1.51, pulls in six young packages and gives no hold on
the graph's noise. A Piper model is one onnxruntime call, so voiceguide runs
it with onnxruntime (MIT) directly and uses ``onnx`` (Apache-2.0) to fix the
noise; both come with ``pip install 'voiceguide[piper]'``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..audio import Audio, to_pcm16
from ..errors import UsageError
from ..i18n import _
from .engine import VoiceInfo, VoiceSettings
from .pace_texts import count_words
from .piper_model import PREFIX, PiperModel, find_model, find_models, is_piper_voice, model_identity
from .piper_network import NOISE_SEED, PiperNetwork, check_runtime
from .piper_phonemes import _phonemizer, model_runs, phoneme_ids, sounding_ids, vowel_index
from .voices import espeak_data_dir

log = logging.getLogger(__name__)

__all__ = ["PREFIX", "PiperEngine", "PiperModel", "check_runtime", "find_model", "find_models", "is_piper_voice"]

ENGINE_VERSION = 3
"""Bump when the way a phrase is made changes (phonemes, runs, joins): the
phrase cache keys on it, so cached phrases are then made again."""
RUN_PHONEMES_AT_SCALE_1 = 400
"""Phonemes the model speaks in one run at length scale 1 (about 20 s of
speech; fewer at larger scales, so a run stays about that long)."""
SHORTEST_RUN_PHONEMES = 40
NATURAL_SCALE_LIMIT = 1.15
"""The most a voice is stretched to reach a slow rate (1 is its own pace);
the rest comes from pauses between clauses (see :func:`paced`)."""
CLAUSE_PAUSE_CEILING_S = 1.0
"""The longest pause put between two clauses or sentences of a phrase to
slow it down (tuning; a script's own pauses are limited by rules.MAX_PAUSE_S)."""
DEFAULT_JOBS = 2
"""Sentences synthesised at once, one onnxruntime thread each."""
SIDE_BY_SIDE_COST = 180.0
"""Runs of the model are made side by side only while their ids times their
length scales add up to at most this; a longer run is made alone. A run's
working memory grows with the audio it makes (about 23 MB per second with
en_US-joe-medium, 1.3 MB per unit here): two of the English default
session's longest runs side by side peaked at 412-449 MB, one at a time at
319 MB."""
PITCH_NEUTRAL = 50
HOP_SAMPLES = 256
"""Samples of audio per frame of a phoneme's duration: the hop of every
Piper (VITS) model (checked: a run's length is its frames times this)."""


# --- the engine ---------------------------------------------------------------------------------


class PiperEngine:
    """Implements :class:`~voiceguide.speech.engine.SpeechEngine` with Piper models.

    Voice ids are ``piper:NAME`` (a model in :func:`voices_dir`) or
    ``piper:PATH``; :meth:`resolve_voice` turns a script's or the user's
    request into one and checks its language. Models are loaded on first use
    and kept until :meth:`close`.

    Parameters
    ----------
    jobs:
        Sentences synthesised at once (threads; onnxruntime releases the GIL).
    """

    name = "piper"
    fills_the_cores = True
    """Its runs keep every core busy (``jobs`` threads): nothing gains by
    running beside them (see session.levelled_phrases)."""

    def __init__(self, *, jobs: int = DEFAULT_JOBS):
        self.jobs = max(1, jobs)
        self._models: dict[str, PiperModel] = {}
        self._identities: dict[str, str] = {}
        self._networks: dict[str, PiperNetwork] = {}
        self._scales: dict[tuple[str, int], float] = {}
        self._points: dict[str, list[tuple[float, float]]] = {}
        self._vowels: dict[tuple[str, str, float, float], float | None] = {}
        self._unscaled: dict[tuple[str, tuple[str, ...]], np.ndarray | None] = {}
        self._lock = threading.Lock()

    # which voice

    def resolve_voice(self, requested: str, language: str) -> str:
        """The id to speak ``requested`` with for a script in ``language``
        (``auto`` is the first Piper voice for it in the voices folder).
        Raises UsageError for an unknown voice or a language mismatch."""
        if requested != "auto" and not is_piper_voice(requested):
            raise UsageError(
                _(
                    "'{requested}' is not a Piper voice; the piper engine speaks piper:NAME or piper:PATH (see 'voiceguide voices')"
                ).format(requested=requested)
            )
        model = find_model(PREFIX + "auto" if requested == "auto" else requested, language)
        check_runtime()  # before hashing the model: a missing runtime is the first thing to fix
        self._models[model.voice_id] = model
        self._identities[model.voice_id] = model_identity(model)
        return model.voice_id

    def model(self, voice_id: str) -> PiperModel:
        """The model behind a voice id (resolving it if it was not yet)."""
        if voice_id not in self._models:
            model = find_model(voice_id)
            self._models[voice_id] = model
            self._identities[voice_id] = model_identity(model)
        return self._models[voice_id]

    def voices(self) -> list[VoiceInfo]:
        """The Piper voices in the voices folder (the network files are not read)."""
        return [VoiceInfo(m.voice_id, m.description or m.name, (m.language,)) for m in find_models()]

    def voice_key(self, voice_id: str) -> str:
        """A voice as the phrase cache knows it: its model's content (size and
        hash), so ``piper:NAME`` and ``piper:PATH`` of one model share phrases."""
        self.model(voice_id)
        return "piper-model:" + self._identities[voice_id]

    def describe(self) -> str:
        """Engine identity for cache keys: this engine's version, the
        runtime's, espeak-ng's library and data, the noise and the pace
        calibration. The model is in the key by its content (:meth:`voice_key`)."""
        from importlib.metadata import PackageNotFoundError, version

        # imported when Piper speaks, not at every start of voiceguide (python -X importtime):
        # espeak's binding 1.4 ms (see PiperPhonemizer), the pace calibration 0.4 ms
        from .espeak_client import find_library
        from .piper_pace import PACE_VERSION

        try:
            runtime = version("onnxruntime")
        except PackageNotFoundError:
            runtime = "?"
        library = find_library()
        data = espeak_data_dir()
        espeak = f"{Path(os.path.realpath(library)).name if library else '?'}@{int(data.stat().st_mtime) if data else 0}"
        return f"piper {ENGINE_VERSION}|onnxruntime {runtime}|{espeak}|noise {NOISE_SEED}|pace {PACE_VERSION}"

    # speech

    def network(self, voice_id: str) -> PiperNetwork:
        """The loaded network of a voice (loaded on first use)."""
        model = self.model(voice_id)
        with self._lock:
            if voice_id not in self._networks:
                self._networks[voice_id] = PiperNetwork(model, self._identities.get(voice_id))
            return self._networks[voice_id]

    def pace_line(self, voice_id: str) -> list[tuple[float, float]]:
        """The voice's measured (length scale, seconds per word) points (measured once per model)."""
        from .piper_pace import pace_points  # 0.4 ms at every start otherwise: see describe

        if voice_id not in self._points:
            model = self.model(voice_id)
            self._points[voice_id] = pace_points(
                model, self._identities[voice_id], lambda texts, scale: self._speak_all(voice_id, texts, scale)
            )
        return self._points[voice_id]

    def length_scale(self, voice_id: str, wpm: float) -> float:
        """Piper's length scale that speaks ``wpm`` words per minute over
        speech time with this voice by stretching alone (calibrated once per
        model; :meth:`synthesize_many` stretches less and pauses instead)."""
        from .piper_pace import length_scale_for  # 0.4 ms at every start otherwise: see describe

        key = (voice_id, round(wpm))
        if key not in self._scales:
            self._scales[key] = length_scale_for(self.pace_line(voice_id), wpm)
        return self._scales[key]

    def speak(self, voice_id: str, text: str, length_scale: float) -> Audio:
        """One phrase at a given length scale (no pace calibration)."""
        return self._speak_all(voice_id, [text], length_scale)[0]

    def synthesize(self, text: str, settings: VoiceSettings) -> Audio:
        return self.synthesize_many([text], settings)[0]

    def synthesize_many(self, texts: list[str], settings: VoiceSettings) -> list[Audio]:
        """Several phrases, their sentences ``jobs`` at a time; the result does not depend on ``jobs``.

        Slow rates are reached with pauses rather than stretching (see
        :func:`paced`): up to :data:`NATURAL_SCALE_LIMIT` the voice is
        stretched, the rest of the time goes into pauses between the
        phrase's clauses and sentences."""
        if settings.pitch != PITCH_NEUTRAL:  # 'voiceguide check' warns about it (lint.voice_warnings)
            log.info("pitch %d is ignored: Piper voices have no pitch setting", settings.pitch)
        made = self._speak_all(settings.voice_id, texts, *self._plan(texts, settings))
        if settings.volume != 1.0:
            made = [Audio(on_pcm16_grid(audio.samples * np.float32(settings.volume)), audio.sample_rate) for audio in made]
        return made

    def vowel_onsets_s(self, texts: list[str], settings: VoiceSettings) -> list[float | None]:
        """Where the first vowel of each text begins in what :meth:`synthesize_many`
        makes of it (seconds from its first sample), from the network's own
        durations (:func:`vowel_index`); None where the model does not tell.
        Phrases this engine made already are not made again."""
        scales, pauses = self._plan(texts, settings)
        keys = [
            (settings.voice_id, text, scale, pauses[index] if pauses else 0.0)
            for index, (text, scale) in enumerate(zip(texts, scales))
        ]
        todo = [index for index, key in enumerate(keys) if key not in self._vowels]
        if todo:
            self._speak_all(
                settings.voice_id,
                [texts[i] for i in todo],
                [scales[i] for i in todo],
                [pauses[i] for i in todo] if pauses else None,
            )
        return [self._vowels.get(key) for key in keys]

    def _plan(self, texts: Sequence[str], settings: VoiceSettings) -> tuple[list[float], list[float] | None]:
        """The length scale of each text and, for a slow rate, the pause put
        between its clauses (None: no pauses; see :func:`paced`)."""
        voice_id = settings.voice_id
        scale = self.length_scale(voice_id, settings.rate)
        if scale <= NATURAL_SCALE_LIMIT:
            return [scale] * len(texts), None
        model, phonemizer = self.model(voice_id), _phonemizer()
        plans = [
            paced(
                count_words(text),
                boundaries(phonemizer.sentences(text, model.espeak_voice)),
                settings.rate,
                self.pace_line(voice_id),
            )
            for text in texts
        ]
        return [plan[0] for plan in plans], [plan[1] for plan in plans]

    def _speak_all(
        self,
        voice_id: str,
        texts: Sequence[str],
        length_scale: float | Sequence[float],
        pauses_s: Sequence[float] | None = None,
    ) -> list[Audio]:
        """Each text at its length scale (one for all, or one each). With
        ``pauses_s`` (one per text), every clause is a run of its own and
        that much silence goes between its clauses and sentences."""
        model = self.model(voice_id)
        network = self.network(voice_id)
        phonemizer = _phonemizer()
        scales = [float(length_scale)] * len(texts) if isinstance(length_scale, int | float) else list(length_scale)
        # per phrase, per sentence: the runs of the model (with the scale each is spoken at)
        plan = []
        firsts: list[list[str]] = []  # each phrase's first run (its phonemes)
        for text, scale in zip(texts, scales):
            runs = _runs(model, phonemizer, text, scale, clause_runs=pauses_s is not None)
            plan.append([[(phoneme_ids(model, run), scale) for run in sentence] for sentence in runs])
            firsts.append(next((run for sentence in runs for run in sentence), []))
        flat = [item for phrase in plan for sentence in phrase for item in sentence]
        if self.jobs > 1 and len(flat) > 1:
            # longest runs first, so the threads finish together (the order of the results is kept)
            order = sorted(range(len(flat)), key=lambda i: -len(flat[i][0]) * flat[i][1])
            budget = _Budget(SIDE_BY_SIDE_COST)
            with ThreadPoolExecutor(min(self.jobs, len(flat))) as pool:
                made = dict(
                    zip(
                        order,
                        pool.map(lambda i: budget.run(len(flat[i][0]) * flat[i][1], network.timed_run, *flat[i]), order),
                    )
                )
            spoken = iter([made[i] for i in range(len(flat))])
        else:
            spoken = iter([network.timed_run(*item) for item in flat])
        result = []
        for index, phrase in enumerate(plan):
            timed = [next(spoken) for sentence in phrase for _ in sentence]
            parts = [samples for samples, _frames in timed]
            key = (voice_id, texts[index], scales[index], float(pauses_s[index]) if pauses_s is not None else 0.0)
            self._vowels[key] = _vowel_s(model, firsts[index], *timed[0]) if timed else None
            if pauses_s is not None and pauses_s[index] > 0 and len(parts) > 1:
                gap = np.zeros(int(round(pauses_s[index] * model.sample_rate)), dtype=np.float32)
                parts = [piece for part in parts for piece in (gap, part)][1:]
            samples = np.concatenate(parts) if parts else np.zeros(model.sample_rate // 10, dtype=np.float32)
            result.append(Audio(on_pcm16_grid(samples), model.sample_rate))
        return result

    def speech_seconds(self, texts: list[str], settings: VoiceSettings) -> list[float | None]:
        """How long each text's speech will last, from its first sound to its
        last, in what :meth:`synthesize_many` makes of it, without making it:
        the phrase's length is exact (the network's durations, one cheap run
        of their part per run of the model, :func:`~.piper_network.durations_model`),
        its silent edges are those of the ids that make no sound (within 8 %
        of the measured speech on the English built-ins). None where the
        model cannot tell (:mod:`voiceguide.speech.unhurried` then measures
        the audio)."""
        model, phonemizer = self.model(settings.voice_id), _phonemizer()
        scales, pauses = self._plan(texts, settings)
        return [
            self._speech_s(
                settings.voice_id,
                [run for sentence in _runs(model, phonemizer, text, scale, clause_runs=pauses is not None) for run in sentence],
                scale,
                pauses[index] if pauses else 0.0,
            )
            for index, (text, scale) in enumerate(zip(texts, scales))
        ]

    def release_lengths(self) -> None:
        """Free what :meth:`speech_seconds` loaded, once the phrases' rates are
        planned and before they are made (unhurried.planned_rates calls it):
        kept, the durations part added 30-45 MB to a cold export's peak
        (306-313 -> 341-356 MB); loading it again costs 0.09 s of CPU."""
        for network in self._networks.values():
            network.release_durations()

    def _speech_s(self, voice_id: str, runs: list[list[str]], scale: float, pause_s: float) -> float | None:
        """The speech in ``runs`` (joined by ``pause_s``) at ``scale``, first sound to last, in seconds."""
        model, network = self.model(voice_id), self.network(voice_id)
        frames = []
        for run in runs:
            key = (voice_id, tuple(run))
            if key not in self._unscaled:
                self._unscaled[key] = network.unscaled_durations(phoneme_ids(model, run))
            unscaled = self._unscaled[key]
            if unscaled is None:
                return None
            frames.append(network.frames_at(unscaled, scale))
        first, last = (sounding_ids(model, runs[0]), sounding_ids(model, runs[-1])) if runs else ([], [])
        if not first or not last:
            return None
        silent_edges = frames[0][: first[0]].sum() + frames[-1][last[-1] + 1 :].sum()
        sounding = float(sum(part.sum() for part in frames) - silent_edges)
        return sounding * HOP_SAMPLES / model.sample_rate + pause_s * (len(runs) - 1)

    def close(self) -> None:
        self._networks.clear()

    def __enter__(self) -> PiperEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Budget:
    """Lets work run side by side while its costs add up to at most ``limit``
    (one piece at a time is always let through)."""

    def __init__(self, limit: float):
        self.limit = limit
        self.used = 0.0
        self.ready = threading.Condition()

    def run(self, cost: float, work, *args):
        with self.ready:
            self.ready.wait_for(lambda: self.used == 0 or self.used + cost <= self.limit)
            self.used += cost
        try:
            return work(*args)
        finally:
            with self.ready:
                self.used -= cost
                self.ready.notify_all()


def _vowel_s(model: PiperModel, phonemes: Sequence[str], samples: np.ndarray, frames: np.ndarray | None) -> float | None:
    """Seconds from the start of a run's audio to its first vowel, by the network's durations."""
    index = vowel_index(model, phonemes) if frames is not None else None
    if index is None or frames is None:
        return None
    seconds_per_frame = len(samples) / float(frames.sum()) / model.sample_rate
    return float(frames[:index].sum()) * seconds_per_frame


def _runs(model: PiperModel, phonemizer, text: str, scale: float, *, clause_runs: bool) -> list[list[list[str]]]:
    """The runs of the model that speak ``text`` at ``scale``, per sentence
    (their phonemes); with ``clause_runs``, every clause is a run of its own
    (pauses go between them, see :func:`paced`)."""
    limit = max(SHORTEST_RUN_PHONEMES, int(RUN_PHONEMES_AT_SCALE_1 / max(1.0, scale)))
    sentences = phonemizer.sentences(text, model.espeak_voice)
    if not clause_runs:
        return [model_runs(sentence, limit) for sentence in sentences]
    return [[run for clause in sentence for run in model_runs([_trimmed(clause)], limit)] for sentence in sentences]


def boundaries(sentences: Sequence[Sequence[Sequence[str]]]) -> int:
    """Places a speaker may pause inside a phrase: between its clauses and between its sentences."""
    return max(0, sum(len(sentence) for sentence in sentences) - 1)


def paced(words: int, pauses: int, wpm: float, points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(length scale, seconds of pause at each of ``pauses`` places) that
    speak ``words`` words at ``wpm`` words per minute of speech time, on
    the measured line ``points`` (length scale, seconds per word).

    Slow speech should pause more rather than stretch every sound (stretched
    speech is what listeners of recorded mindfulness instructions liked
    least, and Piper sounds drawn out when stretched): the voice is
    stretched up to :data:`NATURAL_SCALE_LIMIT`, and the time still missing
    goes into the pauses, at most :data:`CLAUSE_PAUSE_CEILING_S` each. Only what those
    cannot hold (a phrase of one clause has no place to pause) is stretched further."""
    from .piper_pace import length_scale_for  # 0.4 ms at every start otherwise: see PiperEngine.describe

    target = length_scale_for(list(points), wpm)
    if target <= NATURAL_SCALE_LIMIT:
        return target, 0.0
    (scale_a, seconds_a), (scale_b, seconds_b) = points[0], points[-1]
    slope = (seconds_b - seconds_a) / (scale_b - scale_a)
    missing_s = max(1, words) * slope * (target - NATURAL_SCALE_LIMIT)
    room_s = pauses * CLAUSE_PAUSE_CEILING_S
    if missing_s <= room_s:
        return NATURAL_SCALE_LIMIT, missing_s / pauses
    return target - room_s / (max(1, words) * slope), CLAUSE_PAUSE_CEILING_S if pauses else 0.0


def _trimmed(clause: Sequence[str]) -> list[str]:
    """A clause spoken as a run of its own, without the space that joined it to the next."""
    phonemes = list(clause)
    while phonemes and phonemes[-1] == " ":
        phonemes.pop()
    return phonemes


def on_pcm16_grid(samples: np.ndarray) -> np.ndarray:
    """``samples`` (float32) rounded to the 16-bit values the phrase cache
    keeps, so a phrase from the cache is the very phrase the network made;
    a phrase peaking above full scale is first scaled down to it (Piper's
    output peaks near 0.7; the level is set later, see dsp.level)."""
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak > 1.0:
        samples = samples / np.float32(peak)
    return to_pcm16(samples).astype(np.float32) / np.float32(32768.0)
