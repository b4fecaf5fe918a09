"""Reading and checking a bundle's TOML manifest.

A manifest names tracks one by one (``[[track]]``) or as a grid that
expands (exercises x lengths x voices x languages); ``[bundle]`` gives the
bundle's settings and defaults for every track::

    [bundle]
    title = "Rust en verbinding"        # album tag and page title
    author = "Praktijk De Linde"        # artist tag and playlist
    format = "mp3"                      # mp3 (default), wav, flac, ogg, opus
    transcript = "vtt"                  # vtt (default), srt, lrc or "none"
    feed_url = "https://example.org/groep/"  # also a podcast feed (see feed.py)
    description = "Voor de dinsdaggroep"      # the feed's description
    cover = "omslag.png"                # the feed's cover (else one is drawn)

    [[track]]
    exercise = "zelfkalmering"          # a built-in, or: script = "welkom.vg"
    minutes = 3
    title = "Rustig ademen"

    [grid]
    exercises = ["veilige-plek", "herinnering"]
    minutes = [2, 5]
    voices = ["auto", "gmw/nl+f3"]

``voice_pack = "anna-nl"`` (a folder beside the manifest or below it, made with
``voiceguide record``) has a trainer's recordings speak, in ``[bundle]``
for every track, or in a ``[[track]]`` or the ``[grid]``.

:func:`read_manifest` reports every problem at once, in file order, each
at the ``file:line:col`` of the value that is wrong. What it cannot see
without speech (whether a track fits its length) is checked by
:func:`voiceguide.batch.render.plan_tracks`.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import rules
from ..errors import ScriptError, os_reason
from ..i18n import N_, _
from ..inputs import InputFileError, is_regular_file, read_limited
from ..parse.exercises import EXERCISES, did_you_mean, find_builtin, load_builtin, load_script
from ..parse.script import Script
from ..sinks.export import mp3_bitrates
from ..speech.pack import VoicePack, VoicePackError
from .cover import CoverError, check_cover
from .publish import feed_folder_url

Place = tuple[int, int]
"""A (line, column) in the manifest; (0, 0) when unknown."""

_BUNDLE_KEYS = (
    "title",
    "author",
    "format",
    "transcript",
    "bitrate",
    "loudness",
    "language",
    "voice",
    "rate",
    "ambience",
    "minutes",
    "voice_pack",
    "feed_url",
    "description",
    "cover",
)
_TRACK_KEYS = ("exercise", "script", "minutes", "language", "voice", "rate", "ambience", "title", "file", "voice_pack")
_GRID_KEYS = ("exercises", "scripts", "minutes", "voices", "languages", "rate", "ambience", "voice_pack")
_DEFAULT_KEYS = ("language", "voice", "rate", "ambience", "minutes", "voice_pack")
"""[bundle] keys that are defaults for every track."""
_NO_TRANSCRIPT = "none"
_FILE_NAME = re.compile(r"[\w.\- ]{1,120}")


class ManifestError(ScriptError):
    """A manifest problem, located at file:line:col (one error may carry several)."""


@dataclass(frozen=True)
class Track:
    """One audio file of the bundle, with everything needed to render it."""

    number: int
    source: str
    """A built-in exercise name or an absolute script path."""
    title: str
    file: str
    artist: str = ""
    """The bundle's author, else the script's: the artist tag and the playlist say the same."""
    language: str | None = None
    minutes: float | None = None
    voice: str | None = None
    rate: int | None = None
    ambience: str = "none"
    line: int = 0
    """Where the track is written: its ``[[track]]`` or the ``[grid]``."""
    col: int = 0
    source_at: Place = (0, 0)
    """Where its exercise or script is named."""
    length_at: Place = (0, 0)
    """Where its length is given (the track's place when it has none)."""
    voice_at: Place = (0, 0)
    voice_pack: str | None = None
    """A voice pack folder (absolute), checked to be of the track's language."""


@dataclass(frozen=True)
class Manifest:
    path: Path
    title: str
    author: str
    format: str
    transcript: str | None
    bitrate_kbps: int | None
    loudness_lufs: float
    tracks: tuple[Track, ...]
    feed_url: str | None = None
    """Where the bundle folder is published (ends in ``/``): a podcast feed is written when set."""
    description: str = ""
    """What the bundle is, for the feed (its page shows the title and author)."""
    cover: str | None = None
    """The feed's cover image (absolute path of a PNG or JPEG beside the manifest); None: one is drawn."""


def read_manifest(path: str | Path) -> Manifest:
    """Read and check a manifest.

    Raises
    ------
    ManifestError
        With every problem, in file order (see :meth:`ScriptError.several`).
    """
    path = Path(path)
    text = _read_text(path)
    if long_key := _LONG_KEY.search(text):
        before = text[: long_key.start()].split("\n")
        raise ManifestError(
            _("a key with more than {count} dotted parts; a manifest's keys have at most two").format(
                count=rules.MAX_MANIFEST_KEY_PARTS
            ),
            path,
            len(before),
            len(before[-1]) + 1,
        )
    try:
        data = tomllib.loads(text)
    except RecursionError:  # tomllib recurses once per level of nested arrays and inline tables
        raise ManifestError(_("not valid TOML: arrays or tables are nested too deeply"), path) from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        line, col = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
        raise ManifestError(_("not valid TOML: {message}").format(message=message), path, line, col) from None
    except ValueError:  # tomllib turns digits into an int: Python refuses more than 4300 of them
        raise ManifestError(_("not valid TOML: a number has too many digits"), path) from None
    return _Checker(path, _Places(text)).manifest(data)


_LONG_KEY = re.compile(
    r"""(?<![\w"'-])(?:(?:[A-Za-z0-9_-]++|"[^"\n]*+"|'[^'\n]*+')[ \t]*+\.[ \t]*+){""" + str(rules.MAX_MANIFEST_KEY_PARTS) + "}"
)
"""A dotted key longer than any manifest needs. tomllib takes time growing
with the square of a key's parts (a 1 MB key ``a.a.a...`` would take
hours), so such a key is refused before tomllib sees it. Possessive
quantifiers and the lookbehind (a try starts only where a part starts)
keep this search linear."""


def _read_text(path: Path) -> str:
    try:
        raw = read_limited(path, rules.MAX_MANIFEST_BYTES, N_("manifest"))
    except FileNotFoundError:
        raise ManifestError(_("no such manifest file"), path) from None
    except InputFileError as exc:
        raise ManifestError(exc.reason, path) from None
    except OSError as exc:
        reason = os_reason(exc).lower()
        raise ManifestError(_("cannot read the manifest ({reason})").format(reason=reason), path) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8").split("\n")
        raise ManifestError(
            _("not valid UTF-8 text; save the manifest as UTF-8"), path, len(before), len(before[-1]) + 1
        ) from None


# --- where things stand -------------------------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)([^\[\]#]*)(\]\]?)\s*(#.*)?$")
"""A table header; its name is stripped in code. (A lazy name between two
``\\s*`` took cubic time on a line of spaces inside a multi-line string.)"""
_KEY = re.compile(r"^(\s*)([\"']?)([A-Za-z0-9_-]+)\2\s*=")


class _Places:
    """Where tables and keys stand in the manifest text (tomllib gives values, not places).

    Tables are named ``bundle``, ``grid`` or ``track[]`` (an array of tables)
    with their index; keys before any table belong to ``("", 0)``.
    """

    def __init__(self, text: str):
        self.tables: dict[tuple[str, int], Place] = {}
        self.keys: dict[tuple[str, int, str], Place] = {}
        current = ("", 0)
        seen: Counter[str] = Counter()
        for number, raw in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(raw)
            if header and len(header.group(1)) == len(header.group(3)) and header.group(2).strip():
                name = header.group(2).strip().strip("\"' ") + ("[]" if header.group(1) == "[[" else "")
                current = (name, seen[name])
                seen[name] += 1
                self.tables.setdefault(current, (number, len(raw) - len(raw.lstrip()) + 1))
                continue
            key = _KEY.match(raw)
            if key:
                self.keys.setdefault((*current, key.group(3)), (number, len(key.group(1)) + 1))

    def table(self, name: str, index: int = 0) -> Place:
        return self.tables.get((name, index), (0, 0))

    def anywhere(self, name: str) -> Place:
        """Where a top-level name is written: as a key, a table or an array of tables."""
        for place in (self.keys.get(("", 0, name)), self.tables.get((name, 0)), self.tables.get((name + "[]", 0))):
            if place:
                return place
        return (0, 0)

    def key(self, name: str, index: int, key: str) -> Place:
        """Where ``key`` is written in the table, else the table's own place."""
        return self.keys.get((name, index, key)) or self.table(name, index)


# --- values -------------------------------------------------------------------------
# Each checks one value and returns it as the track will use it, or raises
# ValueError with the message to show.


def _plain(key: str, value: object) -> None:
    """Refuse a string that holds a character no text may hold (see
    :data:`rules.UNSAFE_CHARACTER`): a line break in a title would add
    entries to the playlist, ESC reaches terminals, a NUL cuts speech short."""
    for text in value if isinstance(value, list) else [value]:
        if isinstance(text, str) and (problem := rules.text_problem(text, key)):
            raise ValueError(problem)


def _minutes(value: object) -> float:
    if value not in rules.MINUTES:
        raise ValueError(rules.MINUTES.problem("minutes", value))
    return float(value)  # type: ignore[arg-type]


def _rate(value: object) -> int:
    if value not in rules.RATE_WPM or not isinstance(value, int):
        raise ValueError(rules.RATE_WPM.problem("rate", value))
    return value


def _voice(value: object) -> str:
    if not isinstance(value, str) or not rules.VOICE_ID.fullmatch(value):
        raise ValueError(_("voice must be 'auto' or an engine voice id such as gmw/nl+f3, not {value!r}").format(value=value))
    return value


def _ambience(value: object) -> str:
    if value not in rules.AMBIENCES:
        raise ValueError(
            _("ambience must be one of {items}, not {value!r}").format(items=", ".join(rules.AMBIENCES), value=value)
        )
    return value  # type: ignore[return-value]


def _language(value: object) -> str:
    if value not in rules.LANGUAGES:
        raise ValueError(
            _("language '{value}' is not supported; use one of: {items}").format(value=value, items=", ".join(rules.LANGUAGES))
        )
    return value  # type: ignore[return-value]


def _title(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("title must be a non-empty string"))
    return value.strip()


def _text(key: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if not isinstance(value, str):
            raise ValueError(_("{key} must be a string").format(key=key))
        return value

    return check


def _choice(key: str, options: tuple[str, ...]) -> Callable[[object], str]:
    def check(value: object) -> str:
        if value not in options:
            raise ValueError(
                _("{key} must be one of {items}, not {value!r}").format(key=key, items=", ".join(options), value=value)
            )
        return value  # type: ignore[return-value]

    return check


def _loudness(value: object) -> float:
    if value not in rules.LOUDNESS_LUFS:
        raise ValueError(rules.LOUDNESS_LUFS.problem("loudness", value))
    return float(value)  # type: ignore[arg-type]


def _bitrate(value: object) -> int:
    rates = mp3_bitrates(rules.DEFAULT_SAMPLE_RATE)
    if value not in rules.MP3_KBPS or value not in rates or not isinstance(value, int):
        raise ValueError(
            _("bitrate must be one of MP3's bitrates ({items} kbps), not {value!r}").format(
                items=", ".join(map(str, rates)), value=value
            )
        )
    return value


def _string(key: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        if not isinstance(value, str) or not value:
            raise ValueError(
                _("'{key}' must be a file name").format(key=key) if key == "script" else _("{key} must be a name").format(key=key)
            )
        return value

    return check


def _folder(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(_("voice_pack must be a folder (made with 'voiceguide record') beside the manifest"))
    return value


def _feed_url(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(_('feed_url must be a string such as "https://example.org/groep/"'))
    return feed_folder_url(value)


_TRACK_VALUES: dict[str, Callable[[object], object]] = {
    "minutes": _minutes,
    "rate": _rate,
    "voice": _voice,
    "ambience": _ambience,
    "language": _language,
    "title": _title,
    "file": _string("file"),
    "voice_pack": _folder,
    "script": _string("script"),
    "exercise": lambda value: value,  # checked against the built-ins with the track's language
}
_BUNDLE_VALUES: dict[str, Callable[[object], object]] = {
    "title": _text("title"),
    "author": _text("author"),
    "format": _choice("format", rules.FORMATS),
    "transcript": _choice("transcript", (*rules.TRANSCRIPTS, _NO_TRANSCRIPT)),
    "loudness": _loudness,
    "bitrate": _bitrate,
    "feed_url": _feed_url,
    "description": _text("description"),
    "cover": _string("cover"),
    **{key: _TRACK_VALUES[key] for key in _DEFAULT_KEYS},
}
_GRID_LISTS = {"exercises": "exercise", "scripts": "script", "minutes": "minutes", "voices": "voice", "languages": "language"}
_GRID_AXES = (("language", "languages"), ("minutes", "minutes"), ("voice", "voices"))
"""The grid expands sources x languages x lengths x voices, in this order."""


@dataclass
class _Spec:
    """One track's settings before it is built, and where each was written."""

    values: dict[str, object]
    places: dict[str, Place]
    at: Place


@dataclass
class _Checker:
    """Builds the Manifest, collecting every problem instead of stopping at the first."""

    path: Path
    places: _Places
    errors: dict[tuple[int, int, str], ManifestError] = field(default_factory=dict)
    titles: dict[tuple[str, str | None], tuple[str, str]] = field(default_factory=dict)

    def report(self, message: str, place: Place) -> None:
        line, col = place
        # a grid repeats a bad value in every track it makes: say it once
        self.errors.setdefault((line, col, message), ManifestError(message, self.path, line, col if line else 0))

    def checked(self, table: dict, checks: dict[str, Callable[[object], object]], table_name: str, index: int = 0) -> dict:
        """The table's values that pass their checks; every one that fails is reported."""
        good = {}
        for key, value in table.items():
            if key not in checks:
                continue
            try:
                _plain(key, value)
                good[key] = checks[key](value)
            except ValueError as problem:
                self.report(str(problem), self.places.key(table_name, index, key))
        return good

    def known(self, table: dict, keys: tuple[str, ...], table_name: str, shown: str, index: int = 0) -> None:
        for key in table:
            if key not in keys:
                self.report(
                    _("unknown key '{key}' in {shown}; known keys: {items}").format(
                        key=key, shown=shown, items=", ".join(sorted(keys))
                    ),
                    self.places.key(table_name, index, key),
                )

    # the whole manifest

    def manifest(self, data: dict) -> Manifest:
        for name in data:
            if name not in ("bundle", "track", "grid"):
                self.report(
                    _("unknown section or key '{name}'; use [bundle], [[track]] and [grid]").format(name=name),
                    self.places.anywhere(name),
                )
        bundle = self._bundle(data.get("bundle", {}))
        defaults = {key: bundle[key] for key in _DEFAULT_KEYS if key in bundle}
        default_places = {key: self.places.key("bundle", 0, key) for key in defaults}
        fmt = bundle.get("format", "mp3")
        specs = self._tracks(data.get("track", []), defaults, default_places)
        if "grid" in data:
            specs += self._grid(data["grid"], defaults, default_places)
        tracks = self._build(specs, fmt, bundle.get("author", ""))
        if self.errors:
            raise ManifestError.several(self.errors.values())
        transcript = bundle.get("transcript", "vtt")
        return Manifest(
            self.path,
            bundle.get("title", "voiceguide"),
            bundle.get("author", ""),
            fmt,
            None if transcript == _NO_TRANSCRIPT else transcript,
            bundle.get("bitrate"),
            bundle.get("loudness", rules.DEFAULT_LOUDNESS_LUFS),
            tuple(tracks),
            feed_url=bundle.get("feed_url"),
            description=bundle.get("description", ""),
            cover=bundle.get("cover"),
        )

    def _bundle(self, bundle: object) -> dict:
        if not isinstance(bundle, dict):
            self.report(_("'bundle' must be a table: [bundle]"), self.places.anywhere("bundle"))
            return {}
        self.known(bundle, _BUNDLE_KEYS, "bundle", "[bundle]")
        good = self.checked(bundle, _BUNDLE_VALUES, "bundle")
        if "bitrate" in good and good.get("format", "mp3") != "mp3":
            self.report(
                _("bitrate applies to mp3; {good} is written at its encoder's default quality").format(good=good["format"]),
                self.places.key("bundle", 0, "bitrate"),
            )
        if "cover" in good:
            good["cover"] = self._cover(good["cover"])
            if good["cover"] is None:
                del good["cover"]
        return good

    def _cover(self, relative: str) -> str | None:
        """The cover image as an absolute path, None when it cannot be used (reported)."""
        place = self.places.key("bundle", 0, "cover")
        path = _beside(self.path, relative)
        if path is None:
            self.report(
                _(
                    "cover '{relative}' must be an image in the manifest's folder or below it, without '..' or an absolute path"
                ).format(relative=relative),
                place,
            )
            return None
        if not is_regular_file(path):
            self.report(_("cover image '{relative}' not found next to the manifest").format(relative=relative), place)
            return None
        try:
            check_cover(path)
        except CoverError as exc:
            self.report(_("cover '{relative}': {reason}").format(relative=relative, reason=exc), place)
            return None
        return str(path)

    def _tracks(self, tracks: object, defaults: dict, default_places: dict[str, Place]) -> list[_Spec]:
        if not isinstance(tracks, list):
            self.report(_("tracks are written as [[track]] tables"), self.places.anywhere("track"))
            return []
        specs = []
        for index, entry in enumerate(tracks):
            at = self.places.table("track[]", index)
            if not isinstance(entry, dict):
                self.report(_("a track must be a table"), at)
                continue
            self.known(entry, _TRACK_KEYS, "track[]", "[[track]]", index)
            own = self.checked(entry, _TRACK_VALUES, "track[]", index)
            if ("exercise" in entry) == ("script" in entry):
                self.report(_("a track needs either 'exercise' (a built-in) or 'script' (a file), not both"), at)
                continue
            if "exercise" not in own and "script" not in own:
                continue  # its source is wrong (reported); its other values are still checked
            places = {**default_places, **{key: self.places.key("track[]", index, key) for key in own}}
            specs.append(_Spec({**defaults, **own}, places, at))
        return specs

    def _grid(self, grid: object, defaults: dict, default_places: dict[str, Place]) -> list[_Spec]:
        at = self.places.table("grid")
        if not isinstance(grid, dict):
            self.report(_("'grid' must be a table: [grid]"), self.places.anywhere("grid"))
            return []
        self.known(grid, _GRID_KEYS, "grid", "[grid]")
        lists = {key: self._grid_list(grid, key) for key in _GRID_LISTS}
        scalars = ("rate", "ambience", "voice_pack")
        extra = self.checked({key: grid[key] for key in scalars if key in grid}, _TRACK_VALUES, "grid")
        if not grid.get("exercises") and not grid.get("scripts"):
            self.report(_("[grid] needs 'exercises' or 'scripts'"), at)
        places = {**default_places, **{key: self.places.key("grid", 0, key) for key in extra}}
        for plural in ("minutes", "voices", "languages"):
            if lists[plural]:
                places[_GRID_LISTS[plural]] = self.places.key("grid", 0, plural)
        sources = [("exercise", value) for value in lists["exercises"]] + [("script", value) for value in lists["scripts"]]
        # every combination; a key the grid does not list keeps the [bundle] default
        axes = [[(key, value) for value in lists[plural]] or [None] for key, plural in _GRID_AXES]
        specs = []
        for (kind, source), *chosen in itertools.product(sources, *axes):
            values = {**defaults, **extra, kind: source, **dict(pair for pair in chosen if pair is not None)}
            specs.append(_Spec(values, {**places, kind: self.places.key("grid", 0, f"{kind}s")}, at))
        return specs

    def _grid_list(self, grid: dict, key: str) -> list:
        """A grid list's good values (every bad one is reported)."""
        value = grid.get(key, [])
        place = self.places.key("grid", 0, key)
        if not isinstance(value, list):
            self.report(_("{key} must be a list, e.g. {key} = [...]").format(key=key), place)
            return []
        check = _TRACK_VALUES[_GRID_LISTS[key]]
        good = []
        for item in value:
            try:
                _plain(key, item)
                good.append(check(item))
            except ValueError as problem:
                self.report(str(problem), place)
        return good

    # tracks

    def _build(self, specs: list[_Spec], fmt: str, author: str) -> list[Track]:
        if not specs and not self.errors:
            self.report(_("the manifest lists no tracks; add [[track]] tables or a [grid]"), (1, 1))
        if len(specs) > rules.MAX_BUNDLE_TRACKS:
            self.report(
                _("the manifest expands to {count} tracks; the limit is {MAX_BUNDLE_TRACKS}").format(
                    count=len(specs), MAX_BUNDLE_TRACKS=rules.MAX_BUNDLE_TRACKS
                ),
                (1, 1),
            )
            return []
        tracks = [track for number, spec in enumerate(specs, start=1) if (track := self._track(number, spec, fmt, author))]
        seen: dict[str, Track] = {}
        for track in tracks:
            key = track.file.lower()
            if key in seen:
                self.report(
                    _("file name '{file}' is used by track {number} too; give each track its own 'file'").format(
                        file=track.file, number=seen[key].number
                    ),
                    (track.line, track.col),
                )
            seen.setdefault(key, track)
        return tracks

    def _track(self, number: int, spec: _Spec, fmt: str, author: str) -> Track | None:
        values, places = spec.values, spec.places
        found = self._source(values, places)
        if found is None:
            return None
        source, language, script_title, script_author = found
        minutes, voice = values.get("minutes"), values.get("voice")
        file = self._file(values, places, fmt, number, source, language)
        if file is None:
            return None
        pack = self._voice_pack(values, places, language or self._script_language(source))
        if pack is False:
            return None
        title = values.get("title") or (
            script_title + (f" ({minutes:g} min)" if minutes else "") + (f" [{voice}]" if voice not in (None, "auto") else "")
        )
        return Track(
            number,
            source,
            title,  # type: ignore[arg-type]
            file,
            author or script_author,
            language,
            minutes,  # type: ignore[arg-type]
            voice,  # type: ignore[arg-type]
            values.get("rate"),  # type: ignore[arg-type]
            values.get("ambience", "none"),  # type: ignore[arg-type]
            *spec.at,
            source_at=places.get("exercise") or places.get("script") or spec.at,
            length_at=places.get("minutes") or spec.at,
            voice_at=places.get("voice") or spec.at,
            voice_pack=pack,
        )

    def _voice_pack(self, values: dict, places: dict[str, Place], language: str) -> str | None | bool:
        """The track's voice pack as an absolute folder, None without one,
        False when it cannot be used (reported)."""
        relative = values.get("voice_pack")
        if relative is None:
            return None
        folder = _beside(self.path, relative)
        if folder is None:  # a shared manifest reads only beside itself
            self.report(
                _(
                    "voice pack '{path}' must be a folder in the manifest's folder or below it, without '..' or an absolute path"
                ).format(path=relative),
                places["voice_pack"],
            )
            return False
        try:
            VoicePack.open(folder, language)
        except VoicePackError as exc:
            self.report(
                _("voice pack '{relative}': {message}").format(relative=relative, message=exc.message), places["voice_pack"]
            )
            return False
        return str(folder)

    def _script_language(self, source: str) -> str:
        return load_script(source).meta.language

    def _source(self, values: dict, places: dict[str, Place]) -> tuple[str, str | None, str, str] | None:
        """(source, language, the script's title and author), or None when it is wrong (reported)."""
        language = values.get("language")
        if "exercise" in values:
            name = values["exercise"]
            builtin = find_builtin(name, language) if isinstance(name, str) else None
            if builtin is None:
                hint = did_you_mean(name) if isinstance(name, str) else ""
                self.report(
                    _("unknown exercise '{name}'; {value}").format(
                        name=name, value=hint or "use " + ", ".join(EXERCISES[:-1]) + " or " + EXERCISES[-1]
                    ),
                    places["exercise"],
                )
                return None
            return (builtin.name, builtin.language, *self._script_title(builtin.name, builtin.language))
        relative = values["script"]
        script_path = _beside(self.path, relative)
        if script_path is None:
            self.report(
                _(
                    "script '{relative}' must be a file in the manifest's folder or below it, without '..' or an absolute path"
                ).format(relative=relative),
                places["script"],
            )
            return None
        if not is_regular_file(script_path):
            self.report(_("script file '{relative}' not found next to the manifest").format(relative=relative), places["script"])
            return None
        try:
            return (str(script_path), language, *self._script_title(str(script_path), None))
        except ScriptError as exc:
            for error in exc.errors:
                self.report(
                    _("script '{relative}' has an error: {error}").format(relative=relative, error=error), places["script"]
                )
            return None

    def _script_title(self, source: str, language: str | None) -> tuple[str, str]:
        if (source, language) not in self.titles:
            script = track_script(source, language)
            self.titles[source, language] = (script.meta.title, script.meta.author)
        return self.titles[source, language]

    def _file(
        self, values: dict, places: dict[str, Place], fmt: str, number: int, source: str, language: str | None
    ) -> str | None:
        file = values.get("file")
        if file is None:
            minutes, voice = values.get("minutes"), values.get("voice")
            stem = Path(source).stem if "script" in values else source
            file = f"{number:02d}-{_slug(stem)}-{language or 'nl'}" + (f"-{minutes:g}min" if minutes else "")
            return file + (f"-{_slug(voice)}" if voice not in (None, "auto") else "") + f".{fmt}"
        if not _FILE_NAME.fullmatch(file) or file.startswith("."):
            self.report(_("file must be a plain file name (letters, digits, '-', '_', '.', spaces; no folders)"), places["file"])
            return None
        if not file.lower().endswith("." + fmt):
            self.report(_("file '{file}' must end in .{fmt} (the bundle's format)").format(file=file, fmt=fmt), places["file"])
            return None
        return file


def track_script(source: str, language: str | None = None) -> Script:
    """A track's script: ``source`` is an absolute path (a ``script``,
    checked to lie beside the manifest) or a built-in's name (an ``exercise``)."""
    if Path(source).is_absolute():
        return load_script(source, language)
    return load_builtin(source, language)


def _beside(manifest: Path, relative: str) -> Path | None:
    """The script ``relative`` names, when it lies in the manifest's folder
    or below it (after following symlinks); None for an absolute path, a
    '..' or a link that leads elsewhere. A shared manifest must not turn
    any file on the disk into a bundle's audio and page."""
    name = Path(relative)
    if name.is_absolute() or ".." in name.parts or name.drive:
        return None
    try:
        folder = manifest.resolve().parent
        found = (folder / name).resolve()
    except (OSError, RuntimeError, ValueError):  # a name too long, a symlink loop, a NUL
        return None
    return found if found.is_relative_to(folder) else None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "track"
