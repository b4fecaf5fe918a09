"""Pronunciation: respellings applied to the text before it reaches the engine.

espeak-ng (and Piper, which phonemises with espeak-ng) says some words
wrong: Dutch "tonen" comes out with a short o, "lichaam" and "minuten" with
the stress on the wrong syllable. A lexicon maps such a word to a spelling
the engine reads right ("toonen", "lichaem"). Three tables are merged, each
overriding the one before:

1. the built-in table per language (``voiceguide/speech/lexicon/nl.tsv``),
   every entry checked with ``espeak-ng --ipa``;
2. the user's own folder: ``LEXICON_DIR/<language>.tsv`` (platformdirs'
   user config folder, ``~/.config/voiceguide/lexicon`` on Linux, or
   ``$VOICEGUIDE_LEXICON_DIR``);
3. a file the script names in its front matter (``lexicon: words.tsv``,
   beside the script).

A line is ``word<TAB>respelling``, ``#`` starts a comment. A word with no
respelling marks a word the engine is known to get wrong with no fix:
``voiceguide check`` warns where a script uses one. Entries match whole
words in any case; the respelling takes the word's capital if it had one.
The respelled text is what the phrase cache keys on, so a changed lexicon
gives new audio.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path

from ..errors import ScriptError, os_reason
from ..folders import lexicon_dir
from ..i18n import N_, _
from ..inputs import InputFileError, read_limited
from ..rules import MAX_LEXICON_BYTES

BUILTIN_LEXICONS = ("en", "nl")
"""The languages voiceguide ships a lexicon for (``lexicon/<language>.tsv``)."""
_WORD = re.compile(r"[^\W\d_](?:[\w'-]*\w)?")


@dataclass(frozen=True)
class Lexicon:
    """Respellings by lower-case word; an empty respelling marks a known problem."""

    entries: dict[str, str] = field(default_factory=dict)

    def apply(self, text: str) -> str:
        """``text`` with every word that has a respelling replaced by it."""
        if not self.respellings:
            return text
        return self._pattern.sub(self._replace, text)

    def problems(self, text: str) -> list[tuple[int, str]]:
        """(offset, word) for every word in ``text`` the engine is known to get wrong."""
        return [(m.start(), m.group()) for m in _WORD.finditer(text) if self.entries.get(m.group().lower()) == ""]

    @cached_property
    def respellings(self) -> dict[str, str]:
        return {word: spelling for word, spelling in self.entries.items() if spelling}

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        words = sorted(self.respellings, key=len, reverse=True)
        return re.compile(r"(?<![\w'-])(" + "|".join(re.escape(w) for w in words) + r")(?![\w'-])", re.IGNORECASE)

    def _replace(self, match: re.Match[str]) -> str:
        word = match.group()
        spelling = self.respellings[word.lower()]
        return spelling[:1].upper() + spelling[1:] if word[:1].isupper() else spelling

    def merged(self, other: Lexicon) -> Lexicon:
        return Lexicon({**self.entries, **other.entries})


def parse_lexicon(text: str, source: str | Path = "<lexicon>") -> Lexicon:
    """Read ``word<TAB>respelling`` lines. Raises ScriptError at file:line:col."""
    entries: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0]
        if not line.strip():
            continue
        word, _tab, spelling = line.partition("\t")
        word, spelling = word.strip(), spelling.strip()
        if not _WORD.fullmatch(word):
            raise ScriptError(_("a lexicon line is 'word<TAB>respelling' (one word, letters only)"), source, number, 1)
        if spelling and not all(_WORD.fullmatch(part) for part in spelling.split()):
            raise ScriptError(
                _("respelling '{spelling}' must be plain words").format(spelling=spelling),
                source,
                number,
                len(raw.split("\t", 1)[0]) + 2,
            )
        entries[word.lower()] = spelling
    return Lexicon(entries)


def read_lexicon(path: Path) -> Lexicon:
    """A lexicon file. Raises ScriptError when it cannot be read or is malformed."""
    try:
        text = read_limited(path, MAX_LEXICON_BYTES, N_("lexicon")).decode("utf-8")
    except InputFileError:  # a folder, a pipe, a device, too large: never read
        raise ScriptError(
            _("a lexicon must be a text file of at most {MAX_LEXICON_BYTES} kB").format(
                MAX_LEXICON_BYTES=MAX_LEXICON_BYTES // 1000
            ),
            path,
        ) from None
    except FileNotFoundError:
        raise ScriptError(_("no such lexicon file"), path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(
            _("cannot read the lexicon ({reason})").format(
                reason=os_reason(exc) if isinstance(exc, OSError) else _("not UTF-8 text")
            ),
            path,
        ) from None
    return parse_lexicon(text, path)


def builtin_lexicon(language: str) -> Lexicon:
    """The lexicon voiceguide ships for ``language`` (empty for a language it has none for)."""
    if language not in BUILTIN_LEXICONS:
        return Lexicon()
    text = resources.files("voiceguide.speech").joinpath("lexicon", f"{language}.tsv").read_text(encoding="utf-8")
    return parse_lexicon(text, f"<built-in lexicon {language}.tsv>")


def load_lexicon(language: str, script_lexicon: Path | None = None) -> Lexicon:
    """The built-in table for ``language``, the user's own entries and the
    script's lexicon file, merged in that order."""
    lexicon = builtin_lexicon(language)
    user_file = lexicon_dir() / f"{language}.tsv"
    if user_file.is_file():
        lexicon = lexicon.merged(read_lexicon(user_file))
    if script_lexicon is not None:
        lexicon = lexicon.merged(read_lexicon(script_lexicon))
    return lexicon
