"""Text to a Piper model's phoneme ids: libespeak-ng's IPA per clause, runs
of the model, the ids, and where the first vowel lies among them (see
:mod:`voiceguide.speech.piper`)."""

from __future__ import annotations

import ctypes
import re
import threading
import unicodedata
from collections.abc import Sequence
from functools import cache

from ..errors import EngineError
from ..i18n import _
from .libespeak import AUDIO_OUTPUT_SYNCHRONOUS, INITIALIZE_DONT_EXIT, PHONEMES_IPA, bind
from .libespeak import INSTALL_HINT as ESPEAK_HINT
from .piper_model import PiperModel

_TERMINATOR = re.compile(r"([.,?!:;])[\"'\u201d\u2019)\]\s]*\S?$")
_SENTENCE_ENDS = ".?!"
_LANGUAGE_SWITCH = re.compile(r"\([^)]*\)")


class _Phonemizer:
    """libespeak-ng's text to IPA, in this process.

    Only ``espeak_TextToPhonemes`` runs here, never synthesis; its output
    does not depend on what was phonemised before (checked: 68 sentences in
    two orders gave the same phonemes), unlike espeak's audio.
    """

    def __init__(self) -> None:
        # the espeak client (and the server's protocol) is imported when Piper
        # phonemises: 1.4 ms of every start of voiceguide otherwise (python -X importtime).
        from .espeak_client import find_library

        library = find_library()
        try:
            if library is None:
                raise OSError("libespeak-ng not found")
            lib = bind(library)
        except OSError as exc:
            raise EngineError(
                _("Piper voices read text with espeak-ng, which is missing ({reason}); {hint}").format(
                    reason=exc, hint=ESPEAK_HINT
                )
            ) from None
        if lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, INITIALIZE_DONT_EXIT) <= 0:
            raise EngineError(_("espeak-ng could not start; {ESPEAK_HINT}").format(ESPEAK_HINT=ESPEAK_HINT))
        self.lib = lib
        self.version = (lib.espeak_Info(None) or b"").decode(errors="replace")
        self.lock = threading.Lock()

    def sentences(self, text: str, voice: str) -> list[list[list[str]]]:
        """``text`` as phonemes (one string per Unicode code point, as Piper
        splits them): per sentence, its clauses, each ending in the
        punctuation that ended it."""
        data = text.replace("\0", " ").encode("utf-8")
        buffer = ctypes.create_string_buffer(data)
        start = ctypes.addressof(buffer)
        pointer = ctypes.c_void_p(start)
        sentences: list[list[list[str]]] = []
        current: list[list[str]] = []
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise EngineError(_("espeak-ng has no voice '{voice}', which this Piper model reads with").format(voice=voice))
            while pointer.value:
                before = pointer.value - start
                phonemes = (self.lib.espeak_TextToPhonemes(ctypes.byref(pointer), 1, PHONEMES_IPA) or b"").decode(
                    errors="replace"
                )
                consumed = data[before : (pointer.value - start) if pointer.value else len(data)]
                # espeak reads one character past the clause: the punctuation
                # that ended it is the last one followed by at most that.
                found = _TERMINATOR.search(consumed.decode("utf-8", errors="replace"))
                terminator = found.group(1) if found else ""
                # A clause that goes on (comma, or a long clause espeak cut
                # without punctuation) is followed by a space, as words are.
                ends = terminator and terminator in _SENTENCE_ENDS
                clause = _LANGUAGE_SWITCH.sub("", phonemes) + terminator + ("" if ends else " ")
                if clause.strip():
                    current.append(list(unicodedata.normalize("NFD", clause)))
                if ends and current:
                    sentences.append(current)
                    current = []
        if current:
            sentences.append(current)
        for sentence in sentences:
            while sentence[-1] and sentence[-1][-1] == " ":
                sentence[-1].pop()  # the last clause of the text, ended by no punctuation
        return sentences


def model_runs(clauses: Sequence[Sequence[str]], limit: int) -> list[list[str]]:
    """One sentence's clauses grouped into runs of the model of at most
    ``limit`` phonemes: whole clauses where they fit, a longer clause cut
    between words. A run's memory and time grow with its length (about 20 MB
    per second of speech), and a 1000-character sentence would otherwise be
    a minute of speech in one run."""
    runs: list[list[str]] = []
    current: list[str] = []
    for clause in clauses:
        pieces = [list(clause)]
        if len(clause) > limit:
            pieces, words = [], "".join(clause).split(" ")
            for word in words:
                if pieces and len(pieces[-1]) + 1 + len(word) <= limit:
                    pieces[-1] += [" ", *word]
                else:
                    pieces += [list(word[i : i + limit]) for i in range(0, max(len(word), 1), limit)]
        for piece in pieces:
            if current and len(current) + len(piece) > limit:
                runs.append(current)
                current = []
            current += piece
    if current:
        runs.append(current)
    return [run for run in runs if any(not p.isspace() for p in run)]


@cache
def _phonemizer() -> _Phonemizer:
    """One espeak-ng per process."""
    return _Phonemizer()


def phoneme_ids(model: PiperModel, phonemes: Sequence[str]) -> list[int]:
    """Piper's ids for one sentence: ``^`` ``_`` then each phoneme and ``_``, then ``$``.
    Phonemes the model does not know are left out (as Piper does)."""
    ids = [*model.phoneme_ids["^"], *model.phoneme_ids["_"]]
    pad = model.phoneme_ids["_"]
    for phoneme in phonemes:
        for mapped in model.phoneme_map.get(phoneme, (phoneme,)):
            known = model.phoneme_ids.get(mapped)
            if known:
                ids.extend(known)
                ids.extend(pad)
    ids.extend(model.phoneme_ids["$"])
    return ids


SILENT = frozenset("^$_ ,.;:!?")
"""Ids that make no sound of their own: the start, end and pad marks, spaces and punctuation."""


def _symbols(model: PiperModel, phonemes: Sequence[str]) -> list[str]:
    """The symbol behind each id :func:`phoneme_ids` gives for ``phonemes``."""
    symbols = ["^"] * len(model.phoneme_ids["^"]) + ["_"] * len(model.phoneme_ids["_"])
    pad = ["_"] * len(model.phoneme_ids["_"])
    for phoneme in phonemes:
        for mapped in model.phoneme_map.get(phoneme, (phoneme,)):
            known = model.phoneme_ids.get(mapped)
            if known:
                symbols += [mapped] * len(known) + pad
    return symbols + ["$"] * len(model.phoneme_ids["$"])


def sounding_ids(model: PiperModel, phonemes: Sequence[str]) -> list[int]:
    """The positions, among the ids of ``phonemes``, of those that make a sound."""
    return [index for index, symbol in enumerate(_symbols(model, phonemes)) if symbol not in SILENT]


VOWELS = frozenset("aeiouyæɐɑɒɔəɘɛɜɞɪʊʌʏøœɨʉɵɤɯɶ")
"""IPA vowel letters: a phoneme starting with one of these is a vowel."""
STRESS_MARKS = frozenset("ˈˌ")


def vowel_index(model: PiperModel, phonemes: Sequence[str]) -> int | None:
    """The position, among the ids :func:`phoneme_ids` gives for
    ``phonemes``, where the first vowel begins as a listener hears it; None
    without a vowel.

    A Piper network gives time to the blank (pad) ids between phonemes and
    to stress marks, and its audio for a stressed vowel starts with the
    stress mark's frames: on the English test voice's ten count words at
    length scales 1.0 and 2.17, the start of the stress mark before the
    vowel lay within 36 ms of the vowel's onset measured in the audio
    (voicing after t, f, s; F2 rising after w; F3 rising after [θɹ]), the
    blank before the consonant's end up to 105 ms early, the vowel's own id
    up to 169 ms late. So a vowel begins at its stress mark, else at the
    blank just before it."""
    symbols = _symbols(model, phonemes)
    vowel = next((i for i, symbol in enumerate(symbols) if symbol[:1] in VOWELS), None)
    if vowel is None:
        return None
    start = vowel
    if start > 0 and symbols[start - 1] == "_":
        start -= 1
    if start > 0 and symbols[start - 1] in STRESS_MARKS:
        start -= 1
    return start
