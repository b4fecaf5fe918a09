"""Planning and rendering a bundle's tracks, in parallel and resumable.

1. **plan** (:func:`plan_tracks`): every track is prepared as it will be
   rendered (real speech lengths, clips, ``[at]`` times, its length), so
   ``batch --check`` passes only what renders. Every problem is reported
   at once, at the manifest line it comes from.
2. **render** (:func:`render_bundle`): each track that changed is rendered in
   a process pool (one process per core; each has its own speech engine,
   they share the phrase cache). A track that fails does not stop the
   others; the playlist and page list what exists, and the result names
   what failed and why.
3. **resume**: a state file records, per track, a fingerprint of what its
   audio depends on and the size and SHA-256 of every file written. A
   rerun keeps a track only when its fingerprint is unchanged and its files
   are still as written; everything else is rendered again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from ..atomic import write_atomically
from ..errors import ScriptError, VoiceguideError
from ..exercises import load_script
from ..i18n import _
from ..script import Clip
from .manifest import Manifest, ManifestError, Track
from .page import transcript_file, write_page

log = logging.getLogger(__name__)

STATE_FILE = ".voiceguide-batch.json"
STATE_VERSION = 2
"""Bumped when what the state records changes: older state is not trusted."""


@dataclass(frozen=True)
class TrackResult:
    """A track of the bundle as it stands after a run."""

    track: Track
    rendered: bool
    """False when an unchanged earlier render was kept."""
    duration_s: float
    transcript: str | None
    """The transcript's format, if one was written."""
    lines: tuple[str, ...] = ()
    """What is said, cue by cue (for the page)."""


@dataclass(frozen=True)
class TrackFailure:
    """A track that could not be rendered, and why (one line)."""

    track: Track
    reason: str
    manifest: Path

    def __str__(self) -> str:
        return f"{_track_name(self.manifest, self.track)} failed: {self.reason}"


@dataclass
class BundleResult:
    folder: Path
    results: list[TrackResult] = field(default_factory=list)
    failures: list[TrackFailure] = field(default_factory=list)
    playlist: Path | None = None
    index: Path | None = None
    archive: Path | None = None


# --- one track ----------------------------------------------------------------------


def _prepare(manifest: Manifest, track: Track):
    """The track's session, planned and ready to render."""
    from ..mix import MixSettings
    from ..session import VoiceOptions, prepare_session
    from ..sinks.export import preferred_sample_rate

    script = load_script(track.source, track.language)
    script = replace(script, meta=replace(script.meta, title=track.title, author=track.artist))
    return prepare_session(
        script,
        voice=VoiceOptions(voice=track.voice, rate=track.rate, voice_pack=Path(track.voice_pack) if track.voice_pack else None),
        mix=MixSettings(sample_rate=preferred_sample_rate(track.file), ambience=track.ambience),
        target_s=track.minutes * 60 if track.minutes else None,
    )


def plan_track(manifest: Manifest, track: Track) -> float:
    """Prepare one track as it will render; its length in seconds (runs in a worker)."""
    return _prepare(manifest, track).duration_s


def render_track(manifest: Manifest, track: Track, folder: Path) -> TrackResult:
    """Render one track into ``folder`` (runs in a worker process)."""
    from ..sinks.export import export_session
    from ..sinks.transcript import transcript_cues

    session = _prepare(manifest, track)
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
    lines = tuple(cue.text for cue in transcript_cues(session.timeline))
    return TrackResult(track, True, result.duration_s, manifest.transcript, lines)


@dataclass(frozen=True)
class _Outcome:
    """What a worker hands back: a value, or why there is none. Script errors
    travel as plain (message, source, line, col) so they keep their places."""

    value: object = None
    reason: str | None = None
    script_errors: tuple[tuple[str, str, int, int], ...] = ()


def _in_worker(work: Callable, *args) -> _Outcome:
    """Run ``work``: nothing a track does may end the bundle or print a traceback."""
    try:
        return _Outcome(work(*args))
    except ScriptError as exc:
        return _Outcome(reason=str(exc), script_errors=tuple((e.message, e.source, e.line, e.col) for e in exc.errors))
    except VoiceguideError as exc:
        return _Outcome(reason=" ".join(str(exc).split("\n")))
    except OSError as exc:
        return _Outcome(reason=f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
    except Exception as exc:  # a bug: still only this track fails
        log.debug("track failed", exc_info=True)
        return _Outcome(reason=f"unexpected {type(exc).__name__}: {exc}")


def _pool(count: int, jobs: int | None) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=max(1, min(jobs or os.cpu_count() or 1, count or 1)))


# --- planning -------------------------------------------------------------------------


def plan_tracks(manifest: Manifest, tracks: Iterable[Track] | None = None, *, jobs: int | None = None) -> dict[str, float]:
    """Plan ``tracks`` (default: all) as they will render; their lengths by file name.

    Raises
    ------
    ManifestError
        Every track that cannot be made (its length out of reach, a passed
        ``[at]``, a clip that cannot be read), at the manifest line its
        length or script is given, in file order.
    VoiceguideError
        When the speech engine failed (one line per track).
    """
    todo = list(manifest.tracks if tracks is None else tracks)
    lengths: dict[str, float] = {}
    problems: list[ManifestError] = []
    failures: list[str] = []
    if not todo:
        return lengths
    with _pool(len(todo), jobs) as pool:
        futures = {pool.submit(_in_worker, plan_track, manifest, track): track for track in todo}
        for future in as_completed(futures):
            track, outcome = futures[future], future.result()
            if outcome.reason is None:
                lengths[track.file] = outcome.value  # type: ignore[assignment]
            elif outcome.script_errors:
                problems += _located(manifest, track, outcome.script_errors)
            else:
                failures.append(f"{_track_name(manifest.path, track)}: {outcome.reason}")
    if problems:
        raise ManifestError.several(problems)
    if failures:
        raise VoiceguideError("\n".join(sorted(failures)))
    return lengths


def _located(manifest: Manifest, track: Track, errors: Iterable[tuple[str, str, int, int]]) -> list[ManifestError]:
    """A track's planning errors at the manifest place they come from: its
    length for a length out of reach, else its exercise or script."""
    located = []
    for message, source, line, col in errors:
        place = track.length_at if track.minutes is not None and not line else track.source_at
        # a script's own line:col is kept; a built-in's name adds nothing to the track's
        detail = f"{source}:{line}:{col}: {message}" if line else message
        located.append(
            ManifestError(
                _("track {number} ({file}): {detail}").format(number=track.number, file=track.file, detail=detail),
                manifest.path,
                *place,
            )
        )
    return located


def _track_name(manifest: Path, track: Track) -> str:
    """``groep.toml:12:1: track 3 (03-kort-nl.mp3)``"""
    where = f"{manifest}:{track.line}:{track.col}" if track.line else str(manifest)
    return f"{where}: track {track.number} ({track.file})"


# --- rendering ------------------------------------------------------------------------


def track_fingerprint(manifest: Manifest, track: Track) -> str:
    """What a track's audio depends on: its settings, the bundle's export
    settings, the script text, its clips, its voice pack's recordings and
    the voiceguide version."""
    from ..sinks.tags import _version

    script = load_script(track.source, track.language)
    clips = sorted({str(item.path) for item in script.items if isinstance(item, Clip)})
    clip_digests = [hashlib.sha256(Path(clip).read_bytes()).hexdigest() for clip in clips]
    places = ("line", "col", "source_at", "length_at", "voice_at")
    identity = {
        "track": {key: value for key, value in asdict(track).items() if key not in places},
        "bundle": [manifest.title, manifest.format, manifest.transcript, manifest.bitrate_kbps, manifest.loudness_lufs],
        "script": hashlib.sha256(str((script.items, script.meta)).encode()).hexdigest(),
        "clips": clip_digests,
        "voice_pack": _pack_identity(track.voice_pack),
        "version": _version(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def _pack_identity(folder: str | None) -> str | None:
    """The voice pack's identity (changes with any recording), None without one."""
    if folder is None:
        return None
    from ..speech.pack import VoicePack

    return VoicePack.open(folder).identity


def render_bundle(
    manifest: Manifest,
    folder: str | Path,
    *,
    jobs: int | None = None,
    make_zip: bool = False,
    progress: Callable[[int, int, TrackResult | TrackFailure], None] | None = None,
) -> BundleResult:
    """Render every track that is missing or changed, then write the
    playlist and page for every track that exists (and the zip).

    Tracks to render are planned first (see :func:`plan_tracks`), so a
    manifest problem stops the run before anything is written. A track that
    fails while rendering does not: the others are rendered, and
    ``failures`` says which failed and why.
    """
    folder = Path(folder)
    state = _read_state(folder)
    fingerprints = {track.file: track_fingerprint(manifest, track) for track in manifest.tracks}
    outcome = BundleResult(folder)
    todo = []
    for track in manifest.tracks:
        kept = _kept(folder, manifest, track, state.get(track.file), fingerprints[track.file])
        if kept is None:
            todo.append(track)
        else:
            outcome.results.append(kept)
    plan_tracks(manifest, todo, jobs=jobs)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VoiceguideError(
            _("{folder}: cannot create the bundle folder ({strerror})").format(folder=folder, strerror=exc.strerror)
        ) from None
    done = 0
    for result in outcome.results:
        done += 1
        if progress:
            progress(done, len(manifest.tracks), result)
    if todo:
        with _pool(len(todo), jobs) as pool:
            futures = {pool.submit(_in_worker, render_track, manifest, track, folder): track for track in todo}
            for future in as_completed(futures):
                track, rendered = futures[future], future.result()
                if rendered.reason is None:
                    outcome.results.append(rendered.value)  # type: ignore[arg-type]
                    state[track.file] = _record(folder, manifest, rendered.value, fingerprints[track.file])  # type: ignore[arg-type]
                    _write_state(folder, state)
                else:
                    outcome.failures.append(TrackFailure(track, rendered.reason, manifest.path))
                done += 1
                if progress:
                    progress(done, len(manifest.tracks), outcome.results[-1] if rendered.reason is None else outcome.failures[-1])
    outcome.results.sort(key=lambda r: r.track.number)
    outcome.failures.sort(key=lambda f: f.track.number)
    outcome.playlist, outcome.index, outcome.archive = write_page(manifest, outcome.results, folder, make_zip=make_zip)
    return outcome


def _outputs(manifest: Manifest, track: Track) -> list[str]:
    return [track.file] + ([transcript_file(track, manifest.transcript)] if manifest.transcript else [])


def _digest(path: Path) -> dict | None:
    """Size and SHA-256 of a file, None when it is missing or unreadable."""
    try:
        hasher = hashlib.sha256()
        with path.open("rb") as file:
            while chunk := file.read(1 << 20):
                hasher.update(chunk)
        return {"size": path.stat().st_size, "sha256": hasher.hexdigest()}
    except OSError:
        return None


def _record(folder: Path, manifest: Manifest, result: TrackResult, fingerprint: str) -> dict:
    files = {name: _digest(folder / name) for name in _outputs(manifest, result.track)}
    return {"fingerprint": fingerprint, "duration_s": result.duration_s, "lines": list(result.lines), "files": files}


def _kept(folder: Path, manifest: Manifest, track: Track, entry: object, fingerprint: str) -> TrackResult | None:
    """The earlier render of ``track``, if its inputs are unchanged and every
    file it wrote is still there as written (not emptied, cut short or edited)."""
    if not isinstance(entry, dict) or entry.get("fingerprint") != fingerprint:
        return None
    files = entry.get("files")
    if not isinstance(files, dict) or set(files) != set(_outputs(manifest, track)):
        return None
    if any(record is None or _digest(folder / name) != record for name, record in files.items()):
        return None
    lines = entry.get("lines")
    duration = entry.get("duration_s")
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines) or not isinstance(duration, int | float):
        return None
    return TrackResult(track, False, float(duration), manifest.transcript, tuple(lines))


def _read_state(folder: Path) -> dict:
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION or not isinstance(state.get("tracks"), dict):
        return {}
    return state["tracks"]


def _write_state(folder: Path, tracks: dict) -> None:
    text = json.dumps({"version": STATE_VERSION, "tracks": tracks}, indent=1, sort_keys=True)
    write_atomically(folder / STATE_FILE, text.encode("utf-8"))
