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
    """
    if not hasattr(os, "geteuid"):  # Windows: its ACLs, not modes, protect the cache
        return None
    me = os.geteuid()
    root = cache_root()
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
