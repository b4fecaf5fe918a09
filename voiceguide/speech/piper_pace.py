"""The pace of a Piper voice: from words per minute to Piper's length scale.

A script's rate is the pace a listener hears, in words per minute over speech
time (words / seconds of the levelled phrases, pauses inside a phrase
included; what ``scripts/calibrate_pace.py`` measures for espeak-ng). Piper
has no rate, only a length scale that stretches every phoneme, and voices
differ: en_US-joe-medium speaks about 235 wpm at length scale 1.0.

Seconds per word grow almost linearly with the length scale (measured on
en_US-joe-medium over 38 sentences at eight scales from 0.6 to 3.0: a line
through the points at 1.0 and 2.0 is within 3 % of every one of them), so
each model is measured once, at :data:`SCALES`, on the reference sentences
of its language (:data:`voiceguide.speech.pace_texts.REFERENCE`), and the
line through those points gives the scale for any rate. The points are kept
with the voice (``NAME.onnx.pace.json`` beside a model in the voices folder,
else in the data folder), under the model's identity (size and content
hash): clearing the cache does not measure the voice again.

Cost: the measurement speaks four reference sentences (:data:`SAMPLE`) at each of
:data:`SCALES`, all sentences of a scale at once (the engine runs two at a
time). It was 15 sentences at 1.0 and 2.0, one after
the other: 25.9 s for en_US-joe-medium on the shared 2-core build machine.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

from ..atomic import write_atomically
from ..audio import Audio
from ..dsp.level import level_voice
from ..folders import data_dir, voices_dir
from ..i18n import N_
from ..inputs import read_limited
from ..rules import MAX_PACE_FILE_BYTES
from .pace_texts import REFERENCE, count_words

log = logging.getLogger(__name__)

PACE_VERSION = 3
"""Changes when the measurement changes (texts, scales, levelling), so old
calibrations are measured again."""
SCALES = (1.0, 2.0)
"""Length scales each model is measured at: seconds per word follow the
scale along a line through these two points within 3 % from 0.6 to 3.0
(en_US-joe-medium, 38 sentences at eight scales); points closer together
(0.8 and 1.2) put the line 15 % off at the scales a one-clause phrase at 110
words per minute still needs."""
SAMPLE = {"nl": (0, 5, 6, 9), "en": (0, 3, 4, 5)}
"""The reference sentences spoken per scale (their indexes, about 55 words):
the four whose pace with espeak-ng matched that of all fifteen within 0.1 %.
Chosen that way they stand for the set with a Piper voice too: with
en_US-joe-medium the English four give length scale 2.17 for 125 words per
minute, as all fifteen do (the first four gave 2.58, the first six 2.26)."""
SCALE_LIMITS = (0.25, 5.0)
"""Length scales voiceguide asks for at most: beyond these Piper's speech
breaks up or drags."""
MEASURE_RATE_HZ = 22_050
"""Phrases are levelled at this rate for measuring (only their length counts)."""
FALLBACK_LANGUAGE = "en"

SpeakMany = Callable[[list[str], float], list[Audio]]
"""``speak_many(texts, length_scale)``: the phrases at that scale, in order."""


def pace_points(model, identity: str, speak_many: SpeakMany) -> list[tuple[float, float]]:
    """(length scale, seconds per word) for ``model``: kept with the voice
    for ``identity``, else measured with ``speak_many`` and kept."""
    kept = read_pace(model, identity)
    if kept is not None:
        return kept
    points = measure_points(model, speak_many)
    keep_pace(model, identity, points)
    return points


def measure_points(model, speak_many: SpeakMany) -> list[tuple[float, float]]:
    """Speak the reference sentences of the model's language at each of :data:`SCALES`."""
    language = model.base_language if model.base_language in REFERENCE else FALLBACK_LANGUAGE
    texts = [REFERENCE[language][index] for index in SAMPLE[language]]
    words = sum(count_words(text) for text in texts)
    log.warning(N_("measuring the pace of %s once (a few seconds; kept with the voice)"), model.voice_id)
    points = []
    for scale in SCALES:
        seconds = sum(level_voice(audio, MEASURE_RATE_HZ, -20.0, -1.0).duration_s for audio in speak_many(list(texts), scale))
        points.append((scale, seconds / words))
    return points


def pace_file(model, identity: str) -> Path:
    """Where a model's pace is kept: beside a model in the voices folder
    (``NAME.onnx.pace.json``: it goes when the voice goes), else in the data folder."""
    if model.in_voices_dir or Path(model.path).absolute().is_relative_to(voices_dir().absolute()):
        return model.path.with_name(model.path.name + ".pace.json")
    return data_dir() / "voice-pace" / (hashlib.sha256(identity.encode()).hexdigest()[:24] + ".json")


def read_pace(model, identity: str) -> list[tuple[float, float]] | None:
    """The kept points for this very model and measurement, or None."""
    try:
        kept = json.loads(read_limited(pace_file(model, identity), MAX_PACE_FILE_BYTES, N_("pace file")).decode("utf-8"))
        if kept.get("version") != PACE_VERSION or kept.get("identity") != identity:
            return None
        points = [(float(scale), float(seconds)) for scale, seconds in kept["points"]]
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    return points if len(points) == len(SCALES) and all(seconds > 0 for _, seconds in points) else None


def keep_pace(model, identity: str, points: list[tuple[float, float]]) -> None:
    """Keep the points with the voice; a folder that cannot be written costs a measurement next time, nothing more."""
    path = pace_file(model, identity)
    data = json.dumps({"version": PACE_VERSION, "identity": identity, "points": [list(point) for point in points]})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data.encode("utf-8"))
    except OSError as exc:
        log.info("the pace of %s is not kept (%s)", model.voice_id, exc.strerror or exc)


def length_scale_for(points: list[tuple[float, float]], wpm: float) -> float:
    """The length scale at which the measured line gives ``wpm`` words per
    minute, kept within :data:`SCALE_LIMITS`."""
    (scale_a, seconds_a), (scale_b, seconds_b) = points[0], points[-1]
    slope = (seconds_b - seconds_a) / (scale_b - scale_a)
    if slope <= 0:  # a voice whose pace does not follow its scale: speak as measured at 1.0
        return 1.0
    scale = scale_a + (60.0 / wpm - seconds_a) / slope
    low, high = SCALE_LIMITS
    if not low <= scale <= high:
        log.warning(N_("%g words per minute is beyond what this Piper voice can do well; speaking as near as it can"), wpm)
    return min(max(scale, low), high)
