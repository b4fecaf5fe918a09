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

import ctypes
import hashlib
import json
import logging
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, ProcessPoolExecutor, as_completed, wait
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .. import rules
from ..atomic import pid_alive, write_atomically
from ..errors import ScriptError, UsageError, VoiceguideError, os_reason
from ..i18n import N_, _, ngettext
from ..inputs import read_limited
from ..mix.mixer import MixSettings
from ..parse.script import Clip
from ..rules import MAX_STATE_BYTES
from ..session import VoiceOptions, prepare_session
from ..sinks.export import export_session, preferred_sample_rate
from ..sinks.normalise import mix_profiles
from ..sinks.tags import _version
from ..sinks.transcript import transcript_cues
from ..speech.cache import BlobCache
from ..speech.choice import choose_voice
from ..speech.pack import VoicePack
from .feed import FeedResult, feed_outputs, feed_written_names, write_feed
from .manifest import Manifest, ManifestError, Track, track_script
from .marks import marks_from_json, marks_to_json, track_marks
from .page import INDEX, PLAYLIST, TrackResult, check_zip_target, transcript_file, write_page

log = logging.getLogger(__name__)

STATE_FILE = ".voiceguide-batch.json"
STATE_VERSION = 2
"""Bumped when what the state records changes: older state is not trusted."""


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
    feed: FeedResult | None = None
    voice_changes: list[VoiceChange] = field(default_factory=list)
    """Tracks rendered before with another voice than this machine's (rendered again)."""


@dataclass(frozen=True)
class VoiceChange:
    """A track whose earlier render was spoken by another voice than it would be now
    (another machine, a natural voice installed or removed)."""

    track: Track
    before: str
    now: str


# --- one track ----------------------------------------------------------------------


def _prepare(manifest: Manifest, track: Track):
    """The track's session, planned and ready to render."""
    script = track_script(track.source, track.language)
    script = replace(script, meta=replace(script.meta, title=track.title, author=track.artist))
    return prepare_session(
        script,
        voice=VoiceOptions(voice=track.voice, rate=track.rate, voice_pack=Path(track.voice_pack) if track.voice_pack else None),
        mix=MixSettings(sample_rate=preferred_sample_rate(track.file), ambience=track.ambience),
        target_s=track.minutes * 60 if track.minutes else None,
    )


def plan_track(manifest: Manifest, track: Track, warm: bool = False) -> float:
    """Prepare one track as it will render; its length in seconds (runs in a
    worker). ``warm``: also level its phrases and measure its sounds'
    loudness into the cache, as its render would (see :func:`plan_tracks`)."""
    session = _prepare(manifest, track)
    if warm:
        mix_profiles(session.mixer, BlobCache("profiles"))
    return session.duration_s


def _speech_group(track: Track) -> tuple:
    """Tracks that speak the same phrases, levelled for the same mix rate
    (the same script, language, voice, rate and file format): the grid's
    lengths of one exercise."""
    return (track.source, track.language, track.voice, track.rate, track.voice_pack, preferred_sample_rate(track.file))


def render_track(manifest: Manifest, track: Track, folder: Path) -> TrackResult:
    """Render one track into ``folder`` (runs in a worker process)."""
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
    return TrackResult(
        track, True, result.duration_s, manifest.transcript, lines, session.voice.voice_id, marks=track_marks(session.timeline)
    )


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
        return _Outcome(reason=os_reason(exc) + (f": {exc.filename}" if exc.filename else ""))
    except Exception as exc:  # a bug: still only this track fails
        log.debug("track failed", exc_info=True)
        return _Outcome(reason=f"unexpected {type(exc).__name__}: {exc}")


def _result(future: Future) -> _Outcome:
    """A worker's outcome; when the worker itself died (killed, out of
    memory), that as the track's reason."""
    try:
        return future.result()
    except BrokenExecutor:
        return _Outcome(reason="its worker process died (killed, or out of memory)")


@contextmanager
def _pool(count: int, jobs: int | None) -> Iterator[ProcessPoolExecutor]:
    """Worker processes for ``count`` tracks that never outlive the batch.

    Leaving normally waits for the work; leaving by an exception (Ctrl-C,
    SIGTERM, an error) cancels what has not started and stops what runs at
    once: a track being written is discarded whole (its files are atomic),
    and tracks done so far are already recorded, so a rerun renders only
    the rest. A batch killed with SIGKILL takes its workers along (see
    :func:`_worker_start`).
    """
    pool = ProcessPoolExecutor(
        max_workers=max(1, min(jobs or os.cpu_count() or 1, count or 1)),
        initializer=_worker_start,
        initargs=(os.getpid(),),
    )
    try:
        yield pool
    except BaseException:
        _stop_workers(pool)
        raise
    pool.shutdown(wait=True)


PR_SET_PDEATHSIG = 1
WORKER_STOP_S = 5.0
"""How long a stopped worker gets to end on SIGTERM before SIGKILL."""


def _worker_start(parent_pid: int) -> None:
    """Set up a worker: it dies with the batch (Linux: the kernel sends it
    SIGKILL when the batch process ends, even by SIGKILL, where the pool's
    own pipes would leave it waiting forever), and it leaves Ctrl-C to the
    batch, which stops the workers itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the batch's handler (a fork inherits it): just end
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the batch ended before prctl took effect
        os._exit(1)
    if not sys.platform.startswith("linux"):  # no PR_SET_PDEATHSIG: watch for the batch to go
        threading.Thread(target=_exit_with, args=(parent_pid,), name="voiceguide-orphan-watch", daemon=True).start()


def _exit_with(parent_pid: int) -> None:
    """End this worker once its batch is gone (macOS reparents it; Windows
    keeps the old parent pid, whose process is then no longer there)."""
    while os.getppid() == parent_pid and pid_alive(parent_pid):
        time.sleep(1.0)
    os._exit(1)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Cancel the tracks not started and end the workers now (SIGTERM, then SIGKILL)."""
    workers = list((getattr(pool, "_processes", None) or {}).values())  # the pool has no public handle on them
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    for worker in workers:
        worker.join(WORKER_STOP_S)
        if worker.is_alive():
            worker.kill()
            worker.join()


# --- planning -------------------------------------------------------------------------


def plan_tracks(
    manifest: Manifest,
    tracks: Iterable[Track] | None = None,
    *,
    jobs: int | None = None,
    warm: bool = False,
    pool: ProcessPoolExecutor | None = None,
) -> dict[str, float]:
    """Plan ``tracks`` (default: all) as they will render; their lengths by file name.

    Tracks that speak the same phrases (:func:`_speech_group`) are planned
    one after another, the first alone: it speaks them into the cache (and,
    ``warm``, levels and measures them), the others then find them there.
    Planned side by side, two workers would each speak and level the same
    phrases. Different groups run side by side in ``pool`` (else a pool of
    ``jobs`` workers).

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
    groups: dict[tuple, list[Track]] = {}
    for track in todo:
        groups.setdefault(_speech_group(track), []).append(track)
    with _pool(len(todo), jobs) if pool is None else nullcontext(pool) as workers:  # the caller's pool stays open
        running = {
            workers.submit(_in_worker, plan_track, manifest, first, warm): (key, first) for key, (first, *_) in groups.items()
        }
        while running:
            finished, _pending = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                key, track = running.pop(future)
                outcome = _result(future)
                if outcome.reason is None:
                    lengths[track.file] = outcome.value  # type: ignore[assignment]
                elif outcome.script_errors:
                    problems += _located(manifest, track, outcome.script_errors)
                else:
                    failures.append(f"{_track_name(manifest.path, track)}: {outcome.reason}")
                for other in groups.pop(key, [])[1:]:  # the group's phrases are in the cache now
                    running[workers.submit(_in_worker, plan_track, manifest, other)] = (None, other)
    if problems:
        raise ManifestError.several(sorted(problems, key=lambda problem: (problem.line, problem.col)))
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
    script = track_script(track.source, track.language)
    clips = sorted({str(item.path) for item in script.items if isinstance(item, Clip)})
    clip_digests = [_file_sha256(Path(clip)) for clip in clips]
    places = ("line", "col", "source_at", "length_at", "voice_at")
    identity = {
        "track": {key: value for key, value in asdict(track).items() if key not in places},
        "bundle": [manifest.title, manifest.format, manifest.transcript, manifest.bitrate_kbps, manifest.loudness_lufs],
        "script": hashlib.sha256(str((script.items, script.meta)).encode()).hexdigest(),
        "clips": clip_digests,
        "voice_pack": _pack_identity(track.voice_pack),
        "voice": track_voice(track, script),
        "version": _version(),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()


def track_voice(track: Track, script=None) -> str:
    """The voice a track asks for as this machine settles it: ``auto`` becomes
    an installed natural voice where there is one (see :mod:`voiceguide.speech.choice`)."""
    script = script or track_script(track.source, track.language)
    chosen = choose_voice(track.voice, None, script.meta.voice, script.meta.language)
    return chosen.voice or script.meta.voice


def _pack_identity(folder: str | None) -> str | None:
    """The voice pack's identity (changes with any recording), None without one."""
    if folder is None:
        return None
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
    if make_zip:
        check_zip_target(folder)  # before any work: an unrelated file of that name is never replaced
    check_bundle_folder(folder, manifest)
    state = _read_state(folder)
    fingerprints = {track.file: track_fingerprint(manifest, track) for track in manifest.tracks}
    outcome = BundleResult(folder)
    todo = []
    for track in manifest.tracks:
        if change := _voice_change(track, state.get(track.file)):
            outcome.voice_changes.append(change)
        kept = _kept(folder, manifest, track, state.get(track.file), fingerprints[track.file])
        if kept is None:
            todo.append(track)
        else:
            outcome.results.append(kept)
    with _pool(len(todo), jobs) as pool:  # one set of workers plans and renders: each starts its speech server once
        plan_tracks(manifest, todo, warm=True, pool=pool)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VoiceguideError(
                _("{folder}: cannot create the bundle folder ({strerror})").format(folder=folder, strerror=os_reason(exc))
            ) from None
        if todo:  # the files about to be written are this bundle's, even if a stop comes before they are recorded
            for track in todo:
                state[track.file] = {"files": _outputs(manifest, track)}
            _write_state(folder, state)
        done = 0
        for result in outcome.results:
            done += 1
            if progress:
                progress(done, len(manifest.tracks), result)
        futures = {pool.submit(_in_worker, render_track, manifest, track, folder): track for track in todo}
        for future in as_completed(futures):
            track, rendered = futures[future], _result(future)
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
    if manifest.feed_url:  # before the page: the zip takes the feed along
        outcome.feed = write_feed(manifest, outcome.results, folder)
    outcome.playlist, outcome.index, outcome.archive = write_page(
        manifest, outcome.results, folder, make_zip=make_zip, extra=feed_outputs(manifest)
    )
    return outcome


def check_bundle_folder(folder: Path, manifest: Manifest) -> None:
    """Before any work: the bundle replaces no file it did not write.

    A manifest names its tracks' files: pointed at a folder of one's own
    (``-o ~/Music``), ``file = "favourite.mp3"`` would replace a file
    voiceguide never wrote. So a track, transcript, playlist or page may
    replace only a file an earlier run of a bundle recorded in this folder's
    state file (any version of it), and a feed's files (feed, cover,
    chapters) only one the feed's state file records. Folders where a file
    goes are left to the export, which names them.

    Raises UsageError naming the first few such files.
    """
    written = _written_names(folder)
    shared = [PLAYLIST, INDEX]
    names = [name for track in manifest.tracks for name in _outputs(manifest, track)] + shared
    names += feed_outputs(manifest)
    fed = feed_written_names(folder) if manifest.feed_url else set()
    foreign = []
    for name in names:
        try:
            info = os.lstat(folder / name)
        except OSError:
            continue  # not there (or not reachable: writing it will say why)
        if stat.S_ISDIR(info.st_mode) or (written is not None and (name in written or name in shared)) or name in fed:
            continue
        foreign.append(name)
    if foreign:
        shown = ", ".join(foreign[:3]) + (_(" and {count} more").format(count=len(foreign) - 3) if len(foreign) > 3 else "")
        raise UsageError(
            ngettext(
                "{folder} holds {shown}, which no bundle wrote there; move it away or pass another folder",
                "{folder} holds {shown}, which no bundle wrote there; move them away or pass another folder",
                len(foreign),
            ).format(folder=folder, shown=shown)
        )


def _written_names(folder: Path) -> set[str] | None:
    """The file names the folder's state file says a bundle wrote (or was
    writing); None when the folder has no state file it can read."""
    try:
        state = json.loads(read_limited(folder / STATE_FILE, MAX_STATE_BYTES, N_("state file")).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    tracks = state.get("tracks") if isinstance(state, dict) else None
    if not isinstance(tracks, dict):
        return None
    names: set[str] = set()
    for entry in tracks.values():
        files = entry.get("files") if isinstance(entry, dict) else None
        if isinstance(files, dict | list):
            names.update(name for name in files if isinstance(name, str))
    return names


def _outputs(manifest: Manifest, track: Track) -> list[str]:
    return [track.file] + ([transcript_file(track, manifest.transcript)] if manifest.transcript else [])


def _file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in blocks (a clip may be large)."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


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
    return {
        "fingerprint": fingerprint,
        "duration_s": result.duration_s,
        "lines": list(result.lines),
        "files": files,
        "voice": result.voice,
        "marks": marks_to_json(result.marks),
    }


def _voice_change(track: Track, entry: object) -> VoiceChange | None:
    """The recorded voice of an earlier render, when it differs from the voice the track would speak with now."""
    before = entry.get("voice") if isinstance(entry, dict) else None
    if not isinstance(before, str) or not before or rules.unsafe_character(before) is not None:
        return None
    now = track_voice(track)
    if before == now or (now == "auto" and not before.startswith("piper:")):
        return None  # auto on espeak-ng settles to an engine voice: only a natural voice is worth pointing out
    return VoiceChange(track, before, now)


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
    if not isinstance(lines, list) or not all(isinstance(line, str) and rules.unsafe_character(line) is None for line in lines):
        return None
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not 0 <= duration <= rules.MAX_SESSION_LIMIT_S:
        return None  # JSON allows NaN and Infinity
    marks = marks_from_json(entry.get("marks"))
    if marks is None:  # recorded before the page breathed, or damaged: render again
        return None
    voice = entry.get("voice") if isinstance(entry.get("voice"), str) else ""
    return TrackResult(track, False, float(duration), manifest.transcript, tuple(lines), voice, marks=marks)


def _read_state(folder: Path) -> dict:
    try:
        state = json.loads(read_limited(folder / STATE_FILE, MAX_STATE_BYTES, N_("state file")).decode("utf-8"))
    except (OSError, ValueError, RecursionError):  # missing, damaged or not ours: render again
        return {}
    if not isinstance(state, dict) or state.get("version") != STATE_VERSION or not isinstance(state.get("tracks"), dict):
        return {}
    return state["tracks"]


def _write_state(folder: Path, tracks: dict) -> None:
    text = json.dumps({"version": STATE_VERSION, "tracks": tracks}, indent=1, sort_keys=True)
    write_atomically(folder / STATE_FILE, text.encode("utf-8"))
