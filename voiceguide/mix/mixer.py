"""Stage 5: mix a timeline into audio, block by block.

:class:`Mixer` renders any span of the session on demand, so export and
live playback stream in fixed-size blocks: memory does not grow with the
session's length, and playback can start (or seek) at once. Each event's
audio is generated when the block that first touches it is rendered and
dropped once the event is over.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import Audio, Blocks, db_to_gain, raised_cosine
from ..dsp import tones
from ..plan.timeline import Event, Kind, Timeline
from ..rules import AMBIENCE_BELOW_VOICE_DB, AMBIENCES, DEFAULT_SAMPLE_RATE, PEAK_DBFS, VOICE_RMS_DBFS


@dataclass(frozen=True)
class MixSettings:
    """Levels and the output format of the mix."""

    sample_rate: int = DEFAULT_SAMPLE_RATE
    voice_rms_dbfs: float = VOICE_RMS_DBFS
    """RMS of the voice while it speaks."""
    cue_below_voice_db: float = 15.0
    """Breath cues sit this far under the voice (12-18 dB is gentle yet clear)."""
    bell_below_voice_db: float = 12.0
    peak_dbfs: float = PEAK_DBFS
    """No sample of the mix goes above this."""
    fade_out_s: float = 1.5
    """The closing fade over the session's last seconds: the planner's silent
    tail, so the closing chime has rung out before it starts."""
    block_frames: int = 8192
    ambience: str = "none"
    """Background noise under the whole session: ``none``, ``pink`` or ``brown``."""
    ambience_below_voice_db: float = 24.0
    """Ambience level (RMS) under the voice; at least 6 dB, so it is never as loud."""
    ambience_duck_db: float = 10.0
    """How far the ambience dips while the voice speaks."""

    @property
    def cue_rms_dbfs(self) -> float:
        return self.voice_rms_dbfs - self.cue_below_voice_db

    @property
    def bell_rms_dbfs(self) -> float:
        return self.voice_rms_dbfs - self.bell_below_voice_db

    @property
    def ambience_rms_dbfs(self) -> float:
        return self.voice_rms_dbfs - max(AMBIENCE_BELOW_VOICE_DB.low, self.ambience_below_voice_db)


AMBIENCE_LOOP_S = 30.0
AMBIENCE_FADE_S = 4.0
DUCK_RAMP_S = 0.35


class Ambience:
    """Seamlessly looping pink or brown noise, ducked under the voice.

    The noise is shaped in the frequency domain over one 30 s period, so the
    loop is periodic by construction (no seam, exactly the wanted slope) and
    the same seed always gives the same samples. Rumble under 40 Hz is cut.
    """

    def __init__(self, kind: str, timeline: Timeline, settings: MixSettings, seed: int = 20_240_501):
        if kind not in AMBIENCES[1:]:
            raise ValueError(f"ambience must be one of {', '.join(AMBIENCES)}, not {kind!r}")
        rate = settings.sample_rate
        n = int(AMBIENCE_LOOP_S * rate)
        rng = np.random.default_rng(seed)
        spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
        freqs = np.fft.rfftfreq(n, 1 / rate)
        slope = np.zeros_like(freqs)
        audible = freqs >= 40.0
        slope[audible] = freqs[audible] ** (-0.5 if kind == "pink" else -1.0)
        noise = np.fft.irfft(spectrum * slope, n)
        noise *= db_to_gain(settings.ambience_rms_dbfs) / np.sqrt(np.mean(noise**2))
        self.loop = noise.astype(np.float32)
        self.rate = rate
        self.total = int(round(timeline.duration_s * rate))
        voiced = [e for e in timeline.events if e.kind in (Kind.SPEECH, Kind.COUNT, Kind.CLIP)]
        self._voice_starts = np.array([round(e.start_s * rate) for e in voiced], dtype=np.int64)
        self._voice_ends = np.array([round(e.end_s * rate) for e in voiced], dtype=np.int64)
        self._duck = db_to_gain(-settings.ambience_duck_db)

    def render(self, start: int, frames: int) -> np.ndarray:
        index = np.arange(start, start + frames) % len(self.loop)
        out = self.loop[index] * self._gain(start, frames)
        return out.astype(np.float32)

    def _gain(self, start: int, frames: int) -> np.ndarray:
        return self.gain_at(np.arange(start, start + frames, dtype=np.float64))

    def gain_at(self, positions: np.ndarray) -> np.ndarray:
        """The ambience's gain (ducking and its fades) at sample ``positions`` (rising)."""
        ramp = DUCK_RAMP_S * self.rate
        # how much voice is "near": 1 inside a phrase, easing to 0 over the ramp
        near = (self._voice_starts - ramp < positions[-1] + 1) & (self._voice_ends + ramp > positions[0])
        activity = np.zeros(len(positions))
        for begin, end in zip(self._voice_starts[near], self._voice_ends[near]):
            before = np.clip((positions - (begin - ramp)) / ramp, 0, 1)
            after = np.clip(((end + ramp) - positions) / ramp, 0, 1)
            activity = np.maximum(activity, np.minimum(before, after))
        activity = 0.5 - 0.5 * np.cos(np.pi * activity)
        gain = 1.0 - (1.0 - self._duck) * activity
        fade = AMBIENCE_FADE_S * self.rate
        edges = np.clip(np.minimum(positions / fade, (self.total - positions) / fade), 0, 1)
        return gain * (0.5 - 0.5 * np.cos(np.pi * edges))


class Mixer:
    """Renders a timeline; voice and clip audio must already be at
    ``settings.sample_rate`` and levelled (see :mod:`voiceguide.session`)."""

    def __init__(
        self,
        timeline: Timeline,
        voice: Mapping[str, Audio],
        clips: Mapping[Path, Audio] | None = None,
        settings: MixSettings = MixSettings(),
    ):
        self.timeline = timeline
        self.voice = voice
        self.clips = clips or {}
        self.settings = settings
        rate = settings.sample_rate
        self.sounding = [event for event in timeline.events if event.kind is not Kind.CHAPTER and event.duration_s > 0]
        self._starts = np.array([round(event.start_s * rate) for event in self.sounding], dtype=np.int64)
        self._ends = self._starts + np.array([self._length(event) for event in self.sounding], dtype=np.int64)
        self.total_frames = int(round(timeline.duration_s * rate))
        self._rendered: dict[int, np.ndarray] = {}
        self._peak = db_to_gain(settings.peak_dbfs)
        self.ambience = Ambience(settings.ambience, timeline, settings) if settings.ambience != "none" else None

    @property
    def sample_rate(self) -> int:
        return self.settings.sample_rate

    def _length(self, event: Event) -> int:
        if event.kind in (Kind.SPEECH, Kind.COUNT):
            known = getattr(self.voice, "frames", None)  # lazily levelled phrases know their length
            return known(event.text) if known else len(self.voice[event.text].samples)
        if event.kind is Kind.CLIP:
            return len(self.clips[Path(event.text)].samples)
        return int(round(event.duration_s * self.settings.sample_rate))

    def _event_audio(self, index: int) -> np.ndarray:
        cached = self._rendered.get(index)
        if cached is None:
            cached = self._rendered[index] = self.event_audio(index)
        return cached

    def event_audio(self, index: int) -> np.ndarray:
        """The samples of sounding event ``index`` (of :attr:`sounding`), before mixing."""
        event = self.sounding[index]
        s = self.settings
        rate = s.sample_rate
        if event.kind in (Kind.SPEECH, Kind.COUNT):
            audio = self.voice[event.text].samples
        elif event.kind is Kind.CLIP:
            audio = self.clips[Path(event.text)].samples
        elif event.kind is Kind.INHALE:
            audio = tones.inhale(event.duration_s, rate, s.cue_rms_dbfs)
        elif event.kind is Kind.EXHALE:
            audio = tones.exhale(event.duration_s, rate, s.cue_rms_dbfs)
        elif event.kind is Kind.HOLD:
            audio = tones.hold(event.duration_s, rate, s.cue_rms_dbfs, soft=self.timeline.hold_tone == "soft")
        elif event.kind is Kind.BELL:
            audio = tones.bell(event.duration_s, rate, s.bell_rms_dbfs)
        elif event.kind is Kind.CHIME:
            audio = tones.chime(event.duration_s, rate, s.bell_rms_dbfs)
        else:  # silence
            audio = np.zeros(0, dtype=np.float32)
        return audio

    def render(self, start: int, frames: int) -> np.ndarray:
        """Mix frames ``[start, start + frames)`` (clipped to the session)."""
        start = max(0, start)
        stop = min(self.total_frames, start + frames)
        out = np.zeros(max(0, stop - start), dtype=np.float32)
        if len(out) == 0:
            return out
        if self.ambience is not None:
            out += self.ambience.render(start, len(out))
        active = np.flatnonzero((self._starts < stop) & (self._ends > start))
        for index in active:
            audio = self._event_audio(int(index))
            begin = int(self._starts[index])
            lo, hi = max(start, begin), min(stop, begin + len(audio))
            if hi > lo:
                out[lo - start : hi - start] += audio[lo - begin : hi - begin]
        for index in [i for i in self._rendered if self._ends[i] <= stop or self._starts[i] >= stop]:
            del self._rendered[index]
        self._apply_closing_fade(out, start)
        np.clip(out, -self._peak, self._peak, out=out)
        return out

    def _apply_closing_fade(self, out: np.ndarray, start: int) -> None:
        fade = int(self.settings.fade_out_s * self.settings.sample_rate)
        fade_start = self.total_frames - fade
        stop = start + len(out)
        if stop <= fade_start or fade <= 0:
            return
        curve = raised_cosine(fade)[::-1]
        lo = max(start, fade_start)
        out[lo - start :] *= curve[lo - fade_start : stop - fade_start]

    def blocks(self, start: int = 0, block_frames: int | None = None) -> Iterator[np.ndarray]:
        """The session from frame ``start`` to the end, in blocks."""
        size = block_frames or self.settings.block_frames
        for position in range(start, self.total_frames, size):
            yield self.render(position, size)

    def stream(self, block_frames: int | None = None) -> Blocks:
        """The whole session as a stream of blocks, for a sink."""
        return Blocks(self.sample_rate, self.total_frames, self.blocks(block_frames=block_frames))

    def render_all(self) -> np.ndarray:
        return np.concatenate(list(self.blocks())) if self.total_frames else np.zeros(0, dtype=np.float32)
