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
line through those points gives the scale for any rate. The points are
remembered in the cache folder under the model's identity (size and content
hash), so a model is measured once per cache folder (10-25 s here).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable

from ..audio import Audio
from ..dsp.level import level_voice
from ..i18n import N_
from .cache import read_json_cache, write_json_cache
from .pace_texts import REFERENCE, count_words

log = logging.getLogger(__name__)

PACE_VERSION = 1
"""Changes when the measurement changes (texts, scales, levelling), so old
calibrations are measured again."""
SCALES = (1.0, 2.0)
"""Length scales each model is measured at."""
SCALE_LIMITS = (0.25, 5.0)
"""Length scales voiceguide asks for at most: beyond these Piper's speech
breaks up or drags."""
MEASURE_RATE_HZ = 22_050
"""Phrases are levelled at this rate for measuring (only their length counts)."""
FALLBACK_LANGUAGE = "en"


def pace_points(model, identity: str, speak: Callable[[str, float], Audio]) -> list[tuple[float, float]]:
    """(length scale, seconds per word) for ``model``, measured with
    ``speak(text, length_scale)`` unless remembered for ``identity``."""
    key = "piper-pace-" + hashlib.sha256(f"{PACE_VERSION}|{identity}".encode()).hexdigest()[:24]
    remembered = read_json_cache(key)
    if isinstance(remembered, list) and len(remembered) == len(SCALES):
        try:
            return [(float(scale), float(seconds)) for scale, seconds in remembered]
        except (TypeError, ValueError):
            pass
    texts = REFERENCE.get(model.base_language) or REFERENCE[FALLBACK_LANGUAGE]
    words = sum(count_words(text) for text in texts)
    log.warning(N_("measuring the pace of %s once (10-25 s; remembered after that)"), model.voice_id)
    points = []
    for scale in SCALES:
        seconds = sum(level_voice(speak(text, scale), MEASURE_RATE_HZ, -20.0, -1.0).duration_s for text in texts)
        points.append((scale, seconds / words))
    write_json_cache(key, [list(point) for point in points])
    return points


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
