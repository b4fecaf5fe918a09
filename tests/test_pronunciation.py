"""Every Dutch word of every built-in, as espeak-ng says it, held to a
reviewed list of stress and vowels (tests/data/pronunciation-nl.tsv): a
new sentence cannot bring a mispronounced word in unnoticed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from voiceguide.parse.exercises import EXERCISES, load_script
from voiceguide.plan.timeline import spoken_texts
from voiceguide.speech.lexicon import load_lexicon

REVIEWED = Path(__file__).parent / "data" / "pronunciation-nl.tsv"
WORD = re.compile(r"[^\W\d_]+")

pytestmark = [
    pytest.mark.espeak,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs the espeak-ng command"),
]


def builtin_words(language: str) -> list[str]:
    """Every word (lower case) the built-ins say in ``language``: sentences,
    counts and returns."""
    words: set[str] = set()
    for name in EXERCISES:
        for text in spoken_texts(load_script(name, language)):
            words |= {word.lower() for word in WORD.findall(text)}
    return sorted(words)


def espeak_ipa(words: list[str], language: str) -> dict[str, str]:
    """Each word as espeak-ng says it on its own, after the lexicon's respellings."""
    lexicon = load_lexicon(language)
    said = "\n".join(lexicon.apply(word) for word in words) + "\n"
    out = subprocess.run(["espeak-ng", "--ipa", "-q", "-v", language], input=said, capture_output=True, text=True, check=True)
    ipa = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    assert len(ipa) == len(words), "espeak-ng gave one line per word"
    return dict(zip(words, ipa))


def reviewed() -> dict[str, str]:
    entries = {}
    for line in REVIEWED.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            word, ipa = line.split("\t")[:2]
            entries[word] = ipa
    return entries


def stress_and_vowels(ipa: str) -> str:
    """What the list holds a word to: its stress marks and vowels, in order,
    and where they fall among the consonants (each consonant as '.')."""
    vowels = set("aeiouyɑɛɪɔʊʌəɵøœæɐɜɞɤɯʏɨʉː")
    return "".join(ch if ch in vowels or ch in "ˈˌ" else "." for ch in ipa)


def test_every_dutch_word_of_the_built_ins_is_said_as_reviewed():
    words = builtin_words("nl")
    said = espeak_ipa(words, "nl")
    known = reviewed()
    new = [f"{word} [{said[word]}]" for word in words if word not in known]
    assert not new, (
        f"new Dutch words in the built-ins: {', '.join(new)}. Review each one's stress and vowels "
        f"(espeak-ng --ipa -v nl WORD), fix a wrong one with a respelling in voiceguide/speech/lexicon/nl.tsv, "
        f"and add it with its IPA to {REVIEWED.relative_to(REVIEWED.parent.parent.parent)}"
    )
    changed = [
        f"{word}: said [{said[word]}], reviewed as [{known[word]}]"
        for word in words
        if stress_and_vowels(said[word]) != stress_and_vowels(known[word])
    ]
    assert not changed, "stress or vowels changed (a lexicon entry or espeak-ng): " + "; ".join(changed)


def test_vasthouden_keeps_its_h():
    assert espeak_ipa(["vasthouden"], "nl")["vasthouden"] == "vˈɑsthʌʊdən"


def test_a_new_word_is_named_with_what_to_do(monkeypatch):
    import test_pronunciation as module

    monkeypatch.setattr(module, "builtin_words", lambda language: ["rustig", "ademhalingsoefening"])
    with pytest.raises(AssertionError, match=r"new Dutch words in the built-ins: ademhalingsoefening \[.*\]\. Review"):
        test_every_dutch_word_of_the_built_ins_is_said_as_reviewed()
