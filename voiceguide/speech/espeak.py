"""The espeak-ng engine: libespeak-ng driven directly, deterministic, calibrated.

Linux's default engine. :class:`~voiceguide.speech.espeak_client.EspeakClient`
talks to a small server process that speaks every phrase in a forked child
of a pristine espeak, so the same text and settings give the same samples
whatever was spoken before (see :mod:`voiceguide.speech.espeak_server`).

The rate a script asks for is the pace a listener hears, in words per minute
over speech time. espeak's own rate parameter is not that (rate 125 measures
about 150 wpm in Dutch and 162 in English), so the request goes through a
per-language calibration measured by ``scripts/calibrate_pace.py``
(``calibration/espeak.json``): the espeak rate, and below espeak's slowest
rate a pause between words, that measured the asked-for pace.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np

from ..audio import Audio
from ..i18n import _
from .cache import read_json_cache, write_json_cache
from .engine import VoiceInfo, VoiceSettings
from .espeak_client import SAMPLE_RATE, EspeakClient, EspeakError, find_library
from .voices import espeak_data_dir

DEFAULT_JOBS = 2
"""Phrases synthesized at once (one child each)."""
CALIBRATION_FALLBACK = "nl"
"""Languages without a measured calibration use this one's (close for Germanic languages)."""


@cache
def calibration() -> dict[str, list[tuple[float, int, int]]]:
    """Per language: (measured wpm, espeak rate, word gap) points, rising in wpm."""
    text = resources.files("voiceguide.speech").joinpath("calibration", "espeak.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return {key: [tuple(point) for point in value] for key, value in data.items() if isinstance(value, list)}


def espeak_parameters(wpm: float, language: str) -> tuple[int, int]:
    """The espeak (rate, word gap) that measured ``wpm`` for ``language``."""
    table = calibration()
    points = table.get(language.split("-")[0].lower()) or table[CALIBRATION_FALLBACK]
    measured = np.array([p[0] for p in points])
    index = int(np.clip(np.searchsorted(measured, wpm), 1, len(points) - 1))
    (low_wpm, low_rate, low_gap), (high_wpm, high_rate, high_gap) = points[index - 1], points[index]
    share = float(np.clip((wpm - low_wpm) / (high_wpm - low_wpm), 0.0, 1.0))
    return round(low_rate + share * (high_rate - low_rate)), round(low_gap + share * (high_gap - low_gap))


class EspeakEngine:
    """Implements :class:`~voiceguide.speech.engine.SpeechEngine` with libespeak-ng.

    Parameters
    ----------
    jobs:
        Phrases synthesized at once by :meth:`synthesize_many`.
    """

    name = "espeak"

    def __init__(self, *, jobs: int = DEFAULT_JOBS, client: EspeakClient | None = None):
        self.jobs = jobs
        self._client = client
        self._voices: list[VoiceInfo] | None = None

    @property
    def client(self) -> EspeakClient:
        if self._client is None:
            self._client = EspeakClient()
        return self._client

    def describe(self) -> str:
        """Engine identity for cache keys, known without starting espeak: the
        library file, its data folder's age and the calibration."""
        library = find_library()
        data = espeak_data_dir()
        stamp = int(data.stat().st_mtime) if data else 0
        calibrated = hashlib.sha256(json.dumps(calibration(), sort_keys=True).encode()).hexdigest()[:12]
        return f"espeak-ng|{Path(os.path.realpath(library)).name if library else '?'}|{stamp}|{calibrated}"

    def voices(self) -> list[VoiceInfo]:
        """espeak-ng's voices; remembered in the cache folder until the
        library or its data change, so a warm export never starts espeak."""
        if self._voices is None:
            key = "espeak-voices-" + hashlib.sha256(self.describe().encode()).hexdigest()[:16]
            cached = read_json_cache(key)
            if isinstance(cached, list):
                try:
                    self._voices = [VoiceInfo(str(v[0]), str(v[1]), tuple(str(lang) for lang in v[2])) for v in cached]
                except (IndexError, TypeError):
                    self._voices = None
            if not self._voices:
                self._voices = [VoiceInfo(v.id, v.name, v.languages) for v in self.client.voices()]
                write_json_cache(key, [[v.id, v.name, list(v.languages)] for v in self._voices])
        return list(self._voices)

    def _request(self, text: str, settings: VoiceSettings) -> tuple[str, str, int, int, float, int]:
        rate, gap = espeak_parameters(settings.rate, self._language(settings.voice_id))
        return (text, settings.voice_id, rate, settings.pitch, settings.volume, gap)

    def _language(self, voice_id: str) -> str:
        base = voice_id.split("+", 1)[0]
        for voice in self.voices():
            if voice.id == base and voice.languages:
                return voice.languages[0]
        return base.rsplit("/", 1)[-1]

    def synthesize(self, text: str, settings: VoiceSettings) -> Audio:
        return self.synthesize_many([text], settings)[0]

    def synthesize_many(self, texts: list[str], settings: VoiceSettings) -> list[Audio]:
        """Several phrases at once (``jobs`` at a time); the result does not depend on ``jobs``."""
        return self.synthesize_each([(text, settings) for text in texts])

    def synthesize_each(self, requests: list[tuple[str, VoiceSettings]]) -> list[Audio]:
        """Several phrases, each with its own settings (a phrase said again
        slower), in one request to the server: the retakes of a cold export of
        session.vg took 7 requests one after another (~60 ms), now one."""
        try:
            arrays = self.client.synthesize_many([self._request(text, settings) for text, settings in requests], jobs=self.jobs)
        except ValueError as exc:
            raise EspeakError(_("espeak-ng cannot speak this: {reason}").format(reason=exc)) from None
        return [Audio(samples.astype(np.float32) / 32768.0, SAMPLE_RATE) for samples in arrays]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> EspeakEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
