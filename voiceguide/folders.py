"""Every folder of the user's that voiceguide reads or writes: the cache,
the data folder (practice log, Piper voices) and the config folder
(respellings). Each can be moved with an environment variable; the
platform's user folders (platformdirs) are the defaults.

Part of the bottom layer: imports nothing else of voiceguide.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def translate(message: str) -> str:
    """``message`` in the interface language: :mod:`voiceguide.i18n` puts
    its translation here when it is loaded (this module imports none of
    voiceguide). The messages are in the catalog through speech/cache.py."""
    return message


def cache_root() -> Path:
    """voiceguide's cache folder: ``$VOICEGUIDE_CACHE_DIR``, else the
    platform's user cache folder (``~/.cache/voiceguide`` on Linux).
    Everything voiceguide caches lives inside it."""
    override = os.environ.get("VOICEGUIDE_CACHE_DIR")
    key = override or tuple(map(os.environ.get, _ROOT_ENVIRONMENT))
    root = _ROOTS.get(key)
    if root is None:
        root = _ROOTS[key] = _find_cache_root(override)
    return root


_ROOT_ENVIRONMENT = ("XDG_CACHE_HOME", "HOME", "LOCALAPPDATA")
"""What platformdirs' user cache folder follows."""
_ROOTS: dict[str | tuple[str | None, ...], Path] = {}
"""The cache folder for each state of :data:`_ROOT_ENVIRONMENT`: every
cache access asks (a ``Path`` made each time was a third of the access check)."""


def _find_cache_root(override: str | None) -> Path:
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("voiceguide"))


CACHE_TAG = "CACHEDIR.TAG"
CACHE_TAG_TEXT = (
    b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This file is a cache directory tag created by voiceguide.\n"
    b"# For information about cache directory tags see https://bford.info/cachedir/\n"
)
"""Written into a cache folder voiceguide makes (the Cache Directory Tagging
convention: backup tools skip the folder)."""


def _write_tag(path: Path) -> None:
    """Write the cache tag into a folder just made (never over a file)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except OSError:
        return  # there already, or not writable: the cache works without it
    try:
        os.write(fd, CACHE_TAG_TEXT)
    finally:
        os.close(fd)


def private_folder(folder: Path) -> Path:
    """Create ``folder`` inside the cache folder, every level of it readable
    by the user only (the cache root's own parents are left as they are).

    Raises OSError when it cannot be made, :class:`UntrustedCacheError`
    (an OSError) when it exists but is not the user's own (see :func:`cache_problem`).
    """
    if _still_trusted(folder, cache_root()):  # made and checked before, in this process: one stat
        return folder
    root = cache_root()
    levels = (
        [root, *(root / Path(*folder.relative_to(root).parts[:n]) for n in range(1, len(folder.relative_to(root).parts) + 1))]
        if folder.is_relative_to(root)
        else []
    )
    for level in levels:  # each checked before anything is made inside it
        made = level == root and not os.path.lexists(root)
        level.mkdir(mode=0o700, parents=level == root, exist_ok=True)
        if problem := cache_problem(level):
            raise UntrustedCacheError(problem)
        if made:  # only a folder voiceguide made is tagged (a tag in $HOME would hide it from backups)
            _write_tag(root / CACHE_TAG)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if problem := cache_problem(folder):
        raise UntrustedCacheError(problem)
    return folder


class UntrustedCacheError(OSError):
    """A cache folder that someone else could have written into."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.strerror = problem


def cache_problem(folder: Path) -> str | None:
    """Why what is in ``folder`` may not be trusted, else None.

    A cache decides what is spoken: a phrase planted in it is played as is,
    a planted voice list switched a Dutch script to an English voice. So a
    cache folder, and every folder of the cache inside it, must belong to
    this user and be writable by no one else; and no folder above it may be
    someone else's, or writable by anyone without the sticky bit (as
    ``/tmp`` has), since then the cache could be swapped for another. A
    folder that does not exist yet is no problem: it is made private.

    Checked in full once per folder and process, then with one ``stat``
    (see :data:`_TRUSTED`): every cache read and write asks, ~1500 times in
    a cold export of session.vg, and the full walk up to ``/`` cost
    ~0.1 ms each (~3000 ``stat`` calls and the path arithmetic).
    """
    if not hasattr(os, "geteuid"):  # Windows: its ACLs, not modes, protect the cache
        return None
    root = cache_root()
    if _still_trusted(folder, root):
        return None
    try:
        seen = os.stat(folder)
    except OSError:
        seen = None
    problem = _walk_problem(folder, root)
    if problem is None and seen is not None:
        _TRUSTED[(os.fspath(folder), os.fspath(root))] = _identity(seen)
    return problem


_TRUSTED: dict[tuple[str, str], tuple[int, int, int, int]] = {}
"""(folder, cache root) -> the folder's (device, inode, mode, owner) when
:func:`cache_problem` last found it trustworthy. Within a process nothing
else needs checking again: the folders of the cache and those above it were
this user's or root's and writable by no one else (or sticky), so no one
else can change them or what they hold; and a folder swapped for another
anywhere along its path (renamed, or a link put in its place, in a
group-writable folder above) is another inode, and is walked again, as is
one whose mode or owner changed."""


def _identity(info: os.stat_result) -> tuple[int, int, int, int]:
    return (info.st_dev, info.st_ino, info.st_mode, info.st_uid)


def _still_trusted(folder: Path, root: Path) -> bool:
    """Whether ``folder`` is the very folder :func:`cache_problem` trusted
    before, in this process, unchanged (one ``stat``)."""
    known = _TRUSTED.get((os.fspath(folder), os.fspath(root)))
    if known is None:
        return False
    try:
        return _identity(os.stat(folder)) == known
    except OSError:
        return False


def _walk_problem(folder: Path, root: Path) -> str | None:
    """:func:`cache_problem`'s full check: ``folder`` and the cache's own
    folders above it, then every folder up to ``/``."""
    me = os.geteuid()
    # the folder, and the cache's own folders above it, up to the cache root
    own = [folder, *(p for p in folder.parents if p.is_relative_to(root))] if folder.is_relative_to(root) else [folder]
    try:
        for each in own:
            info = os.stat(each)
            if info.st_uid != me:
                return translate("{folder} belongs to another user").format(folder=each)
            if info.st_mode & 0o022:
                return translate("{folder} can be written by other users").format(folder=each)
        for parent in folder.resolve().parents:
            above = os.stat(parent)
            if above.st_uid not in (0, me):
                return translate("{folder} belongs to another user").format(folder=parent)
            if above.st_mode & 0o002 and not above.st_mode & stat.S_ISVTX:
                return translate("{folder} can be written by anyone").format(folder=parent)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{folder}: {translate(exc.strerror or str(exc))}"
    return None


def data_dir(override: str | Path | None = None) -> Path:
    """voiceguide's data folder (the practice log, Piper voices): ``override``, else ``$VOICEGUIDE_DATA_DIR``,
    else the platform's user data folder (``~/.local/share/voiceguide`` on Linux)."""
    if override:
        return Path(override).expanduser()
    if os.environ.get("VOICEGUIDE_DATA_DIR"):
        return Path(os.environ["VOICEGUIDE_DATA_DIR"]).expanduser()
    import platformdirs  # only needed here; keeps the import light elsewhere

    return Path(platformdirs.user_data_dir("voiceguide"))


def voices_dir() -> Path:
    """The folder of the user's Piper voices: ``voices`` in voiceguide's data
    folder (``$VOICEGUIDE_DATA_DIR``, else ``~/.local/share/voiceguide`` on Linux)."""
    return data_dir() / "voices"


def lexicon_dir() -> Path:
    """The user's own respellings (see :mod:`voiceguide.speech.lexicon`):
    ``$VOICEGUIDE_LEXICON_DIR``, else ``lexicon`` in the platform's user
    config folder (``~/.config/voiceguide/lexicon`` on Linux)."""
    override = os.environ.get("VOICEGUIDE_LEXICON_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("voiceguide")) / "lexicon"
