"""Stage 5 (file sink): stream a session into WAV, MP3, FLAC or OGG.

The file is written block by block to a hidden temporary file in the target
folder and renamed into place only when complete, so an error, Ctrl-C or a
kill never leaves a half-written target and never damages an existing one.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from .errors import ExportError

FORMATS = {
    ".wav": ("WAV", "PCM_16"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
}
DEFAULT_MP3_KBPS = 96
# soundfile's MP3 encoder takes a compression level, not a bitrate; these
# pairs were measured for mono 44.1 kHz CBR (see STACK-NOTES).
_MP3_LEVELS = ((320, 0.0), (160, 0.5), (96, 0.75), (56, 0.9))


@dataclass(frozen=True)
class ExportResult:
    path: Path
    duration_s: float
    sample_rate: int
    format: str


def format_for(path: Path) -> tuple[str, str]:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ExportError(f"{path}: unknown output format '{suffix or '(none)'}'; use one of: {', '.join(FORMATS)}")
    if FORMATS[suffix][0] not in sf.available_formats():
        raise ExportError(f"{path}: this libsndfile cannot write {FORMATS[suffix][0]}; install soundfile >= 0.13 (pip install -U soundfile)")
    return FORMATS[suffix]


def mp3_compression_level(kbps: int) -> float:
    """Interpolate the compression level that gives roughly ``kbps``."""
    levels = sorted(_MP3_LEVELS)
    if kbps <= levels[0][0]:
        return levels[0][1]
    for (low_kbps, low_level), (high_kbps, high_level) in zip(levels, levels[1:]):
        if kbps <= high_kbps:
            return low_level + (high_level - low_level) * (kbps - low_kbps) / (high_kbps - low_kbps)
    return levels[-1][1]


def export_session(session, path: str | Path, *, force: bool = False, bitrate_kbps: int = DEFAULT_MP3_KBPS) -> ExportResult:
    """Render ``session`` into ``path``; the format follows the extension.

    Raises ExportError when the target exists (without ``force``), its
    folder is missing or unwritable, or the disk fills up.
    """
    path = Path(path)
    container, subtype = format_for(path)
    if path.exists() and not force:
        raise ExportError(f"{path} already exists; pass --force to replace it")
    if path.is_dir():
        raise ExportError(f"{path} is a folder; give a file name such as {path / 'session.mp3'}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"{path}: folder {folder} does not exist; create it first")
    options = {}
    if container == "MP3":
        options = {"compression_level": mp3_compression_level(bitrate_kbps), "bitrate_mode": "CONSTANT"}
    try:
        handle, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise ExportError(f"{path}: cannot write in {folder} ({exc.strerror})") from None
    os.close(handle)
    try:
        with sf.SoundFile(
            temp_name, "w", samplerate=session.sample_rate, channels=1, format=container, subtype=subtype, **options
        ) as out:
            for block in session.mixer.blocks():
                out.write(block)
        os.replace(temp_name, path)
    except BaseException as exc:
        try:
            os.unlink(temp_name)
        except OSError:
            pass
        if isinstance(exc, (OSError, sf.LibsndfileError, RuntimeError)):
            detail = getattr(exc, "strerror", None) or str(exc)
            raise ExportError(f"{path}: writing failed ({detail}); nothing was written") from None
        raise
    return ExportResult(path, session.duration_s, session.sample_rate, container)

