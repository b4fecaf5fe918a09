"""Trainer bundles: many tracks from one TOML manifest, rendered in parallel.

A manifest names tracks one by one (``[[track]]``) or as a grid that
expands (exercises x lengths x voices x languages)::

    [bundle]
    title = "Rust en verbinding"        # album tag and page title
    author = "Praktijk De Linde"
    format = "mp3"                      # mp3 (default), wav, flac, ogg, opus
    transcript = "vtt"                  # vtt (default), srt, lrc or "none"

    [[track]]
    exercise = "zelfkalmering"          # a built-in, or: script = "welkom.vg"
    minutes = 3
    language = "nl"
    title = "Rustig ademen"

    [grid]
    exercises = ["veilige-plek", "herinnering"]
    minutes = [2, 5]
    voices = ["auto", "gmw/nl+f3"]

Every problem in the manifest is reported as ``file:line:col`` before any
audio is rendered. Rendering runs one process per core (each with its own
speech engine; they share the phrase cache) and is resumable: a track whose
inputs have not changed since the last run is not rendered again.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import tomllib
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..atomic import AtomicFile, write_atomically
from ..clock import format_clock
from ..errors import ScriptError, VoiceguideError
from ..exercises import find_builtin, load_script
from ..rules import AMBIENCES, FORMATS, LANGUAGES, LOUDNESS_LUFS, MINUTES, RATE_WPM, TRANSCRIPTS, VOICE_ID
from ..script import Clip

STATE_FILE = ".voiceguide-batch.json"
MAX_TRACKS = 200

_BUNDLE_KEYS = {
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
}
_TRACK_KEYS = {"exercise", "script", "minutes", "language", "voice", "rate", "ambience", "title", "file"}
_GRID_KEYS = {"exercises", "scripts", "minutes", "voices", "languages", "rate", "ambience"}


class ManifestError(ScriptError):
    """A manifest problem, located at file:line:col."""


@dataclass(frozen=True)
class Track:
    """One audio file of the bundle, with everything needed to render it."""

    number: int
    source: str
    """A built-in exercise name or an absolute script path."""
    title: str
    file: str
    language: str | None = None
    minutes: float | None = None
    voice: str | None = None
    rate: int | None = None
    ambience: str = "none"
    line: int = 0


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


@dataclass(frozen=True)
class TrackResult:
    track: Track
    rendered: bool
    """False when an unchanged earlier render was kept."""
    duration_s: float
    transcript: str | None


@dataclass
class BundleResult:
    folder: Path
    results: list[TrackResult] = field(default_factory=list)
    playlist: Path | None = None
    index: Path | None = None
    archive: Path | None = None


# --- reading the manifest -------------------------------------------------------


class _Lines:
    """Finds where tables and keys stand, for error messages (tomllib gives
    values, not positions)."""

    def __init__(self, text: str):
        self.lines = text.splitlines()

    def table(self, header: str, occurrence: int = 0) -> int:
        pattern = re.compile(r"^\s*" + re.escape(header) + r"\s*(#.*)?$")
        found = [i + 1 for i, line in enumerate(self.lines) if pattern.match(line)]
        return found[occurrence] if occurrence < len(found) else 0

    def key(self, key: str, after: int) -> tuple[int, int]:
        pattern = re.compile(r"^(\s*)" + re.escape(key) + r"\s*=")
        for number in range(after + 1 if after else 1, len(self.lines) + 1):
            line = self.lines[number - 1]
            if after and number > after and line.lstrip().startswith("["):
                break
            match = pattern.match(line)
            if match:
                return number, len(match.group(1)) + 1
        return after, 1


def read_manifest(path: str | Path) -> Manifest:
    """Read and check a manifest; raise ManifestError at the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError("no such manifest file", path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"cannot read the manifest ({getattr(exc, 'strerror', None) or exc})", path) from None
    if len(text) > 1_000_000:
        raise ManifestError("manifest is larger than 1 MB", path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        line, col = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
        raise ManifestError(f"not valid TOML: {message}", path, line, col) from None
    return _Checker(path, text).manifest(data)


class _Checker:
    def __init__(self, path: Path, text: str):
        self.path = path
        self.where = _Lines(text)

    def error(self, message: str, line: int = 0, col: int = 1) -> ManifestError:
        return ManifestError(message, self.path, line, col if line else 0)

    def manifest(self, data: dict) -> Manifest:
        unknown = set(data) - {"bundle", "track", "grid"}
        if unknown:
            name = sorted(unknown)[0]
            line, col = self.where.key(name, 0)
            if not line:
                line = self.where.table(f"[{name}]") or self.where.table(f"[[{name}]]")
            raise self.error(f"unknown section or key '{name}'; use [bundle], [[track]] and [grid]", line)
        bundle = data.get("bundle", {})
        if not isinstance(bundle, dict):
            raise self.error("'bundle' must be a table: [bundle]", self.where.key("bundle", 0)[0])
        bundle_line = self.where.table("[bundle]")
        self._known(bundle, _BUNDLE_KEYS, bundle_line, "[bundle]")
        defaults = {key: bundle[key] for key in ("language", "voice", "rate", "ambience", "minutes") if key in bundle}
        fmt = self._choice(bundle, "format", FORMATS, bundle_line, "mp3")
        transcript = self._choice(bundle, "transcript", (*TRANSCRIPTS, "none"), bundle_line, "vtt")
        bitrate = self._number(bundle, "bitrate", bundle_line, int, 32, 320) if "bitrate" in bundle else None
        loudness = (
            self._number(bundle, "loudness", bundle_line, float, LOUDNESS_LUFS.low, LOUDNESS_LUFS.high)
            if "loudness" in bundle
            else -16.0
        )
        title = self._text(bundle, "title", bundle_line, "voiceguide")
        author = self._text(bundle, "author", bundle_line, "")

        specs: list[tuple[dict, int]] = []
        tracks = data.get("track", [])
        if not isinstance(tracks, list):
            raise self.error("tracks are written as [[track]] tables", self.where.key("track", 0)[0])
        for index, entry in enumerate(tracks):
            line = self.where.table("[[track]]", index)
            if not isinstance(entry, dict):
                raise self.error("a track must be a table", line)
            self._known(entry, _TRACK_KEYS, line, "[[track]]")
            specs.append(({**defaults, **entry}, line))
        if "grid" in data:
            specs += self._grid(data["grid"], defaults)
        if not specs:
            raise self.error("the manifest lists no tracks; add [[track]] tables or a [grid]", 1)
        if len(specs) > MAX_TRACKS:
            raise self.error(f"the manifest expands to {len(specs)} tracks; the limit is {MAX_TRACKS}", 1)
        built = [self._track(number, spec, line, fmt) for number, (spec, line) in enumerate(specs, start=1)]
        seen: dict[str, Track] = {}
        for track in built:
            key = track.file.lower()
            if key in seen:
                raise self.error(
                    f"file name '{track.file}' is used by track {seen[key].number} too; give each track its own 'file'",
                    track.line,
                )
            seen[key] = track
        return Manifest(
            self.path, title, author, fmt, None if transcript == "none" else transcript, bitrate, loudness, tuple(built)
        )

    def _grid(self, grid: object, defaults: dict) -> list[tuple[dict, int]]:
        line = self.where.table("[grid]")
        if not isinstance(grid, dict):
            raise self.error("'grid' must be a table: [grid]", line)
        self._known(grid, _GRID_KEYS, line, "[grid]")
        sources = [("exercise", value) for value in self._list(grid, "exercises", line)] + [
            ("script", value) for value in self._list(grid, "scripts", line)
        ]
        if not sources:
            raise self.error("[grid] needs 'exercises' or 'scripts'", line)
        lengths = self._list(grid, "minutes", line) or [defaults.get("minutes")]
        voices = self._list(grid, "voices", line) or [defaults.get("voice")]
        languages = self._list(grid, "languages", line) or [defaults.get("language")]
        extra = {key: grid[key] for key in ("rate", "ambience") if key in grid}
        specs = []
        for kind, source in sources:
            for language in languages:
                for minutes in lengths:
                    for voice in voices:
                        spec = {**defaults, **extra, kind: source}
                        for key, value in (("language", language), ("minutes", minutes), ("voice", voice)):
                            if value is not None:
                                spec[key] = value
                        specs.append((spec, line))
        return specs

    def _track(self, number: int, spec: dict, line: int, fmt: str) -> Track:
        def at(key: str) -> tuple[int, int]:
            return self.where.key(key, line) if line else (0, 0)

        if ("exercise" in spec) == ("script" in spec):
            raise self.error("a track needs either 'exercise' (a built-in) or 'script' (a file), not both", line)
        language = spec.get("language")
        if language is not None and language not in LANGUAGES:
            raise self.error(f"language '{language}' is not supported; use one of: {', '.join(LANGUAGES)}", *at("language"))
        if "exercise" in spec:
            name = spec["exercise"]
            builtin = find_builtin(name, language) if isinstance(name, str) else None
            if builtin is None:
                raise self.error(f"unknown exercise '{name}'; use herinnering, veilige-plek or zelfkalmering", *at("exercise"))
            source, language = builtin.name, builtin.language
            default_title = load_script(builtin.name, builtin.language).meta.title
        else:
            relative = spec["script"]
            if not isinstance(relative, str) or not relative:
                raise self.error("'script' must be a file name", *at("script"))
            script_path = (self.path.parent / relative).resolve()
            if not script_path.is_file():
                raise self.error(f"script file '{relative}' not found next to the manifest", *at("script"))
            try:
                default_title = load_script(str(script_path)).meta.title
            except ScriptError as exc:
                raise self.error(f"script '{relative}' has an error: {exc}", *at("script")) from None
            source = str(script_path)
        minutes = spec.get("minutes")
        if minutes is not None and minutes not in MINUTES:
            raise self.error(MINUTES.problem("minutes", minutes), *at("minutes"))
        rate = spec.get("rate")
        if rate is not None and (rate not in RATE_WPM or not isinstance(rate, int)):
            raise self.error(RATE_WPM.problem("rate", rate), *at("rate"))
        voice = spec.get("voice")
        if voice is not None and (not isinstance(voice, str) or not VOICE_ID.fullmatch(voice)):
            raise self.error(f"voice must be 'auto' or an engine voice id such as gmw/nl+f3, not {voice!r}", *at("voice"))
        ambience = spec.get("ambience", "none")
        if ambience not in AMBIENCES:
            raise self.error(f"ambience must be one of {', '.join(AMBIENCES)}, not {ambience!r}", *at("ambience"))
        title = spec.get("title")
        if title is None:
            title = (
                default_title
                + (f" ({_minutes_text(minutes)})" if minutes else "")
                + (f" [{voice}]" if voice not in (None, "auto") else "")
            )
        elif not isinstance(title, str) or not title.strip():
            raise self.error("title must be a non-empty string", *at("title"))
        file = spec.get("file")
        if file is None:
            file = f"{number:02d}-{_slug(Path(source).stem if 'script' in spec else source)}-{language or 'nl'}" + (
                f"-{_minutes_text(minutes).replace(' ', '')}" if minutes else ""
            )
            file += (f"-{_slug(voice)}" if voice not in (None, "auto") else "") + f".{fmt}"
        elif not isinstance(file, str) or not re.fullmatch(r"[\w.\- ]{1,120}", file) or file.startswith("."):
            raise self.error("file must be a plain file name (letters, digits, '-', '_', '.', spaces; no folders)", *at("file"))
        elif not file.lower().endswith("." + fmt):
            raise self.error(f"file '{file}' must end in .{fmt} (the bundle's format)", *at("file"))
        return Track(
            number, source, title.strip(), file, language, float(minutes) if minutes else None, voice, rate, ambience, line
        )

    def _known(self, table: dict, keys: set[str], line: int, name: str) -> None:
        for key in table:
            if key not in keys:
                where, col = self.where.key(key, line)
                raise self.error(f"unknown key '{key}' in {name}; known keys: {', '.join(sorted(keys))}", where, col)

    def _choice(self, table: dict, key: str, options: tuple[str, ...], line: int, default: str) -> str:
        value = table.get(key, default)
        if value not in options:
            raise self.error(f"{key} must be one of {', '.join(options)}, not {value!r}", *self.where.key(key, line))
        return value

    def _number(self, table: dict, key: str, line: int, kind: type, low: float, high: float):
        value = table[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (kind is int and not isinstance(value, int))
            or not low <= value <= high
        ):
            raise self.error(
                f"{key} must be a {'whole ' if kind is int else ''}number from {low:g} to {high:g}, not {value!r}",
                *self.where.key(key, line),
            )
        return kind(value)

    def _text(self, table: dict, key: str, line: int, default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            raise self.error(f"{key} must be a string", *self.where.key(key, line))
        return value

    def _list(self, table: dict, key: str, line: int) -> list:
        value = table.get(key, [])
        if not isinstance(value, list):
            raise self.error(f"{key} must be a list, e.g. {key} = [...]", *self.where.key(key, line))
        return value


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "track"


def _minutes_text(minutes: float) -> str:
    return f"{minutes:g} min"


# --- rendering -----------------------------------------------------------------


def track_fingerprint(manifest: Manifest, track: Track) -> str:
    """What a track's audio depends on: its settings, the bundle's export
    settings, the script text, its clips and the voiceguide version."""
    from ..sinks.tags import _version

    script = load_script(track.source, track.language)
    clips = sorted({str(item.path) for item in script.items if isinstance(item, Clip)})
    clip_digests = [hashlib.sha256(Path(clip).read_bytes()).hexdigest() for clip in clips]
    text = script.source if not Path(track.source).is_file() else Path(track.source).read_text(encoding="utf-8")
    identity = {
        "track": {**asdict(track), "number": 0, "line": 0},
        "bundle": [
            manifest.title,
            manifest.author,
            manifest.format,
            manifest.transcript,
            manifest.bitrate_kbps,
            manifest.loudness_lufs,
        ],
        "script": hashlib.sha256(str((text, script.items, script.meta)).encode()).hexdigest(),
        "clips": clip_digests,
        "version": _version(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def render_track(manifest: Manifest, track: Track, folder: Path) -> TrackResult:
    """Render one track into ``folder`` (runs in a worker process)."""
    from ..mix import MixSettings
    from ..session import VoiceOptions, prepare_session
    from ..sinks.export import export_session, preferred_sample_rate

    script = load_script(track.source, track.language)
    script = replace(script, meta=replace(script.meta, title=track.title, author=script.meta.author or manifest.author))
    session = prepare_session(
        script,
        voice=VoiceOptions(voice=track.voice, rate=track.rate),
        mix=MixSettings(sample_rate=preferred_sample_rate(track.file), ambience=track.ambience),
        target_s=track.minutes * 60 if track.minutes else None,
    )
    result = export_session(
        session,
        folder / track.file,
        force=True,
        album=manifest.title,
        track=track.number,
        transcript=manifest.transcript,
        loudness_lufs=manifest.loudness_lufs,
        **({"bitrate_kbps": manifest.bitrate_kbps} if manifest.bitrate_kbps else {}),
    )
    return TrackResult(track, True, result.duration_s, manifest.transcript)


def _render_in_worker(manifest: Manifest, track: Track, folder: Path) -> TrackResult:
    try:
        return render_track(manifest, track, folder)
    except VoiceguideError as exc:
        raise VoiceguideError(f"{manifest.path}:{track.line}: track {track.number} ({track.file}): {exc}") from None


def render_bundle(
    manifest: Manifest,
    folder: str | Path,
    *,
    jobs: int | None = None,
    make_zip: bool = False,
    progress: Callable[[int, int, TrackResult], None] | None = None,
) -> BundleResult:
    """Render every track that changed, then write the playlist and page.

    ``jobs`` defaults to the number of cores. Raises VoiceguideError naming
    the manifest line of the first track that failed (the others finish).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VoiceguideError(f"{folder}: cannot create the bundle folder ({exc.strerror})") from None
    state = _read_state(folder)
    fingerprints = {track.file: track_fingerprint(manifest, track) for track in manifest.tracks}
    outcome = BundleResult(folder)
    todo = []
    for track in manifest.tracks:
        if state.get(track.file, {}).get("fingerprint") == fingerprints[track.file] and (folder / track.file).is_file():
            outcome.results.append(TrackResult(track, False, state[track.file]["duration_s"], manifest.transcript))
        else:
            todo.append(track)
    done = 0
    for result in outcome.results:
        done += 1
        if progress:
            progress(done, len(manifest.tracks), result)
    failures: list[str] = []
    workers = max(1, min(jobs or os.cpu_count() or 1, len(todo) or 1))
    if todo:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_render_in_worker, manifest, track, folder): track for track in todo}
            for future in as_completed(futures):
                try:
                    result = future.result()
                except VoiceguideError as exc:
                    failures.append(str(exc))
                    continue
                outcome.results.append(result)
                state[result.track.file] = {"fingerprint": fingerprints[result.track.file], "duration_s": result.duration_s}
                _write_state(folder, state)
                done += 1
                if progress:
                    progress(done, len(manifest.tracks), result)
    if failures:
        raise VoiceguideError(failures[0] + (f" (and {len(failures) - 1} more failed)" if len(failures) > 1 else ""))
    outcome.results.sort(key=lambda r: r.track.number)
    outcome.playlist = _write_text(folder / "playlist.m3u8", playlist_text(manifest, outcome.results))
    outcome.index = _write_text(folder / "index.html", index_html(manifest, outcome.results, folder))
    if make_zip:
        outcome.archive = zip_bundle(folder, manifest, outcome.results)
    return outcome


def _read_state(folder: Path) -> dict:
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        return state if isinstance(state, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_state(folder: Path, state: dict) -> None:
    _write_text(folder / STATE_FILE, json.dumps(state, indent=1, sort_keys=True))


def _write_text(path: Path, text: str) -> Path:
    return write_atomically(path, text.encode("utf-8"))


def transcript_file(track: Track, transcript: str) -> str:
    return str(Path(track.file).with_suffix(f".{transcript}"))


# --- playlist, page, zip -----------------------------------------------------------


def playlist_text(manifest: Manifest, results: Iterable[TrackResult]) -> str:
    lines = ["#EXTM3U", f"#PLAYLIST:{manifest.title}"]
    for result in results:
        lines.append(
            f"#EXTINF:{round(result.duration_s)},{manifest.author + ' - ' if manifest.author else ''}{result.track.title}"
        )
        lines.append(result.track.file)
    return "\n".join(lines) + "\n"


_MIME = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "opus": "audio/ogg; codecs=opus"}


def index_html(manifest: Manifest, results: list[TrackResult], folder: Path) -> str:
    """A static, accessible page: no scripts, fonts or files from elsewhere."""
    from urllib.parse import quote

    language = next((r.track.language for r in results if r.track.language), "nl")
    items = []
    for result in results:
        track = result.track
        heading = f"track-{track.number}"
        transcript_html = ""
        if manifest.transcript:
            name = transcript_file(track, manifest.transcript)
            text = _transcript_lines(folder / name)
            transcript_html = (
                f"\n      <details><summary>Transcript</summary>\n        <p>{'<br>'.join(html.escape(line) for line in text)}</p>\n"
                f'        <p><a href="{quote(name)}" download>Download the transcript ({manifest.transcript.upper()})</a></p>\n      </details>'
            )
        lang = f' lang="{track.language}"' if track.language and track.language != language else ""
        items.append(
            f'    <li aria-labelledby="{heading}"{lang}>\n'
            f'      <h2 id="{heading}">{track.number}. {html.escape(track.title)}</h2>\n'
            f'      <p class="length">Length: <time datetime="PT{round(result.duration_s)}S">{format_clock(result.duration_s)}</time></p>\n'
            f'      <audio controls preload="metadata" aria-labelledby="{heading}">\n'
            f'        <source src="{quote(track.file)}" type="{_MIME[manifest.format]}">\n'
            f'        <a href="{quote(track.file)}">Download {html.escape(track.file)}</a>\n'
            f"      </audio>{transcript_html}\n"
            f"    </li>"
        )
    title = html.escape(manifest.title)
    author = f"\n    <p>{html.escape(manifest.author)}</p>" if manifest.author else ""
    return f"""<!DOCTYPE html>
<html lang="{language}">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" href="data:,">
  <style>
    body {{ font: 1.1rem/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 40rem; padding: 1rem; color: #1d2a2a; background: #f7f5f0; }}
    h1 {{ font-size: 1.6rem; }} h2 {{ font-size: 1.2rem; margin-bottom: .25rem; }}
    ol {{ list-style: none; padding: 0; }} li {{ margin: 0 0 1.5rem; padding: 1rem; background: #fff; border-radius: .5rem; }}
    audio {{ width: 100%; }} a {{ color: #1f5f5b; }} summary {{ cursor: pointer; padding: .25rem 0; }}
    :focus-visible {{ outline: 3px solid #1f5f5b; outline-offset: 2px; }}
  </style>
</head>
<body>
  <main>
    <h1>{title}</h1>{author}
    <p><a href="playlist.m3u8">Playlist (M3U8)</a></p>
    <ol>
{chr(10).join(items)}
    </ol>
  </main>
</body>
</html>
"""


def _transcript_lines(path: Path) -> list[str]:
    """The spoken text of a transcript file, without timestamps or markup."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    lines = []
    for line in text.splitlines():
        line = re.sub(r"^\[\d+:\d+(\.\d+)?\]", "", line).strip()
        if (
            not line
            or line == "WEBVTT"
            or line.isdigit()
            or "-->" in line
            or re.match(r"^\[(ti|ar|al|length|by|re|ve):", line)
            or line.startswith(("NOTE", "Kind:", "Language:"))
        ):
            continue
        lines.append(line)
    return lines


def zip_bundle(folder: Path, manifest: Manifest, results: list[TrackResult]) -> Path:
    archive = folder.with_suffix(".zip")
    names = [r.track.file for r in results]
    if manifest.transcript:
        names += [transcript_file(r.track, manifest.transcript) for r in results]
    names += ["playlist.m3u8", "index.html"]
    with AtomicFile(archive, replace=True) as out:
        assert out.file is not None
        with zipfile.ZipFile(out.file, "w", compression=zipfile.ZIP_STORED) as bundle:
            for name in names:
                if (folder / name).is_file():
                    bundle.write(folder / name, f"{folder.name}/{name}")
        out.commit()
    return archive
