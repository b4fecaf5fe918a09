"""Streaming constant-bitrate mono MP3 writer over lameenc, with a LAME "Info" tag.

lameenc (LAME 3.100) produces bare MPEG-1/2/2.5 Layer III frames: no Xing/Info
frame, so a decoder cannot know the encoder delay (576 samples) or the end
padding, and it plays 576 + 529 = 1105 samples of extra silence at the start
and ~0.5-1.1k samples at the end.  This module adds what LAME's own front end
(and libsndfile) write: a first, otherwise silent MPEG frame that carries a
Xing "Info" header (frame count, byte count, TOC, quality) plus the 36-byte
LAME extension (encoder delay and padding, 12 bits each, music length and
CRC, tag CRC).  Decoders that honour it (libmpg123, thus soundfile/libsndfile;
ffmpeg; most players) drop the delay and the padding and return exactly the
samples that went in; mutagen reports the exact length.

How the header gets its totals: the constructor writes a placeholder frame
(a valid silent frame of the same size) at the file's current position and
``close()`` seeks back to that position, writes the finished Info frame over
it and seeks to the end again.  So the file object must be seekable and
writable (a real file, ``io.BytesIO``); it need not be readable.  If the
process dies before ``close()``, the file is still a playable MP3 that merely
lacks gapless information (the placeholder decodes as 1152 samples of silence).

ID3v2 tags (e.g. CHAP/CTOC via mutagen) can be added after ``close()``:
mutagen puts the ID3 tag in front of the first frame, the Info frame stays
the first MPEG frame and nothing in it refers to absolute file offsets.

Example::

    with open("out.mp3", "wb") as f, Mp3Writer(f, 44100) as w:
        for block in blocks:            # float32 mono in [-1, 1]
            w.write(block)

Level: LAME's CBR presets scale the input by 0.95 (-0.446 dB) at bitrates up
to 160 kbps (0.97 at 192, 0.98 at 224, 1.0 at 256/320); lameenc has no knob
for it.  Decoded loudness is therefore input - 0.446 dB (+-0.01 dB measured on
speech): predict it with ``lame_input_gain`` instead of decoding.

Public API: ``Mp3Writer``, ``write_mp3``, ``lame_input_gain``, ``read_info_tag``,
``crc16``, ``ENCODER_DELAY``, ``DECODER_DELAY``, ``DEFAULT_QUALITY``.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

import lameenc
import numpy as np

from ..audio import to_pcm16

__all__ = [
    "Mp3Writer",
    "write_mp3",
    "read_info_tag",
    "lame_input_gain",
    "crc16",
    "ENCODER_DELAY",
    "DECODER_DELAY",
    "DEFAULT_QUALITY",
]

#: LAME's encoder delay in samples (what the LAME tag's "delay" field holds).
ENCODER_DELAY = 576
#: The decoder (synthesis filterbank) delay that mpg123/ffmpeg add on top.
DECODER_DELAY = 529
#: Default LAME quality (-q); the export passes its own (``sinks.export.MP3_QUALITY``, with the measurement behind it).
DEFAULT_QUALITY = 5

_LAME_VERSION = b"LAME3.100"  # the LAME that lameenc 1.x bundles
_LAME_DEFAULT_VBR_Q = 4  # LAME's default -V, used in the VBR-scale field as LAME does

# MPEG audio version bits -> (sample rates by index, bitrate table for layer III)
_V1, _V2, _V25 = 3, 2, 0
_RATES = {
    _V1: (44100, 48000, 32000),
    _V2: (22050, 24000, 16000),
    _V25: (11025, 12000, 8000),
}
_BITRATES_V1 = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_BITRATES_V2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)
# LAME refuses MPEG-2.5 above 64 kbps (it silently encodes at 64 instead).
_BITRATES_V25 = _BITRATES_V2[:9]


def lame_input_gain(bitrate_kbps: int) -> float:
    """Linear gain that LAME 3.100 (lameenc) applies to the input at a CBR bitrate.

    Measured (decoded vs input, 44.1/22.05/48 kHz mono): 0.95 up to 160 kbps,
    0.97 at 192, 0.98 at 224, 1.0 at 256 and 320 -- LAME's preset "scale" column.
    """
    if bitrate_kbps <= 160:
        return 0.95
    return {192: 0.97, 224: 0.98}.get(bitrate_kbps, 1.0)


def _bitrates(version: int) -> tuple:
    return {_V1: _BITRATES_V1, _V2: _BITRATES_V2, _V25: _BITRATES_V25}[version]


def _version_for(sample_rate: int) -> int:
    for version, rates in _RATES.items():
        if sample_rate in rates:
            return version
    raise ValueError(f"MP3 supports 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100 and 48000 Hz; got {sample_rate!r}")


def _frame_length(version: int, bitrate_kbps: int, sample_rate: int, padding: int) -> int:
    coeff = 144000 if version == _V1 else 72000  # Layer III
    return coeff * bitrate_kbps // sample_rate + padding


def _parse_header(h: int):
    """(version, bitrate_kbps, sample_rate, frame_length, mode) of a layer III header."""
    if h >> 21 != 0x7FF:
        raise ValueError(f"lost MPEG frame sync (header {h:08x})")
    version = (h >> 19) & 3
    layer = (h >> 17) & 3
    br_index = (h >> 12) & 15
    sr_index = (h >> 10) & 3
    if version == 1 or layer != 1 or br_index in (0, 15) or sr_index == 3:
        raise ValueError(f"not a layer III frame header: {h:08x}")
    table = _BITRATES_V1 if version == _V1 else _BITRATES_V2
    bitrate = table[br_index]
    rate = _RATES[version][sr_index]
    return version, bitrate, rate, _frame_length(version, bitrate, rate, (h >> 9) & 1), (h >> 6) & 3


# --------------------------------------------------------------------------- CRC-16
# LAME's CRC: polynomial x^16+x^15+x^2+1 (0x8005) bit-reflected (0xA001), init 0,
# no final xor ("CRC-16/ARC").  Used for the tag CRC and for the music CRC.
def _make_table() -> np.ndarray:
    t = np.zeros(256, dtype=np.uint16)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        t[i] = c
    return t


_CRC_TABLE = _make_table()
_CRC_LIST = [int(v) for v in _CRC_TABLE]
_CRC_ROW = 256  # bytes per row in the vectorised CRC


def _crc16_py(data, crc: int = 0) -> int:
    table = _CRC_LIST
    for b in data:
        crc = (crc >> 8) ^ table[(crc ^ b) & 0xFF]
    return crc


def _make_shift_tables(nbytes: int):
    """Tables for 'feed nbytes zero bytes into the CRC register' (a linear map)."""
    images = [_crc16_py(bytes(nbytes), 1 << bit) for bit in range(16)]
    lo = np.zeros(256, dtype=np.int64)
    hi = np.zeros(256, dtype=np.int64)
    for v in range(256):
        a = b = 0
        for bit in range(8):
            if v >> bit & 1:
                a ^= images[bit]
                b ^= images[bit + 8]
        lo[v], hi[v] = a, b
    return lo.tolist(), hi.tolist()


_SHIFT_LO, _SHIFT_HI = _make_shift_tables(_CRC_ROW)


def _make_pair_table(table: np.ndarray) -> np.ndarray:
    """The register after two bytes, by (register ^ the two bytes, little-endian).

    For a 16-bit reflected CRC the two bytes fill the whole register, so
    two steps of the byte table are one look-up in this one (65,536 entries)."""
    x = np.arange(1 << 16, dtype=np.uint32)
    first = table[x & 0xFF].astype(np.uint32)
    return ((first >> 8) ^ table[((x >> 8) ^ first) & 0xFF]).astype(np.uint16)


_CRC_PAIRS = _make_pair_table(_CRC_TABLE)


def crc16(data, crc: int = 0) -> int:
    """CRC-16 as LAME computes it (CRC-16/ARC), continuing from ``crc``.

    Large inputs are split into rows of 256 bytes whose CRCs are computed in
    parallel with numpy, two bytes a step (:data:`_CRC_PAIRS`), and then
    chained (the CRC is linear): ~4 ms per MB (it was ~25 ms a byte at a
    time per row: 45 ms of an export of session.vg).
    """
    n = len(data)
    if n < 4 * _CRC_ROW:
        return _crc16_py(bytes(data), crc)
    arr = np.frombuffer(data, dtype=np.uint8)
    rows = -(-n // _CRC_ROW)
    buf = np.zeros(rows * _CRC_ROW, dtype=np.uint8)
    lead = rows * _CRC_ROW - n  # leading zeros do not change a CRC whose register is 0
    buf[lead:] = arr
    # Starting from register `crc` == starting from 0 with crc xored into the first 2 bytes.
    buf[lead] ^= crc & 0xFF
    buf[lead + 1] ^= crc >> 8
    pairs = np.ascontiguousarray(buf.view("<u2").reshape(rows, _CRC_ROW // 2).T)  # pairs[j] = bytes 2j, 2j+1 of every row
    reg = np.zeros(rows, dtype=np.uint16)
    table = _CRC_PAIRS
    for j in range(_CRC_ROW // 2):
        reg = table[reg ^ pairs[j]]
    acc = 0
    lo, hi = _SHIFT_LO, _SHIFT_HI
    for r in reg.tolist():
        acc = lo[acc & 0xFF] ^ hi[acc >> 8] ^ r
    return acc


# --------------------------------------------------------------------------- Info tag
def _info_frame(
    header: int,
    frame_len: int,
    side_info_len: int,
    *,
    frames: int,
    stream_bytes: int,
    delay: int,
    padding: int,
    music_crc: int,
    quality: int,
    bitrate_kbps: int,
    sample_rate: int,
) -> bytes:
    """Build the Xing 'Info' + LAME tag frame, byte-compatible with LAME 3.100's."""
    if not (0 <= delay < 4096 and 0 <= padding < 4096):
        raise ValueError(f"delay/padding do not fit 12 bits: {delay}, {padding}")
    buf = bytearray(frame_len)
    struct.pack_into(">I", buf, 0, header)
    pos = 4 + side_info_len  # side info stays all zero: the frame decodes as silence
    toc = bytes(min(255, (256 * i) // 100) for i in range(100))  # CBR: linear
    vbr_scale = max(0, 100 - 10 * _LAME_DEFAULT_VBR_Q - quality)
    struct.pack_into(">4sIII100sI", buf, pos, b"Info", 0x0F, frames, stream_bytes, toc, vbr_scale)
    pos += 120
    tag_start = pos
    buf[pos : pos + 9] = _LAME_VERSION
    pos += 9
    buf[pos] = 0x01  # tag revision 0, method 1 = CBR
    buf[pos + 1] = 0  # lowpass: unknown (lameenc does not report LAME's choice)
    pos += 2
    pos += 4 + 2 + 2  # peak amplitude, radio and audiophile replay gain: not computed
    buf[pos] = 0x10 | 4  # encoding flags: nspsytune; ATH type 4 (LAME 3.100 defaults)
    buf[pos + 1] = min(255, bitrate_kbps)
    pos += 2
    buf[pos] = delay >> 4
    buf[pos + 1] = ((delay & 0x0F) << 4) | (padding >> 8)
    buf[pos + 2] = padding & 0xFF
    pos += 3
    noise_shaping = 0 if quality >= 7 else 1  # as LAME's lame_init_qval sets it
    non_optimal = 1 if sample_rate <= 32000 else 0
    source_freq = 0 if sample_rate <= 32000 else (1 if sample_rate == 44100 else 2)
    buf[pos] = noise_shaping | (0 << 2) | (non_optimal << 5) | (source_freq << 6)  # stereo mode 0 = mono
    pos += 1
    pos += 1 + 2  # MP3 gain 0, surround/preset 0
    struct.pack_into(">IH", buf, pos, stream_bytes, music_crc)
    pos += 6
    assert pos - tag_start == 34
    struct.pack_into(">H", buf, pos, crc16(bytes(buf[:pos])))
    return bytes(buf)


def read_info_tag(source: str | os.PathLike | bytes) -> dict | None:
    """Parse the Xing/Info (+LAME) header of the first MPEG frame (after ID3v2).

    Returns None when there is none.  Meant for tests and diagnostics; the
    dict also says whether the stored CRCs match (``tag_crc_ok`` and, when the
    whole stream is given, ``music_crc_ok``).
    """
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        with open(source, "rb") as f:
            data = f.read()
    off = 0
    while data[off : off + 3] == b"ID3":
        size = 0
        for b in data[off + 6 : off + 10]:
            size = (size << 7) | (b & 0x7F)
        off += 10 + size + (10 if data[off + 5] & 0x10 else 0)
    h = struct.unpack(">I", data[off : off + 4])[0]
    version, bitrate, rate, flen, mode = _parse_header(h)
    side = (17 if mode == 3 else 32) if version == _V1 else (9 if mode == 3 else 17)
    p = off + 4 + side
    kind = data[p : p + 4]
    if kind not in (b"Xing", b"Info"):
        return None
    flags = struct.unpack(">I", data[p + 4 : p + 8])[0]
    q = p + 8
    out = {
        "tag": kind.decode(),
        "header": h,
        "frame_offset": off,
        "frame_length": flen,
        "bitrate_kbps": bitrate,
        "sample_rate": rate,
        "samples_per_frame": 1152 if version == _V1 else 576,
    }
    if flags & 1:
        out["frames"] = struct.unpack(">I", data[q : q + 4])[0]
        q += 4
    if flags & 2:
        out["bytes"] = struct.unpack(">I", data[q : q + 4])[0]
        q += 4
    if flags & 4:
        out["toc"] = list(data[q : q + 100])
        q += 100
    if flags & 8:
        out["vbr_scale"] = struct.unpack(">I", data[q : q + 4])[0]
        q += 4
    lame = data[q : q + 36]
    if lame[:4] == b"LAME" and len(lame) == 36:
        out.update(
            encoder=lame[:9].decode("latin-1"),
            vbr_method=lame[9] & 15,
            lowpass_hz=lame[10] * 100,
            tag_bitrate=lame[20],
            delay=(lame[21] << 4) | (lame[22] >> 4),
            padding=((lame[22] & 15) << 8) | lame[23],
            misc=lame[24],
            music_length=struct.unpack(">I", lame[28:32])[0],
            music_crc=struct.unpack(">H", lame[32:34])[0],
            tag_crc=struct.unpack(">H", lame[34:36])[0],
        )
        out["tag_crc_ok"] = crc16(data[off : q + 34]) == out["tag_crc"]
        audio = data[off + flen : off + out["music_length"]]
        if len(audio) == out["music_length"] - flen:
            out["music_crc_ok"] = crc16(audio) == out["music_crc"]
    return out


# --------------------------------------------------------------------------- writer
class Mp3Writer:
    """Streaming CBR mono MP3 encoder (lameenc) that writes a LAME Info tag.

    Args:
        file: a seekable binary file object opened for writing (its current
            position is where the MP3 starts; the caller closes it), or a path
            (opened with "wb" and closed by ``close()``).
        sample_rate: 8000-48000 Hz, one of the MPEG rates; the output uses the
            same rate (no resampling).
        bitrate_kbps: a Layer III bitrate valid for that rate (32-320 at
            32/44.1/48 kHz, 8-160 at 16/22.05/24 kHz, 8-64 below).
        quality: LAME -q, 0 (slowest) .. 9 (fastest); lameenc documents 2..7.

    ``write(block)`` takes float mono samples in [-1, 1] (1-D or (n, 1)); they
    are scaled by 32768, rounded, clipped to int16 (no dither).  NaN/inf raise
    ValueError.  ``close()`` flushes the encoder and fills in the Info frame.
    """

    def __init__(
        self,
        file: BinaryIO | str | os.PathLike,
        sample_rate: int,
        bitrate_kbps: int = 96,
        quality: int = DEFAULT_QUALITY,
    ):
        self._version = _version_for(int(sample_rate))
        self.sample_rate = int(sample_rate)
        if bitrate_kbps not in _bitrates(self._version)[1:]:
            raise ValueError(
                f"{bitrate_kbps!r} kbps is not a Layer III bitrate at {sample_rate} Hz; use one of {_bitrates(self._version)[1:]}"
            )
        if not (0 <= int(quality) <= 9):
            raise ValueError("quality must be 0..9 (LAME -q)")
        self.bitrate_kbps = int(bitrate_kbps)
        self.quality = int(quality)
        self.samples_per_frame = 1152 if self._version == _V1 else 576

        self._owns_file = isinstance(file, (str, os.PathLike))
        self._file = open(file, "wb") if self._owns_file else file
        if not (self._file.seekable() and self._file.writable()):
            raise ValueError("Mp3Writer needs a seekable, writable binary file")
        self._start = self._file.tell()

        enc = lameenc.Encoder()
        enc.set_bit_rate(self.bitrate_kbps)
        enc.set_in_sample_rate(self.sample_rate)
        enc.set_out_sample_rate(self.sample_rate)
        enc.set_channels(1)
        enc.set_quality(self.quality)
        enc.silence()
        self._enc = enc

        # The Info frame: same bitrate as the audio unless that frame is too
        # small for the tag (< 56-64 kbps), then the smallest bitrate that fits.
        self._side = 17 if self._version == _V1 else 9
        need = 4 + self._side + 120 + 36
        for br in _bitrates(self._version)[1:]:
            if br >= self.bitrate_kbps and _frame_length(self._version, br, self.sample_rate, 0) >= need:
                self._info_bitrate = br
                break
        else:  # pragma: no cover - every rate has a large enough bitrate
            raise ValueError("no bitrate can hold the Info tag")
        self._info_len = _frame_length(self._version, self._info_bitrate, self.sample_rate, 0)
        br_index = _bitrates(self._version).index(self._info_bitrate)
        sr_index = _RATES[self._version].index(self.sample_rate)
        # sync, version, layer III, no CRC | bitrate, rate, no padding | mono, original
        self._info_header = (
            (0x7FF << 21)
            | (self._version << 19)
            | (1 << 17)
            | (1 << 16)
            | (br_index << 12)
            | (sr_index << 10)
            | (3 << 6)
            | (1 << 2)
        )
        self._file.write(struct.pack(">I", self._info_header) + bytes(self._info_len - 4))

        self._samples = 0
        self._frames = 0
        self._audio_bytes = 0
        self._carry = b""  # an incomplete frame header split across output chunks
        self._skip = 0  # bytes of the current frame still to come
        self._crc = 0
        self._crc_pending: list = []
        self._crc_pending_len = 0
        self._first_header: int | None = None
        self._closed = False
        self.padding: int | None = None

    # -- properties
    @property
    def samples_written(self) -> int:
        return self._samples

    @property
    def frames(self) -> int:
        """Audio frames so far (the Info frame not counted, as in the tag)."""
        return self._frames

    @property
    def encoder_delay(self) -> int:
        return ENCODER_DELAY

    @property
    def closed(self) -> bool:
        return self._closed

    # -- context manager
    def __enter__(self) -> Mp3Writer:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
            return
        # Leaving on an error (Ctrl-C, a full disk): the file is abandoned, and
        # what closing finds wrong with a stream cut short (frames encoded
        # but not appended) must not hide why.
        try:
            self.close()
        except Exception:  # noqa: BLE001, S110 - the error on its way out is the one to report
            pass

    # -- encoding
    def write(self, block) -> None:
        if self._closed:
            raise ValueError("write() on a closed Mp3Writer")
        self.write_pcm16(self.pcm16(block))

    @staticmethod
    def pcm16(block) -> bytes:
        """``block`` (mono float samples) checked and put on the 16-bit grid
        as LAME takes it: the part of :meth:`write` that needs no encoder, so
        that another thread can do it while this one encodes (export's mixing
        thread waits for the encoder most of the time; the conversion took
        ~20 ms of the encoder's thread for session.vg). ``write(block)`` is
        ``write_pcm16(pcm16(block))``."""
        x = np.asarray(block)
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 1:
            raise ValueError(f"expected mono samples (n,) or (n, 1); got shape {x.shape}")
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"expected float samples in [-1, 1]; got {x.dtype}")
        if x.size == 0:
            return b""
        if not np.isfinite(x).all():
            raise ValueError("samples contain NaN or infinity")
        return to_pcm16(x.astype(np.float32, copy=False)).tobytes()

    def write_pcm16(self, pcm: bytes) -> None:
        """Encode samples made by :meth:`pcm16`: ``append(encode_pcm16(pcm))``."""
        self.append(self.encode_pcm16(pcm))

    def encode_pcm16(self, pcm: bytes) -> bytes:
        """LAME alone on samples made by :meth:`pcm16` (it lets go of the GIL):
        the frames it gives back go to :meth:`append`, in the order they were made.
        Export encodes in a thread of its own and appends in its mixing
        thread, so that the encoder's thread, which the export waits for,
        does nothing else (the frame scan, the file and the music CRC took
        ~20 ms of it for session.vg)."""
        if self._closed:
            raise ValueError("write() on a closed Mp3Writer")
        if not pcm:
            return b""
        data = self._enc.encode(pcm)
        self._samples += len(pcm) // 2
        return data

    def append(self, data) -> None:
        """Write frames :meth:`encode_pcm16` made (checked, counted, into the music CRC)."""
        self._emit(data)

    def _emit(self, data) -> None:
        if not data:
            return
        data = bytes(data)
        self._scan(data)
        self._file.write(data)
        self._audio_bytes += len(data)
        self._crc_pending.append(data)
        self._crc_pending_len += len(data)
        if self._crc_pending_len >= 1 << 16:
            self._update_crc()

    def _update_crc(self) -> None:
        if self._crc_pending:
            self._crc = crc16(b"".join(self._crc_pending), self._crc)
            self._crc_pending.clear()
            self._crc_pending_len = 0

    def _scan(self, chunk: bytes) -> None:
        """Count frames and check that LAME encodes what was asked for."""
        if self._skip >= len(chunk):
            self._skip -= len(chunk)
            return
        data = self._carry + chunk  # a carry only exists when _skip is 0
        pos = self._skip
        while pos + 4 <= len(data):
            h = int.from_bytes(data[pos : pos + 4], "big")
            version, bitrate, rate, flen, mode = _parse_header(h)
            if self._first_header is None:
                if (version, bitrate, rate, mode) != (self._version, self.bitrate_kbps, self.sample_rate, 3):
                    raise RuntimeError(
                        f"LAME produced {bitrate} kbps {rate} Hz mode {mode} frames, "
                        f"expected {self.bitrate_kbps} kbps {self.sample_rate} Hz mono"
                    )
                self._first_header = h
            self._frames += 1
            pos += flen
        if pos <= len(data):
            self._carry, self._skip = data[pos:], 0
        else:
            self._carry, self._skip = b"", pos - len(data)

    def close(self) -> None:
        """Flush the encoder, write the Info frame; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._samples == 0:
                self._enc.encode(b"")  # lameenc cannot flush an encoder never fed
            self._emit(self._enc.flush())
            if self._carry or self._skip:
                raise RuntimeError("LAME output ended inside a frame")
            self._update_crc()
            self.padding = self._frames * self.samples_per_frame - ENCODER_DELAY - self._samples
            header = self._info_header
            if self._first_header is not None:  # copy private/copyright/original/emphasis bits
                header = (header & ~0x10F) | (self._first_header & 0x10F)
            frame = _info_frame(
                header,
                self._info_len,
                self._side,
                frames=self._frames,
                stream_bytes=self._info_len + self._audio_bytes,
                delay=ENCODER_DELAY,
                padding=self.padding,
                music_crc=self._crc,
                quality=self.quality,
                bitrate_kbps=self.bitrate_kbps,
                sample_rate=self.sample_rate,
            )
            end = self._file.tell()
            self._file.seek(self._start)
            self._file.write(frame)
            self._file.seek(end)
            self._file.flush()
        finally:
            if self._owns_file:
                self._file.close()


def write_mp3(path, samples, sample_rate: int, bitrate_kbps: int = 96, quality: int = DEFAULT_QUALITY) -> None:
    """Encode a whole mono float array to ``path`` (convenience wrapper)."""
    with Mp3Writer(path, sample_rate, bitrate_kbps, quality) as w:
        w.write(samples)
