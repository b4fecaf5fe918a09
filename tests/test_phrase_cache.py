"""The phrase cache, through the deterministic test engine."""

from __future__ import annotations

import numpy as np
import pytest

from voiceguide.speech.cache import PhraseCache
from voiceguide.speech.engine import VoiceSettings
from voiceguide.speech.phrases import synthesize_phrases


class CountingEngine:
    """Wraps an engine and counts how often it is asked to speak."""

    def __init__(self, inner):
        self.inner = inner
        self.name = inner.name
        self.calls = 0

    def describe(self):
        return self.inner.describe()

    def synthesize(self, text, voice):
        self.calls += 1
        return self.inner.synthesize(text, voice)


def test_cache_skips_synthesis_the_second_time(fake_engine, tmp_path):
    counting = CountingEngine(fake_engine)
    cache = PhraseCache(tmp_path / "cache")
    voice = VoiceSettings("gmw/nl", rate=130)
    first = synthesize_phrases(["Een.", "Twee.", "Een."], voice, counting, cache)
    assert counting.calls == 2
    second = synthesize_phrases(["Een.", "Twee."], voice, counting, cache)
    assert counting.calls == 2 and cache.hits == 2
    assert np.allclose(first["Twee."].samples, second["Twee."].samples, atol=1 / 32768)
    synthesize_phrases(["Een."], VoiceSettings("gmw/nl", rate=131), counting, cache)
    assert counting.calls == 3, "a different rate is a different cache entry"


def test_damaged_cache_entries_are_rebuilt(fake_engine, tmp_path):
    counting = CountingEngine(fake_engine)
    cache = PhraseCache(tmp_path / "cache")
    voice = VoiceSettings("gmw/nl", rate=130)
    good = synthesize_phrases(["Rustig."], voice, counting, cache)["Rustig."]
    entry = cache.path(cache.key(counting.describe(), voice, "Rustig."))
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    again = synthesize_phrases(["Rustig."], voice, counting, cache)["Rustig."]
    assert counting.calls == 2
    assert again.duration_s == pytest.approx(good.duration_s, abs=0.005)
    entry.write_bytes(b"VGC1")  # truncated
    synthesize_phrases(["Rustig."], voice, counting, cache)
    assert counting.calls == 3


def test_an_unwritable_cache_costs_speed_not_the_result(fake_engine, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    cache = PhraseCache(blocker / "cache")
    audio = synthesize_phrases(["Toch gelukt."], VoiceSettings("gmw/nl"), fake_engine, cache)["Toch gelukt."]
    assert audio.duration_s > 0.5
