"""Stage 1: parse an exercise script into a :class:`Script`.

The format is plain text with a small front matter block::

    ---
    title: Zelfkalmering
    language: nl
    voice: auto
    rate: 125
    ---
    # Aankomen
    Ga rustig zitten. [pause 3s]
    [breathe 4-2-6 x5 count]

Paragraphs are spoken sentence by sentence; markers in square brackets may
stand inline or on a line of their own; ``// ...`` lines are comments. The
parser only reads text: it never runs code, opens the network or reads a
clip (it checks that a clip exists and stays inside the allowed folders).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import rules
from ..errors import ScriptError, os_reason
from ..i18n import N_, _
from ..inputs import InputFileError, read_limited
from ..rules import MAX_CYCLES, MAX_PAUSE_S, MAX_PHASE_S, MAX_SCRIPT_BYTES, MAX_SCRIPT_CHARS, MAX_SENTENCE_CHARS

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg", ".opus")

BREATH_PRESETS: dict[str, tuple[float, ...]] = {
    "seed": (4.0, 2.0, 6.0),
    "calm": (4.0, 2.0, 6.0),
    "4-7-8": (4.0, 7.0, 8.0),
    "box": (4.0, 4.0, 4.0, 4.0),
}

# Mojibake seen in texts pasted from the seed article (UTF-8 read through a
# wrong code page). Repaired before anything is spoken; `check` warns.
ENCODING_REPAIRS: dict[str, str] = {
    "\u01ab": "ë",
    "\u01a9": "é",
    "\u01a0": "à",
    "\u019f": "ti",
}  # the damaged letters, as escapes


# --- what the parser produces -------------------------------------------------


@dataclass(frozen=True)
class Position:
    """Where an item was written: 1-based line and column."""

    line: int
    col: int


@dataclass(frozen=True)
class Speech:
    """One sentence to be spoken."""

    text: str
    at: Position
    paragraph: int
    """Index of the paragraph the sentence belongs to (sentences of one
    paragraph are separated by a shorter gap than paragraphs)."""


@dataclass(frozen=True)
class Pause:
    """Silence. Fixed when ``min_s == max_s``; elastic otherwise
    (``max_s`` may be ``inf`` for ``[pause *]``)."""

    min_s: float
    max_s: float
    default_s: float
    at: Position

    @property
    def elastic(self) -> bool:
        return self.max_s > self.min_s


@dataclass(frozen=True)
class At:
    """Absolute timing marker: the next item starts at ``time_s``."""

    time_s: float
    at: Position


@dataclass(frozen=True)
class Chapter:
    """A chapter heading (``# Title``)."""

    title: str
    at: Position


@dataclass(frozen=True)
class Breathe:
    """A block of paced breathing with tones.

    ``pattern_s`` holds the phase lengths in seconds: in, hold, out and an
    optional second hold (after the out-breath).
    """

    pattern_s: tuple[float, ...]
    cycles_min: int
    cycles_max: int
    cycles_default: int
    count: bool
    at: Position

    @property
    def inhale_s(self) -> float:
        return self.pattern_s[0]

    @property
    def hold_s(self) -> float:
        return self.pattern_s[1]

    @property
    def exhale_s(self) -> float:
        return self.pattern_s[2]

    @property
    def hold_after_s(self) -> float:
        return self.pattern_s[3] if len(self.pattern_s) > 3 else 0.0

    @property
    def cycle_s(self) -> float:
        return sum(self.pattern_s)


@dataclass(frozen=True)
class Bell:
    """A single bell stroke with a natural decay."""

    at: Position


@dataclass(frozen=True)
class Chime:
    """The gentle closing chime."""

    at: Position


@dataclass(frozen=True)
class Clip:
    """A sound file played as is (resampled and levelled to the voice)."""

    path: Path
    at: Position


Item = Speech | Pause | At | Chapter | Breathe | Bell | Chime | Clip


@dataclass(frozen=True)
class Return:
    """A short spoken return (``~ Notice your feet.``): one of the lines the
    planner may speak over long breathing stretches, so a long session never
    goes without a voice for long (see :mod:`voiceguide.plan.returns`)."""

    text: str
    at: Position


@dataclass(frozen=True)
class Meta:
    """Front matter settings. ``voice`` is ``"auto"`` or an engine voice id."""

    title: str = "Untitled"
    language: str = "nl"
    voice: str = "auto"
    rate: int = 125
    """Words per minute."""
    pitch: int = 50
    """espeak pitch, 0-99."""
    volume: float = 1.0
    author: str = ""
    hold_tone: str = "soft"
    """``soft`` (a quiet held note) or ``silent``."""
    lexicon: str = ""
    """A file of respellings beside the script (see :mod:`voiceguide.speech.lexicon`)."""


@dataclass(frozen=True)
class Script:
    """A parsed exercise script."""

    meta: Meta
    items: tuple[Item, ...]
    source: str = "<script>"
    repairs: tuple[tuple[Position, str, str], ...] = field(default=(), compare=False)
    """Encoding damage that was repaired: (where, bad text, replacement)."""
    returns: tuple[Return, ...] = ()
    """The ``~`` lines, in file order: what long stretches may say."""

    def sentences(self) -> list[Speech]:
        return [item for item in self.items if isinstance(item, Speech)]


@dataclass(frozen=True)
class ScriptReport:
    """One pass over a script: what could be read, and every error found.

    ``script`` holds the items and settings that were readable (all of them
    when ``errors`` is empty), so a checker can still warn about them.
    """

    script: Script
    errors: tuple[ScriptError, ...]
    """In file order."""


# --- parsing ------------------------------------------------------------------

_MARKER_NAMES = ("pause", "at", "breathe", "bell", "chime", "clip")
_META_KEYS = {"title", "language", "voice", "rate", "pitch", "volume", "author", "hold_tone", "lexicon"}
_TOKEN = re.compile(r"\[|<break\b[^<>]*>|\]", re.IGNORECASE)
"""A marker's brackets or an SSML break tag. The tag may not hold '<': so
a search from each unclosed ``<break`` stops at the next one, and a line
of them costs one pass, not one per tag (``[^>]*`` took minutes on 200 kB)."""
_SSML_TIME = re.compile(r"""time\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_SSML_OTHER_TAG = re.compile(r"<\s*/?\s*[a-zA-Z]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")
_DURATION = re.compile(r"^(?:(\d+):(\d{1,2}(?:\.\d+)?)|(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|sec|m|min)?)$")


def parse_duration(text: str) -> float:
    """Parse ``3s``, ``1.5s``, ``500ms``, ``2m``, ``1:30`` or a bare number of
    seconds into seconds. Raises ValueError with a hint when it is none of them."""
    spec = text.strip().lower().replace(" ", "")
    compound = re.fullmatch(r"(\d+)m(?:in)?(\d+(?:\.\d+)?)s", spec)
    if compound:
        return float(compound.group(1)) * 60 + float(compound.group(2))
    match = _DURATION.match(spec)
    if not match:
        raise ValueError(_("'{strip}' is not a duration; write e.g. 3s, 1.5s, 500ms, 2m or 1:30").format(strip=text.strip()))
    if match.group(1) is not None:
        seconds = float(match.group(2))
        if seconds >= 60:
            raise ValueError(
                _("'{strip}' has {group} seconds; use 0-59 after the colon").format(strip=text.strip(), group=match.group(2))
            )
        return float(match.group(1)) * 60 + seconds
    value = float(match.group(3))
    unit = match.group(4) or "s"
    return value / 1000 if unit == "ms" else value * 60 if unit in ("m", "min") else value


def parse_script(text: str, source: str | Path = "<script>", *, clip_dirs: tuple[Path, ...] = ()) -> Script:
    """Parse script text.

    Parameters
    ----------
    text:
        The whole script.
    source:
        A name for error messages (usually the file path).
    clip_dirs:
        Folders that ``[clip NAME]`` may refer into, searched in order.

    Raises
    ------
    ScriptError
        With file, line and column, on anything malformed; when there is
        more than one problem, one error that carries them all in file order
        (see :meth:`ScriptError.several`).
    """
    report = check_script_text(text, source, clip_dirs=clip_dirs)
    if report.errors:
        raise ScriptError.several(report.errors)
    return report.script


def check_script_text(text: str, source: str | Path = "<script>", *, clip_dirs: tuple[Path, ...] = ()) -> ScriptReport:
    """Parse script text without stopping at the first problem: every error,
    and whatever could be read (see :class:`ScriptReport`)."""
    return _Parser(str(source), clip_dirs).parse(text)


def read_script_text(path: str | Path) -> str:
    """The text of a script file (UTF-8, an optional byte order mark).

    Raises ScriptError when the file is missing, unreadable, too large or
    not UTF-8 (located at the first bad byte).
    """
    path = Path(path)
    try:
        raw = read_limited(path, MAX_SCRIPT_BYTES, N_("script"))
    except FileNotFoundError:
        raise ScriptError(
            _("no such script file; give a path to a script or a built-in name (see 'voiceguide list')"), path
        ) from None
    except InputFileError as exc:
        if path.is_dir():
            raise ScriptError(_("is a folder, not a script file"), path) from None
        if exc.size is not None:
            raise ScriptError(
                _("script is {count} bytes; scripts are limited to {MAX_SCRIPT_CHARS} characters").format(
                    count=exc.size, MAX_SCRIPT_CHARS=MAX_SCRIPT_CHARS
                ),
                path,
            ) from None
        raise ScriptError(exc.reason, path) from None
    except OSError as exc:
        raise ScriptError(_("cannot read: {strerror}").format(strerror=os_reason(exc).lower()), path) from None
    body = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = body[: exc.start].decode("utf-8").replace("\r\n", "\n").replace("\r", "\n").split("\n")
        raise ScriptError(_("not valid UTF-8 text; save the script as UTF-8"), path, len(before), len(before[-1]) + 1) from None


def read_script(path: str | Path, *, clip_dirs: tuple[Path, ...] = ()) -> Script:
    """Read and parse a script file; clips resolve beside it, then in ``clip_dirs``."""
    path = Path(path)
    return parse_script(read_script_text(path), path, clip_dirs=script_clip_dirs(path, clip_dirs))


def script_clip_dirs(path: Path, clip_dirs: tuple[Path, ...] = ()) -> tuple[Path, ...]:
    """Where a script file's clips are looked up: beside it, then ``clip_dirs``."""
    return (path.resolve().parent, *clip_dirs)


class _Parser:
    """One pass over a script that collects every error (see ScriptReport).

    A problem is recorded where it is found and reading goes on after it: after
    the bad marker's ']', on the next front matter line, or on the next line
    when a marker is never closed.
    """

    def __init__(self, source: str, clip_dirs: tuple[Path, ...]):
        self.source = source
        self.clip_dirs = clip_dirs
        self.items: list[Item] = []
        self.errors: list[ScriptError] = []
        self.ssml_lines: set[int] = set()  # lines already told that only <break> is understood
        self.repairs: list[tuple[Position, str, str]] = []
        self.paragraph = 0
        self.pending: list[tuple[str, int, int]] = []  # text fragments of the open paragraph
        self.returns: list[Return] = []
        self.return_lines = 0  # '~' lines written, readable or not

    def error(self, message: str, line: int, col: int) -> ScriptError:
        return ScriptError(message, self.source, line, col)

    def report(self, message: str, line: int, col: int) -> None:
        self.errors.append(self.error(message, line, col))

    def parse(self, text: str) -> ScriptReport:
        if len(text) > MAX_SCRIPT_CHARS:
            self.report(
                _("script has {count} characters; the limit is {MAX_SCRIPT_CHARS}").format(
                    count=len(text), MAX_SCRIPT_CHARS=MAX_SCRIPT_CHARS
                ),
                1,
                1,
            )
            return self._result(Meta())
        lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        lines = [self._plain(line, number) for number, line in enumerate(lines, start=1)]
        meta, body_start = _FrontMatter(self).read(lines)
        for index in range(body_start, len(lines)):
            self._line(lines[index], index + 1)
        self._flush()
        playable = any(isinstance(item, (Speech, Breathe, Clip, Bell, Chime)) for item in self.items)
        if not playable and not self.errors:  # with errors, what is missing may just be unreadable
            self.report(_("script has nothing to play; add a sentence or a marker such as [breathe seed x5]"), len(lines), 1)
        return self._result(meta)

    def _plain(self, line: str, number: int) -> str:
        """The line with every character a script may not hold (see
        :data:`rules.UNSAFE_CHARACTER`: a NUL cut espeak's sentence short,
        ESC reaches terminals) reported once and read as a space."""
        index = rules.unsafe_character(line)
        if index is None:
            return line
        self.report(
            _("{character} in the text; scripts are plain text: remove it").format(character=rules.character_name(line[index])),
            number,
            index + 1,
        )
        return rules.UNSAFE_CHARACTER.sub(" ", line)

    def _result(self, meta: Meta) -> ScriptReport:
        if self.return_lines == 1 and len(self.returns) == 1:
            first = self.returns[0].at
            self.report(
                _("one return line would be said again and again; give at least two '~' lines, or none"), first.line, first.col
            )
        script = Script(
            meta=meta, items=tuple(self.items), source=self.source, repairs=tuple(self.repairs), returns=tuple(self.returns)
        )
        return ScriptReport(script, ScriptError.several(self.errors).errors if self.errors else ())

    # body

    def _line(self, raw: str, number: int) -> None:
        stripped = raw.strip()
        if not stripped:
            self._flush()
        elif stripped.startswith("//"):
            return
        elif stripped.startswith("#"):
            self._chapter(raw, number)
        elif stripped.startswith("~"):
            self._return(raw, number)
        else:
            self._text_and_markers(raw, number)

    def _chapter(self, raw: str, number: int) -> None:
        self._flush()
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip())
        title_col = indent + 1 + len(stripped) - len(stripped.lstrip("#").lstrip())
        title = self._repair(stripped.lstrip("#").strip(), number, title_col)
        if not title:
            self.report(_("chapter heading is empty; write '# Title'"), number, indent + 1)
            return
        self.items.append(Chapter(title, Position(number, indent + 1)))

    def _return(self, raw: str, number: int) -> None:
        """A ``~`` line: one short return, spoken as it is (no markers)."""
        self._flush()
        self.return_lines += 1
        indent = len(raw) - len(raw.lstrip())
        body = raw.strip()[1:]
        col = indent + 2 + len(body) - len(body.lstrip())
        text = " ".join(self._repair(body.strip(), number, col).split())
        if not any(ch.isalnum() for ch in text):
            self.report(
                _("return line is empty; write a short sentence after '~', e.g. '~ Notice your feet.'"), number, indent + 1
            )
            return
        marker = _TOKEN.search(text)
        if marker:
            self.report(
                _("a return line is spoken as it is and cannot hold '{token}'; put markers in the script's own lines").format(
                    token=marker.group()
                ),
                number,
                col + marker.start(),
            )
            return
        words = sum(any(ch.isalnum() for ch in word) for word in text.split())
        if words > rules.MAX_RETURN_WORDS:
            self.report(
                _("return line has {words} words; keep it to {most} (it is spoken over the breathing tones)").format(
                    words=words, most=rules.MAX_RETURN_WORDS
                ),
                number,
                col,
            )
            return
        for earlier in self.returns:
            if earlier.text == text:
                self.report(
                    _("this return line is given twice (first on line {line}); keep one").format(line=earlier.at.line),
                    number,
                    col,
                )
                return
        self.returns.append(Return(text, Position(number, col)))

    def _text_and_markers(self, raw: str, number: int) -> None:
        position = 0
        for token in _TOKEN.finditer(raw):
            if token.start() < position:
                continue
            self._text(raw[position : token.start()], number, position + 1)
            col = token.start() + 1
            position = token.end()
            if token.group() == "]":
                self.report(_("']' without an opening '['; markers look like [pause 3s]"), number, col)
                continue
            self._flush_text()
            if token.group() == "[":
                end = raw.find("]", token.end())
                if end < 0:
                    self.report(_("marker is not closed; add ']' (markers look like [pause 3s])"), number, col)
                    return
                position = end + 1
                self._add(_marker, self, raw[token.end() : end], number, col)
            else:
                self._add(_ssml_break, self, token.group(), number, col)
        self._text(raw[position:], number, position + 1)

    def _add(self, make: Callable[..., Item], *args: object) -> None:
        """Add the item ``make(*args)`` reads, or record why it cannot."""
        try:
            self.items.append(make(*args))
        except ScriptError as error:
            self.errors.append(error)

    def _text(self, fragment: str, line: int, col: int) -> None:
        tag = _SSML_OTHER_TAG.search(fragment)
        if tag and line not in self.ssml_lines:
            # once per line: <speak>...</speak> is one mistake, not two
            self.ssml_lines.add(line)
            self.report(
                _('only the SSML tag <break time="2s"/> is understood; write pauses as [pause 2s]'), line, col + tag.start()
            )
        if fragment.strip():
            lead = len(fragment) - len(fragment.lstrip())
            self.pending.append((fragment.strip(), line, col + lead))

    def _flush_text(self) -> None:
        """End the current run of text (a marker follows) without ending the paragraph."""
        if not self.pending:
            return
        chars, places = self._repaired(*_characters(self.pending))
        self.pending.clear()
        text = "".join(chars)
        # (end of a sentence, start of the next); a sentence keeps its closing quotes and brackets
        ends = [(m.start() + len(m.group().rstrip()), m.end()) for m in _SENTENCE_END.finditer(text)]
        start = 0
        for end, next_start in [*ends, (len(text), len(text))]:
            chunk, begin = text[start:end], start
            start = next_start
            sentence = chunk.strip()
            if not sentence:
                continue
            where = Position(*places[begin + len(chunk) - len(chunk.lstrip())])
            if len(sentence) > MAX_SENTENCE_CHARS:
                self.report(
                    _("sentence has {count} characters; split it (the limit is {MAX_SENTENCE_CHARS})").format(
                        count=len(sentence), MAX_SENTENCE_CHARS=MAX_SENTENCE_CHARS
                    ),
                    where.line,
                    where.col,
                )
            elif any(ch.isalnum() for ch in sentence):
                self.items.append(Speech(sentence, where, self.paragraph))

    def _repaired(self, chars: list[str], places: list[tuple[int, int]]) -> tuple[list[str], list[tuple[int, int]]]:
        """Repair encoding damage, keeping every character's place."""
        for bad, good in ENCODING_REPAIRS.items():
            if bad in chars:
                self.repairs.append((Position(*places[chars.index(bad)]), bad, good))
                fixed = [(out, place) for ch, place in zip(chars, places) for out in (good if ch == bad else ch)]
                chars, places = [ch for ch, _ in fixed], [place for _, place in fixed]
        return chars, places

    def _flush(self) -> None:
        self._flush_text()
        self.paragraph += 1

    def _repair(self, text: str, line: int, col: int) -> str:
        for bad, good in ENCODING_REPAIRS.items():
            if bad in text:
                self.repairs.append((Position(line, col + text.index(bad)), bad, good))
                text = text.replace(bad, good)
        return text


def _characters(pending: list[tuple[str, int, int]]) -> tuple[list[str], list[tuple[int, int]]]:
    """A run of text fragments as one list of characters with whitespace
    collapsed, and for every character the (line, column) it was written at,
    so each sentence and each repair points at its own place."""
    chars: list[str] = []
    places: list[tuple[int, int]] = []
    for fragment, line, col in pending:
        if chars:
            chars.append(" ")
            places.append((line, col))
        for word in re.finditer(r"\s+|\S+", fragment):
            first = col + word.start()
            if word.group().isspace():
                chars.append(" ")
                places.append((line, first))
                continue
            # NFC word by word: a word's first letter keeps its exact column
            normal = unicodedata.normalize("NFC", word.group())
            last = first + len(word.group()) - 1
            chars.extend(normal)
            places.extend((line, min(first + offset, last)) for offset in range(len(normal)))
    return chars, places


# --- front matter -------------------------------------------------------------


class _FrontMatter:
    """Reads the ``---`` block of settings, reporting every bad line."""

    def __init__(self, parser: _Parser):
        self.parser = parser
        self.values: dict[str, object] = {}
        self.first_line: dict[str, int] = {}

    def read(self, lines: list[str]) -> tuple[Meta, int]:
        """The settings and the index of the first body line."""
        first = next((i for i, line in enumerate(lines) if line.strip()), None)
        if first is None or lines[first].strip() != "---":
            return Meta(), 0
        close = next((i for i in range(first + 1, len(lines)) if lines[i].strip() == "---"), None)
        for index in range(first + 1, len(lines) if close is None else close):
            if not self._line(lines[index], index + 1, closed=close is not None):
                return Meta(**self.values), len(lines)  # type: ignore[arg-type]
        if close is None:
            self.parser.report(
                _("front matter opened with '---' is never closed; add a line '---' after the settings"), first + 1, 1
            )
            return Meta(**self.values), len(lines)  # type: ignore[arg-type]
        return Meta(**self.values), close + 1  # type: ignore[arg-type]

    def _line(self, raw: str, number: int, closed: bool) -> bool:
        """Read one line; False when it is not a setting of a block that is never
        closed (the closing '---' is likely missing: say so once, read no further)."""
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            return True
        key, sep, value = raw.partition(":")
        key_col = len(raw) - len(raw.lstrip()) + 1
        if not sep:
            hint = "" if closed else _("; is the closing '---' missing?")
            self.parser.report(
                _("front matter line '{stripped}' needs the form 'key: value'{hint}").format(stripped=stripped, hint=hint),
                number,
                key_col,
            )
            return closed
        key = key.strip().lower()
        value_col = len(raw) - len(value.lstrip()) + 1
        if key not in _META_KEYS:
            self.parser.report(
                _("unknown setting '{key}'; known settings: {items}").format(key=key, items=", ".join(sorted(_META_KEYS))),
                number,
                key_col,
            )
        elif key in self.first_line:
            self.parser.report(
                _("setting '{key}' is given twice (first on line {first_line}); keep one").format(
                    key=key, first_line=self.first_line[key]
                ),
                number,
                key_col,
            )
        else:
            self.first_line[key] = number
            try:
                self.values[key] = _meta_value(key, _strip_comment(value).strip())
            except ValueError as problem:
                self.parser.report(str(problem), number, value_col)
        return True


def _meta_value(key: str, value: str) -> object:
    """A front matter value checked and converted; ValueError says what is wrong."""
    if key in ("rate", "pitch"):
        allowed = rules.RATE_WPM if key == "rate" else rules.PITCH
        number = int(value) if re.fullmatch(r"\d{1,9}", value) else None
        if number not in allowed:
            raise ValueError(allowed.problem(key, value))
        return number
    if key == "volume":
        try:
            volume = float(value)
        except ValueError:
            volume = -1.0
        if volume not in rules.VOLUME:
            raise ValueError(rules.VOLUME.problem("volume", value))
        return volume
    if key in ("language", "hold_tone"):
        return _meta_choice(key, value)
    if key == "lexicon" and not re.fullmatch(r"[\w.\- ]{1,120}\.(tsv|txt)", value):
        raise ValueError(
            _("lexicon must be the name of a .tsv file beside the script (no folders), not '{value}'").format(value=value)
        )
    if key == "voice" and not rules.VOICE_ID.fullmatch(value):
        raise ValueError(_("voice '{value}' is not a voice id; use 'auto' or an id from 'voiceguide voices'").format(value=value))
    if not value:
        raise ValueError(_("{key} needs a value").format(key=key))
    return value


def _meta_choice(key: str, value: str) -> str:
    if key == "language" and value.lower() not in rules.LANGUAGES:
        raise ValueError(
            _("language '{value}' is not supported; use one of: {items}").format(value=value, items=", ".join(rules.LANGUAGES))
        )
    if key == "hold_tone" and value.lower() not in rules.HOLD_TONES:
        raise ValueError(
            _("hold_tone must be {items}, not '{value}'").format(
                items=" or ".join(repr(tone) for tone in rules.HOLD_TONES), value=value
            )
        )
    return value.lower()


def _strip_comment(value: str) -> str:
    """Drop a trailing '# comment' from a front matter value."""
    return re.split(r"\s+#", value, maxsplit=1)[0]


# --- markers ------------------------------------------------------------------
# Each raises ScriptError at the first problem within its marker; the parser
# records it and goes on after the marker's ']'.


def _marker(parser: _Parser, body: str, line: int, col: int) -> Item:
    found = list(re.finditer(r"\S+", body))
    words = [match.group() for match in found]
    where = Position(line, col)
    if not words:
        raise parser.error(_("empty marker []; use one of: {items}").format(items=", ".join(_MARKER_NAMES)), line, col)
    name, args = words[0].lower(), words[1:]
    # column of the first argument (of the closing ']' when there is none)
    arg_col = col + 1 + (found[1].start() if len(found) > 1 else len(body))
    rest = body[found[0].end() :]
    if name == "pause":
        return _pause(parser, re.sub(r"\s", " ", rest).strip(), where, arg_col)
    if name == "at":
        return _at(parser, args, where, arg_col)
    if name == "breathe":
        return _breathe(parser, [(match.group(), col + 1 + match.start()) for match in found[1:]], where, arg_col)
    if name in ("bell", "chime"):
        if args:
            raise parser.error(_("[{name}] takes no arguments").format(name=name), line, arg_col)
        return Bell(where) if name == "bell" else Chime(where)
    if name == "clip":
        return _clip(parser, rest.strip(), where, arg_col)
    raise parser.error(
        _("unknown marker [{words}]; use one of: {items}").format(words=words[0], items=", ".join(_MARKER_NAMES)), line, col
    )


def _duration(parser: _Parser, text: str, line: int, col: int) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise parser.error(str(exc), line, col) from None


def _ssml_break(parser: _Parser, tag: str, line: int, col: int) -> Pause:
    match = _SSML_TIME.search(tag)
    if not match:
        raise parser.error(_('<break> needs a time attribute, e.g. <break time="1500ms"/>'), line, col)
    seconds = _duration(parser, match.group(1), line, col)
    if seconds > MAX_PAUSE_S:
        raise parser.error(
            _("pause of {seconds:g} s is longer than the {MAX_PAUSE_S:g} s limit").format(
                seconds=seconds, MAX_PAUSE_S=MAX_PAUSE_S
            ),
            line,
            col,
        )
    return Pause(seconds, seconds, seconds, Position(line, col))


def _at(parser: _Parser, args: list[str], where: Position, col: int) -> At:
    if len(args) != 1:
        raise parser.error(_("[at] takes one time, e.g. [at 1:00] or [at 90s]"), where.line, where.col)
    seconds = _duration(parser, args[0], where.line, col)
    if seconds > rules.MAX_SESSION_S:
        raise parser.error(_("[at {args}] is beyond the 3 hour limit").format(args=args[0]), where.line, col)
    return At(seconds, where)


def _pause(parser: _Parser, spec: str, where: Position, col: int) -> Pause:
    line = where.line
    if not spec:
        raise parser.error(_("[pause] needs a length, e.g. [pause 3s], [pause 2-8s] or [pause *]"), line, col)
    if spec == "*":
        return Pause(1.0, float("inf"), 4.0, where)
    if spec.startswith("-"):
        raise parser.error(
            _("a pause cannot be negative ('{spec}'); write a length such as [pause 1s], or a range such as [pause 1-3s]").format(
                spec=spec
            ),
            line,
            col,
        )
    low_text, dash, high_text = spec.partition("-")
    if dash:
        unit = re.sub(r"^[\d.:\s]+", "", high_text)
        low_spec = low_text if re.search(r"[a-z:]", low_text, re.IGNORECASE) else low_text + unit
        low = _duration(parser, low_spec, line, col)
        high = _duration(parser, high_text, line, col + len(low_text) + 1 + len(high_text) - len(high_text.lstrip()))
        if high < low:
            raise parser.error(
                _("pause range {spec} runs backwards; write the shorter length first").format(spec=spec), line, col
            )
    else:
        low = high = _duration(parser, spec, line, col)
    if high > MAX_PAUSE_S:
        raise parser.error(
            _("pause of {high:g} s is longer than the {MAX_PAUSE_S:g} s limit").format(high=high, MAX_PAUSE_S=MAX_PAUSE_S),
            line,
            col,
        )
    return Pause(low, high, (low + high) / 2, where)


_BREATHE_USAGE = N_("write e.g. [breathe 4-2-6 x5 count], [breathe box x4] or [breathe seed x*]")


def _breathe(parser: _Parser, args: list[tuple[str, int]], where: Position, col: int) -> Breathe:
    line = where.line
    if not args:
        raise parser.error(_("[breathe] needs a pattern; {usage}").format(usage=_(_BREATHE_USAGE)), line, col)
    pattern = _pattern(parser, args[0][0], line, col)
    cycles: tuple[int, int, int] = (5, 5, 5)
    count = False
    for arg, arg_col in args[1:]:
        lowered = arg.lower()
        if lowered == "count":
            count = True
        elif lowered.startswith("x"):
            cycles = _cycles(parser, lowered[1:], line, arg_col)
        else:
            raise parser.error(
                _("unknown breathe option '{arg}'; {usage}").format(arg=arg, usage=_(_BREATHE_USAGE)),
                line,
                arg_col,
            )
    return Breathe(pattern, *cycles, count=count, at=where)


def _pattern(parser: _Parser, spec: str, line: int, col: int) -> tuple[float, ...]:
    preset = BREATH_PRESETS.get(spec.lower())
    if preset:
        return preset
    parts = spec.split("-")
    if len(parts) not in (3, 4):
        names = ", ".join(BREATH_PRESETS)
        raise parser.error(
            _(
                "breath pattern '{spec}' needs 3 or 4 lengths in seconds (in-hold-out or in-hold-out-hold) or a preset ({names})"
            ).format(spec=spec, names=names),
            line,
            col,
        )
    values = []
    for part in parts:
        try:
            value = float(part.removesuffix("s"))
        except ValueError:
            raise parser.error(_("breath phase '{part}' is not a number of seconds").format(part=part), line, col) from None
        if not 0 <= value <= MAX_PHASE_S or value != value:
            raise parser.error(
                _("breath phase '{part}' must be from 0 to {MAX_PHASE_S:g} seconds").format(part=part, MAX_PHASE_S=MAX_PHASE_S),
                line,
                col,
            )
        values.append(value)
    if values[0] < 1 or values[2] < 1:
        raise parser.error(_("breathing in and out take at least 1 second each, not '{spec}'").format(spec=spec), line, col)
    return tuple(values)


def _cycles(parser: _Parser, spec: str, line: int, col: int) -> tuple[int, int, int]:
    """``xN`` fixed, ``xN-M`` elastic (default: the middle), ``xN+`` at
    least N (default N) and ``x*`` any number (default 5)."""
    if spec == "*":
        return 1, MAX_CYCLES, 5
    open_ended = spec.endswith("+")
    low, dash, high = spec.removesuffix("+").partition("-")
    if not low.isdecimal() or (dash and (open_ended or not high.isdecimal())):
        raise parser.error(_("cycle count 'x{spec}' must be xN, xN-M, xN+ or x*, e.g. x5").format(spec=spec), line, col)
    low_n = int(low) if len(low) < 10 else MAX_CYCLES + 1
    high_n = (int(high) if len(high) < 10 else MAX_CYCLES + 1) if dash else low_n
    if open_ended and low_n < MAX_CYCLES:
        return low_n, MAX_CYCLES, low_n
    if open_ended or not 1 <= low_n <= high_n <= MAX_CYCLES:
        raise parser.error(
            _("cycle count 'x{spec}' must be between 1 and {MAX_CYCLES}, smaller number first").format(
                spec=spec, MAX_CYCLES=MAX_CYCLES
            ),
            line,
            col,
        )
    return low_n, high_n, (low_n + high_n + 1) // 2


def _clip(parser: _Parser, name: str, where: Position, col: int) -> Clip:
    line = where.line
    if not name:
        raise parser.error(_("[clip] needs a file name, e.g. [clip welkom.wav]"), line, col)
    if not name.lower().endswith(AUDIO_EXTENSIONS):
        raise parser.error(
            _("clip '{name}' must be a sound file ({items})").format(name=name, items=", ".join(AUDIO_EXTENSIONS)), line, col
        )
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise parser.error(
            _(
                "clip '{name}' must be a file name inside the script's folder or audio_assets/, without '..' or an absolute path"
            ).format(name=name),
            line,
            col,
        )
    for folder in parser.clip_dirs:
        try:
            candidate = (folder / relative).resolve()
            if candidate.is_relative_to(folder.resolve()) and candidate.is_file():
                return Clip(candidate, where)
        except (OSError, ValueError):  # a name the file system cannot hold: not found
            continue
    searched = ", ".join(str(folder) for folder in parser.clip_dirs) or "no folders"
    raise parser.error(_("clip '{name}' not found; looked in {searched}").format(name=name, searched=searched), line, col)
