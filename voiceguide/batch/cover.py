"""A bundle feed's cover image: a trainer's own, checked, or one drawn here.

Podcast apps want a square cover of 1400 to 3000 pixels, PNG or JPEG
(Apple Podcasts' artwork rules). A manifest may name one (``cover`` in
``[bundle]``): :func:`check_cover` reads its size from the file's header
(PNG's IHDR chunk, a JPEG's SOF marker). Without one, :func:`draw_cover`
draws the bundle's title on a calm background: a pale vertical gradient and
a soft circle, like a breath held. The letters come from the 5x7 pixel font
below, scaled up and rounded by a blur (no font file, nothing from outside);
accented Latin letters are a base letter and a mark (Unicode NFD). The PNG
is written with zlib, each row filtered with PNG's "Sub" filter, so the flat
rows of the gradient compress to almost nothing (about 30 kB in all).
"""

from __future__ import annotations

import struct
import textwrap
import unicodedata
import zlib
from pathlib import Path

import numpy as np

from ..i18n import N_, _
from ..inputs import InputFileError, os_reason, read_limited
from ..rules import COVER_SIDE_PX, MAX_COVER_BYTES

COVER_PX = int(COVER_SIDE_PX.low)
"""The drawn cover's side: the smallest size apps accept is the smallest file."""
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class CoverError(ValueError):
    """A cover image that podcast apps would refuse; the message says why."""


# --- a trainer's own cover ----------------------------------------------------------------


def check_cover(path: str | Path) -> str:
    """Check a cover image: its kind, ``png`` or ``jpg``.

    Raises CoverError when it cannot be read, is neither PNG nor JPEG, is
    not square, or its side is outside ``rules.COVER_SIDE_PX``."""
    return image_size(read_cover(path))[0]


def read_cover(path: str | Path) -> bytes:
    """A cover image's bytes, checked as :func:`check_cover` says."""
    try:
        data = read_limited(path, MAX_COVER_BYTES, N_("cover image"))
    except InputFileError as exc:
        raise CoverError(exc.reason) from None
    except OSError as exc:
        raise CoverError(os_reason(exc).lower()) from None
    _kind, width, height = image_size(data)
    if width != height:
        raise CoverError(_("is {width}x{height} pixels; podcast apps want a square image").format(width=width, height=height))
    if width not in COVER_SIDE_PX:
        raise CoverError(
            _("is {width}x{height} pixels; podcast apps want {low:g} to {high:g} pixels a side").format(
                width=width, height=height, low=COVER_SIDE_PX.low, high=COVER_SIDE_PX.high
            )
        )
    return data


def image_size(data: bytes) -> tuple[str, int, int]:
    """(kind, width, height) of a PNG or JPEG from its header."""
    if data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return "png", width, height
    if data.startswith(b"\xff\xd8"):
        return ("jpg", *_jpeg_size(data))
    raise CoverError(_("is neither a PNG nor a JPEG image"))


_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
"""JPEG start-of-frame markers (ITU T.81 table B.1): the frame header holds the size."""


def _jpeg_size(data: bytes) -> tuple[int, int]:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _SOF_MARKERS and at + 9 <= len(data):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return width, height
        at += 2 + length
    raise CoverError(_("is a JPEG whose size cannot be read"))


# --- drawing one --------------------------------------------------------------------------

# A 5x7 pixel font: '#' is ink. Letters with a descender have 9 rows.
_GLYPHS: dict[str, tuple[str, ...]] = {
    "A": (".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "B": ("####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."),
    "C": (".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."),
    "D": ("####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."),
    "E": ("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
    "F": ("#####", "#....", "#....", "####.", "#....", "#....", "#...."),
    "G": (".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"),
    "H": ("#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "I": (".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "J": ("..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."),
    "K": ("#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"),
    "L": ("#....", "#....", "#....", "#....", "#....", "#....", "#####"),
    "M": ("#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"),
    "N": ("#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"),
    "O": (".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "P": ("####.", "#...#", "#...#", "####.", "#....", "#....", "#...."),
    "Q": (".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"),
    "R": ("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"),
    "S": (".####", "#....", "#....", ".###.", "....#", "....#", "####."),
    "T": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
    "U": ("#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."),
    "V": ("#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."),
    "W": ("#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."),
    "X": ("#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"),
    "Y": ("#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."),
    "Z": ("#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"),
    "a": (".....", ".....", ".###.", "....#", ".####", "#...#", ".####"),
    "b": ("#....", "#....", "#.##.", "##..#", "#...#", "#...#", "####."),
    "c": (".....", ".....", ".###.", "#....", "#....", "#...#", ".###."),
    "d": ("....#", "....#", ".##.#", "#..##", "#...#", "#...#", ".####"),
    "e": (".....", ".....", ".###.", "#...#", "#####", "#....", ".###."),
    "f": ("..##.", ".#..#", ".#...", "###..", ".#...", ".#...", ".#..."),
    "g": (".....", ".....", ".####", "#...#", "#...#", "#...#", ".####", "....#", ".###."),
    "h": ("#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#"),
    "i": ("..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###."),
    "ı": (".....", ".....", ".##..", "..#..", "..#..", "..#..", ".###."),
    "j": ("...#.", ".....", "..##.", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."),
    "k": ("#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#."),
    "l": (".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "m": (".....", ".....", "##.#.", "#.#.#", "#.#.#", "#...#", "#...#"),
    "n": (".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#"),
    "o": (".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."),
    "p": (".....", ".....", "####.", "#...#", "#...#", "#...#", "####.", "#....", "#...."),
    "q": (".....", ".....", ".####", "#...#", "#...#", "#...#", ".####", "....#", "....#"),
    "r": (".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."),
    "s": (".....", ".....", ".####", "#....", ".###.", "....#", "####."),
    "t": (".#...", ".#...", "###..", ".#...", ".#...", ".#..#", "..##."),
    "u": (".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#"),
    "v": (".....", ".....", "#...#", "#...#", "#...#", ".#.#.", "..#.."),
    "w": (".....", ".....", "#...#", "#...#", "#.#.#", "#.#.#", ".#.#."),
    "x": (".....", ".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#"),
    "y": (".....", ".....", "#...#", "#...#", "#...#", "#...#", ".####", "....#", ".###."),
    "z": (".....", ".....", "#####", "...#.", "..#..", ".#...", "#####"),
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
    " ": (".....",) * 7,
    ".": (".....", ".....", ".....", ".....", ".....", ".##..", ".##.."),
    ",": (".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."),
    "!": ("..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."),
    "?": (".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."),
    ":": (".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."),
    ";": (".....", ".##..", ".##..", ".....", ".##..", "..#..", ".#..."),
    "-": (".....", ".....", ".....", "#####", ".....", ".....", "....."),
    "&": (".##..", "#..#.", "#.#..", ".#...", "#.#.#", "#..#.", ".##.#"),
    "'": ("..#..", "..#..", ".#...", ".....", ".....", ".....", "....."),
    '"': (".#.#.", ".#.#.", ".....", ".....", ".....", ".....", "....."),
    "(": ("...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."),
    ")": (".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."),
    "/": (".....", "....#", "...#.", "..#..", ".#...", "#....", "....."),
    "+": (".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."),
    "=": (".....", ".....", "#####", ".....", "#####", ".....", "....."),
    "<": ("...#.", "..#..", ".#...", "#....", ".#...", "..#..", "...#."),
    ">": (".#...", "..#..", "...#.", "....#", "...#.", "..#..", ".#..."),
    "#": (".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."),
    "*": (".....", "..#..", "#.#.#", ".###.", "#.#.#", "..#..", "....."),
    "_": (".....",) * 6 + ("#####",),
    "·": (".....", ".....", ".....", "..#..", ".....", ".....", "....."),
}
_SAME = {"‘": "'", "’": "'", "“": '"', "”": '"', "„": '"', "«": "<", "»": ">", "–": "-", "—": "-", "…": ".", "ß": "B"}
_MARKS = {  # combining marks (NFD) drawn over (or, cedilla, under) their letter, two rows
    "\u0301": ("...#.", "..#.."),
    "\u0300": (".#...", "..#.."),
    "\u0302": ("..#..", ".#.#."),
    "\u0308": (".#.#.", "....."),
    "\u0303": (".##.#", "#.##."),
    "\u030a": ("..#..", ".#.#."),
    "\u030c": (".#.#.", "..#.."),
    "\u0327": ("..#..", ".#..."),
}
_CELL_W, _CELL_H, _TOP = 6, 11, 2
"""A letter's cell: 5 columns and a gap; 2 rows for an accent over a
capital, 7 for the letter, 2 for a descender."""


def _glyph(char: str) -> np.ndarray | None:
    """One letter's cell as a boolean array (``_CELL_H`` x ``_CELL_W``), None if the font lacks it."""
    char = _SAME.get(char, char)
    base, *marks = unicodedata.normalize("NFD", char)
    if base == "i" and marks:
        base = "ı"  # an accent replaces i's dot
    rows = _GLYPHS.get(base)
    if rows is None:
        return None
    cell = np.zeros((_CELL_H, _CELL_W), dtype=bool)
    for y, row in enumerate(rows):
        cell[_TOP + y, :5] = [c == "#" for c in row]
    for mark in marks:
        shape = _MARKS.get(mark)
        if shape is None:
            continue
        if mark == "\u0327":
            top = _TOP + 7
        else:
            top = 0 if base.isupper() or base.isdigit() or rows[0] != "....." else _TOP
        for y, row in enumerate(shape):
            cell[top + y, :5] |= [c == "#" for c in row]
    return cell


def text_mask(lines: list[str]) -> np.ndarray:
    """Lines of text as one boolean array at one pixel per font pixel, each line centred."""
    width = max(len(line) for line in lines) * _CELL_W
    mask = np.zeros((len(lines) * (_CELL_H + 1), width), dtype=bool)
    for number, line in enumerate(lines):
        left = (width - len(line) * _CELL_W) // 2
        for index, char in enumerate(line):
            cell = _glyph(char)
            if cell is None:
                cell = _glyph("?")
            assert cell is not None
            x, y = left + index * _CELL_W, number * (_CELL_H + 1)
            mask[y : y + _CELL_H, x : x + _CELL_W] = cell
    return mask


def _drawable(text: str) -> bool:
    """Whether the font can draw most of ``text`` (a title in a script it lacks is left off)."""
    missing = sum(1 for char in text if _glyph(char) is None)
    return bool(text.strip()) and missing * 3 <= len(text)


def _smooth(mask: np.ndarray, scale: int) -> np.ndarray:
    """The mask scaled up ``scale`` times, its pixel corners rounded: coverage 0..1."""
    big = np.kron(mask.astype(np.float32), np.ones((scale, scale), dtype=np.float32))
    radius = max(1, scale // 3)
    for axis in (0, 1):  # a box blur, twice: close to a Gaussian
        for _pass in range(2):
            big = _box(big, radius, axis)
    return np.clip((big - 0.45) * 3 + 0.5, 0, 1)


def _box(values: np.ndarray, radius: int, axis: int) -> np.ndarray:
    padded = np.pad(values, [(radius + 1, radius) if a == axis else (0, 0) for a in range(2)])
    summed = np.cumsum(padded, axis=axis)
    upper = np.take(summed, range(2 * radius + 1, summed.shape[axis]), axis=axis)
    lower = np.take(summed, range(0, summed.shape[axis] - 2 * radius - 1), axis=axis)
    return (upper - lower) / (2 * radius + 1)


def _layout(text: str, width_px: int, max_lines: int, largest: int) -> tuple[list[str], int]:
    """The text wrapped into at most ``max_lines`` lines, and the largest scale that fits ``width_px``."""
    for scale in range(largest, 2, -1):
        columns = max(1, width_px // (_CELL_W * scale))
        lines = textwrap.wrap(text, columns, break_long_words=False) or [""]
        if len(lines) <= max_lines and max(len(line) for line in lines) <= columns:
            return lines, scale
    columns = max(1, width_px // (_CELL_W * 3))
    lines = textwrap.wrap(text, columns)
    return lines[: max_lines - 1] + [textwrap.shorten(" ".join(lines[max_lines - 1 :]), columns, placeholder="...")], 3


BACKGROUND_TOP = (0xDD, 0xEA, 0xE4)
"""Pale sage at the top, fading to ..."""
BACKGROUND_BOTTOM = (0xF5, 0xEF, 0xE4)
"""... warm sand at the bottom."""
CIRCLE = (0xC4, 0xDB, 0xD2)
INK = (0x1D, 0x4A, 0x46)
"""Dark teal: the page's text colour family, contrast above 8:1 on the background."""


def draw_cover(title: str, author: str = "", size_px: int = COVER_PX) -> np.ndarray:
    """A square cover: ``title`` (and ``author``, smaller) on a calm
    background; RGB, uint8, shape (size_px, size_px, 3)."""
    ramp = np.linspace(0.0, 1.0, size_px, dtype=np.float32)[:, None, None]
    image = (1 - ramp) * np.array(BACKGROUND_TOP, np.float32) + ramp * np.array(BACKGROUND_BOTTOM, np.float32)
    image = np.repeat(image, size_px, axis=1)
    yy, xx = np.mgrid[0:size_px, 0:size_px].astype(np.float32)
    centre = size_px / 2
    distance = np.hypot(xx - centre, yy - centre * 0.94)
    inside = np.clip((size_px * 0.33 - distance) / 2 + 0.5, 0, 1)[..., None]  # a 2 px soft edge
    image = image * (1 - inside) + np.array(CIRCLE, np.float32) * inside
    blocks = []
    if _drawable(title):
        blocks.append(_layout(" ".join(title.split()), int(size_px * 0.8), 4, size_px // 80))
    if author and _drawable(author):
        blocks.append(_layout(" ".join(author.split()), int(size_px * 0.7), 1, size_px // 140))
    rendered = [_smooth(text_mask(lines), scale) for lines, scale in blocks]
    gap = size_px // 25
    total = sum(r.shape[0] for r in rendered) + gap * (len(rendered) - 1)
    top = int(centre * 0.94 - total / 2)
    for coverage in rendered:
        height, width = coverage.shape
        left = (size_px - width) // 2
        area = image[top : top + height, left : left + width]
        area[:] = area * (1 - coverage[..., None]) + np.array(INK, np.float32) * coverage[..., None]
        top += height + gap
    return np.round(image).astype(np.uint8)


def png_bytes(image: np.ndarray) -> bytes:
    """An RGB uint8 image (height, width, 3) as PNG (ISO/IEC 15948), every
    row with filter 1 ("Sub": each byte minus the one a pixel to its left)."""
    height, width, _ = image.shape
    sub = image.astype(np.int16)
    sub[:, 1:] -= image[:, :-1]
    rows = np.concatenate([np.ones((height, 1), np.uint8), (sub % 256).astype(np.uint8).reshape(height, width * 3)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, deflate, no interlace
    return PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + chunk(b"IEND", b"")


def cover_png(title: str, author: str = "") -> bytes:
    """The drawn cover as PNG bytes (the same title gives the same bytes)."""
    return png_bytes(draw_cover(title, author))
