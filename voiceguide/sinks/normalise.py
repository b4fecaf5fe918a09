"""How loud an export is: the voice is the anchor.

Spoken content is normalised on its dialogue, not on the whole programme
(ITU-R BS.1770 gated over the speech, as ATSC A/85's "dialogue
intelligence" and broadcast practice do): the voice lands at the target
(-19 LUFS for a mono file on phones) whatever the session's length, and breath cues,
bells and ambience keep their distance under it. Integrated loudness over
the whole file falls with the share of quiet cues and pauses and is
reported, not targeted.

The plan needs no render of the mix. The voice's loudness is known from the
levelled phrases alone: :func:`mix_profiles` places each voice event's
K-weighted energy and peaks (measured once per distinct phrase) on the
session's 10 ms frame grid, and BS.1770's gating over that profile is the
speech loudness. :func:`plan_levels` finds the gain that brings it to the
target after the true-peak limiter (:func:`make_limiter`) has done its work,
allowing for what the codec will change.
"""

from __future__ import annotations

import hashlib
import math
import struct
import weakref
import zlib
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..dsp.dynamics import LookaheadGain, limit_gain_db
from ..dsp.loudness import LoudnessMeter, LoudnessProfile, frame_profile, gated_loudness
from ..plan.timeline import VOICE_KINDS, Kind, Timeline
from ..rules import DEFAULT_LOUDNESS_LUFS

ANCHOR_KINDS = (*VOICE_KINDS, Kind.CLIP)
"""What the loudness plan anchors on: the voice (phrases, counts) and clips
(a trainer's recorded words)."""
LIMITER_LOOKAHEAD_S = 0.005
"""The limiter's gain is fully down this long before a peak..."""
LIMITER_HOLD_S = 0.005
"""...stays down this long around it (longer than a pitch period of the voice)..."""
LIMITER_RELEASE_DB_PER_S = 60.0
"""...and recovers at this rate: a few dB within a syllable, without pumping."""
PLAY_GAIN_BUDGET_DB = 6.0
"""The player raises the mix by at most this much (it has no limiter; the
mix's voice peaks stay 1.5 dB under ``PEAK_DBFS``, so +6 dB is reached only
by a voice levelled far under the usual -20 dBFS)."""
LIMITING_BUDGET_DB = 6.0
"""The limiter may turn the loudest peak down this far, no further; a voice
that would need more (a very high target) is exported quieter, with a warning."""


@dataclass(frozen=True)
class LevelPlan:
    """The gain and the limiter ceiling for one export."""

    gain_db: float
    """Applied to the whole mix before the limiter."""
    ceiling_dbtp: float
    """The limiter's true-peak ceiling (before the codec)."""
    speech_lufs: float
    """The speech loudness expected in the file (after the codec)."""
    capped: bool
    """True when LIMITING_BUDGET_DB kept the voice under the target."""


def make_limiter(sample_rate: int, ceiling_dbtp: float) -> LookaheadGain:
    """The export's look-ahead true-peak limiter at ``ceiling_dbtp``."""
    return LookaheadGain(
        sample_rate,
        limit_gain_db(ceiling_dbtp),
        lookahead_s=LIMITER_LOOKAHEAD_S,
        hold_s=LIMITER_HOLD_S,
        release_db_per_s=LIMITER_RELEASE_DB_PER_S,
        true_peak=True,
        active_above_db=ceiling_dbtp,
    )


def voice_events(timeline: Timeline) -> list:
    return [event for event in timeline.events if event.kind in ANCHOR_KINDS and event.duration_s > 0]


class ProfileStore(Protocol):
    """Where measured profiles are kept between runs (e.g. a
    :class:`voiceguide.speech.cache.BlobCache`)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes) -> None: ...


_PROFILE_MAGIC = b"VGP1"
_PROFILE_HEADER = struct.Struct("<4s40sIIIQI")  # magic, key, rate, frame, frames per step, total frames, frame count


def _profile_key(samples: np.ndarray, sample_rate: int, frame: int, per_step: int) -> str:
    digest = hashlib.sha1(_PROFILE_MAGIC + struct.pack("<III", sample_rate, frame, per_step), usedforsecurity=False)
    digest.update(np.ascontiguousarray(samples, dtype=np.float32))
    return digest.hexdigest()


def _pack_profile(profile: LoudnessProfile, key: str) -> bytes:
    body = np.ascontiguousarray(profile.energy, dtype="<f8").tobytes() + np.ascontiguousarray(profile.peak, dtype="<f4").tobytes()
    header = _PROFILE_HEADER.pack(
        _PROFILE_MAGIC,
        key.encode("ascii"),
        profile.sample_rate,
        profile.frame_frames,
        profile.frames_per_step,
        profile.total_frames,
        len(profile.energy),
    )
    return header + body + struct.pack("<I", zlib.crc32(body))


def _unpack_profile(data: bytes, key: str, sample_rate: int, frame: int, per_step: int, total: int) -> LoudnessProfile | None:
    """The profile in ``data`` if it is whole and is the one asked for, else None."""
    if len(data) < _PROFILE_HEADER.size + 4:
        return None
    magic, stored_key, rate, frame_frames, frames_per_step, total_frames, count = _PROFILE_HEADER.unpack_from(data)
    body = data[_PROFILE_HEADER.size : -4]
    if (
        (magic, stored_key, rate, frame_frames, frames_per_step, total_frames)
        != (_PROFILE_MAGIC, key.encode("ascii"), sample_rate, frame, per_step, total)
        or len(body) != count * 12
        or struct.unpack("<I", data[-4:])[0] != zlib.crc32(body)
    ):
        return None
    energy = np.frombuffer(body[: count * 8], dtype="<f8").astype(np.float64)
    peak = np.frombuffer(body[count * 8 :], dtype="<f4").astype(np.float32)
    # a whole entry may still hold what no measurement gives (NaN, infinity,
    # a negative energy): damaged, or not ours; measured again
    if not (np.isfinite(energy).all() and np.isfinite(peak).all() and (energy >= 0).all() and (peak >= 0).all()):
        return None
    return LoudnessProfile(rate, frame_frames, frames_per_step, energy, peak, total_frames)


class _Profiles:
    """Frame profiles (K-weighted energy and sample peak per 10 ms frame) of
    whole sounds, each distinct sound measured once, placed on a session's grid."""

    def __init__(self, sample_rate: int, total_frames: int, store: ProfileStore | None = None):
        grid = LoudnessMeter(sample_rate, true_peak=False).profile()
        self.store = store
        self.sample_rate = sample_rate
        self.total_frames = total_frames
        self.frame = grid.frame_frames
        self.frames_per_step = grid.frames_per_step
        frames = -(-total_frames // self.frame)
        self.energy = np.zeros(frames)
        self.peak = np.zeros(frames, dtype=np.float32)
        self._measured: dict[int, tuple[weakref.ref[np.ndarray], LoudnessProfile]] = {}

    def measure(self, samples: np.ndarray, known: LoudnessProfile | None = None) -> LoudnessProfile:
        # By identity, and only while that very array lives: a sound made anew
        # for each event (a hold tone) is freed after it is placed, and the
        # next array may get its id. Taking that for the same sound gave
        # another sound's profile, and cold exports of session.vg that
        # differed from run to run (as the levelling thread moved allocations).
        remembered = self._measured.get(id(samples))
        if remembered is not None and remembered[0]() is samples:
            return remembered[1]
        found = self._stored(samples, known)
        self._measured[id(samples)] = (weakref.ref(samples), found)
        return found

    def _stored(self, samples: np.ndarray, known: LoudnessProfile | None = None) -> LoudnessProfile:
        """The sound's profile from the store, else measured (and stored)."""
        if self.store is None:
            return self._measure(samples, known)
        key = _profile_key(samples, self.sample_rate, self.frame, self.frames_per_step)
        data = self.store.get(key)
        found = _unpack_profile(data, key, self.sample_rate, self.frame, self.frames_per_step, len(samples)) if data else None
        if found is None:
            found = self._measure(samples, known)
            self.store.put(key, _pack_profile(found, key))
        return found

    def _measure(self, samples: np.ndarray, known: LoudnessProfile | None = None) -> LoudnessProfile:
        """The sound's profile: ``known`` (measured already, as a phrase was
        levelled) if it is this sound's on this grid, else measured now."""
        if known is not None and (known.sample_rate, known.frame_frames, known.frames_per_step, known.total_frames) == (
            self.sample_rate,
            self.frame,
            self.frames_per_step,
            len(samples),
        ):
            return known
        return frame_profile(samples, self.sample_rate)

    def place(self, samples: np.ndarray, start_s: float, known: LoudnessProfile | None = None) -> None:
        """Add a sound that starts at ``start_s`` (its energy adds: sounds that
        overlap, a count over a breath cue, are uncorrelated)."""
        profile = self.measure(samples, known)
        first = int(round(start_s * self.sample_rate)) // self.frame
        count = max(0, min(len(profile.energy), len(self.energy) - first))
        self.energy[first : first + count] += profile.energy[:count]
        np.maximum(self.peak[first : first + count], profile.peak[:count], out=self.peak[first : first + count])

    def result(self) -> LoudnessProfile:
        return LoudnessProfile(self.sample_rate, self.frame, self.frames_per_step, self.energy, self.peak, self.total_frames)


def mix_profiles(mixer, store: ProfileStore | None = None) -> tuple[LoudnessProfile, LoudnessProfile]:
    """The voice alone and the whole mix as loudness profiles, without
    rendering the mix: every sounding event (voice, cues, bells, chime)
    measured once per distinct sound and placed at its time, and the
    ambience's loop measured once and scaled by its ducking gain frame by
    frame. The whole predicts the integrated loudness of the rendered mix
    to about 0.1 LU (sounds add as uncorrelated energies; the closing fade
    over the silent tail is ignored). With a ``store``, a sound measured in
    an earlier run (the same samples) is read rather than measured again."""
    rate = mixer.sample_rate
    profiles = _Profiles(rate, mixer.total_frames, store)
    voice = _Profiles(rate, mixer.total_frames)
    voice._measured = profiles._measured  # each distinct sound is measured once for both
    # phrases measured as they were levelled, beside the synthesis (an export's; see session.Phrases)
    told = getattr(mixer.voice, "measured_profile", None)
    for index, event in enumerate(mixer.sounding):
        samples = mixer.event_audio(index)
        if len(samples):
            known = told(event.text, samples) if told is not None and event.kind in VOICE_KINDS else None
            profiles.place(samples, event.start_s, known)
            if event.kind in ANCHOR_KINDS:
                voice.place(samples, event.start_s, known)
    if mixer.ambience is not None:
        loop = profiles.measure(mixer.ambience.loop)  # the loop's own profile, periodic
        frames = len(profiles.energy)
        centres = (np.arange(frames) + 0.5) * profiles.frame
        gain = mixer.ambience.gain_at(centres)
        tiled = np.resize(loop.energy, frames)
        profiles.energy += tiled * gain**2
        np.maximum(profiles.peak, (np.resize(loop.peak, frames) * gain).astype(np.float32), out=profiles.peak)
    return voice.result(), profiles.result()


def speech_steps(timeline: Timeline, profile: LoudnessProfile) -> np.ndarray:
    """Per 100 ms gating step of ``profile``: True where the voice speaks."""
    step_frames = profile.frame_frames * profile.frames_per_step
    steps = -(-profile.total_frames // step_frames)
    mask = np.zeros(steps, dtype=bool)
    for event in voice_events(timeline):
        first = int(event.start_s * profile.sample_rate) // step_frames
        last = int(math.ceil(event.end_s * profile.sample_rate / step_frames))
        mask[first : min(last, steps)] = True
    return mask


def speech_loudness(timeline: Timeline, profile: LoudnessProfile) -> float:
    """BS.1770 loudness of ``profile`` gated over the steps where the voice
    speaks (LUFS; -inf without a voice)."""
    steps = profile.step_energy()
    mask = speech_steps(timeline, profile)
    return gated_loudness(np.where(mask[: len(steps)], steps, 0.0), profile.sample_rate, profile.total_frames)


def plan_levels(
    voice: LoudnessProfile, target_lufs: float, ceiling_dbtp: float, *, codec_change_db: float = 0.0, peak_margin_db: float = 0.05
) -> LevelPlan:
    """The gain that brings the voice to ``target_lufs`` in the file, its
    true peaks at or under ``ceiling_dbtp``.

    ``codec_change_db`` is what the codec does to the level (LAME at 96 kbps:
    -0.45 dB): the plan aims that much higher before the codec and moves the
    limiter's ceiling with it (the codec scales peaks as it scales loudness).
    ``peak_margin_db`` keeps the limiter that far under the ceiling, for
    rounding and for the peaks a lossy codec adds.
    """
    aim = target_lufs - codec_change_db
    ceiling = ceiling_dbtp - peak_margin_db - codec_change_db
    if math.isinf(voice.integrated_lufs()):
        return LevelPlan(0.0, ceiling, -math.inf, False)
    gain, capped = voice.gain_for(aim, ceiling, LIMITER_RELEASE_DB_PER_S, LIMITING_BUDGET_DB)
    expected = voice.predict_lufs(gain, ceiling, LIMITER_RELEASE_DB_PER_S) + codec_change_db
    return LevelPlan(gain, ceiling, expected, capped)


def play_gain(mixer) -> float | None:
    """The gain that plays a session's voice as loud as a mono export's
    (``DEFAULT_LOUDNESS_LUFS``, -19 LUFS), as one factor on the mix.

    An export measures the whole voice; a player starts before the other
    phrases are made (:mod:`voiceguide.live`), so it measures the first one,
    which is levelled before the first voice is heard anyway. All phrases
    are levelled to one speaking level, so the first is within 0.7 dB of
    the whole on the built-ins (measured). The same phrase whether the cache
    is cold or warm: the same gain. 1 for a session without a voice; None
    while the first phrase is not made yet (a live session that starts with
    its silent lead-in: :meth:`~voiceguide.sinks.transport.Transport.load`
    asks again).
    """
    first = next((event for event in mixer.timeline.events if event.kind in VOICE_KINDS and event.duration_s > 0), None)
    if first is None:
        return 1.0
    made = getattr(mixer.voice, "made", None)
    if made is not None and not made(first.text):
        return None
    loudness = frame_profile(mixer.voice[first.text].samples, mixer.sample_rate).integrated_lufs()
    if not math.isfinite(loudness):
        return 1.0
    return 10.0 ** (min(PLAY_GAIN_BUDGET_DB, DEFAULT_LOUDNESS_LUFS - loudness) / 20.0)
