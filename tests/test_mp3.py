"""Tests for voiceguide.sinks.mp3.Mp3Writer (decode with soundfile/libmpg123, read with mutagen)."""

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from voiceguide.sinks import mp3 as mw

mutagen = pytest.importorskip("mutagen")
from mutagen.id3 import CHAP, CTOC, ID3, TIT2, CTOCFlags  # noqa: E402
from mutagen.mp3 import MP3, BitrateMode  # noqa: E402

pytestmark = pytest.mark.skipif("MP3" not in sf.available_formats(), reason="this libsndfile cannot decode MP3")


def speechlike(n, sr, seed=0, onset=None):
    """Noise bursts shaped like syllables, silence before `onset`."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    env = 0.6 + 0.4 * np.sin(2 * np.pi * 4.0 * t)  # 4 Hz "syllables"
    carrier = np.sin(2 * np.pi * 180 * t) + 0.5 * np.sin(2 * np.pi * 720 * t + 1)
    x = 0.25 * env * (carrier + 0.3 * rng.standard_normal(n))
    if onset is not None:  # silence, then a 2 ms raised-cosine attack
        x[:onset] = 0.0
        ramp = min(int(0.002 * sr), n - onset)
        if ramp > 0:
            x[onset : onset + ramp] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    return x.astype(np.float32)


def encode(path_or_file, x, sr, block=4096, **kw):
    with mw.Mp3Writer(path_or_file, sr, **kw) as w:
        for i in range(0, len(x), block):
            w.write(x[i : i + block])
    return w


def frame_offsets(data, start=0):
    out, pos = [], start
    while pos + 4 <= len(data):
        h = struct.unpack(">I", data[pos : pos + 4])[0]
        flen = mw._parse_header(h)[3]
        out.append(pos)
        pos += flen
    assert pos == len(data)
    return out


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 32000, 44100, 48000])
@pytest.mark.parametrize("n", [0, 1, 575, 576, 1151, 1152, 1153, 44101, 10 * 44100 + 37])
def test_decoded_length_exact(tmp_path, sr, n):
    br = 32 if sr < 16000 else 96
    x = speechlike(n, sr)
    p = tmp_path / "x.mp3"
    w = encode(p, x, sr, bitrate_kbps=br)
    y, rate = sf.read(p, dtype="float32")
    assert rate == sr
    assert len(y) == n
    assert w.samples_written == n


@pytest.mark.parametrize("sr", [22050, 44100, 48000])
def test_onset_alignment(tmp_path, sr):
    n, onset = 10 * sr, int(1.2345 * sr)
    x = speechlike(n, sr, onset=onset)
    p = tmp_path / "x.mp3"
    encode(p, x, sr, block=1000)
    y, _ = sf.read(p, dtype="float32")
    assert len(y) == n

    # first loud onset: 1 ms RMS envelope crosses half the speaking level
    def onset_of(s):
        k = max(1, sr // 1000)
        env = np.sqrt(np.convolve(s.astype(np.float64) ** 2, np.ones(k) / k, mode="same"))
        return int(np.argmax(env > 0.5 * np.median(env[onset + sr // 10 : onset + sr])))

    assert abs(onset_of(y) - onset_of(x)) <= 2, (onset_of(y), onset_of(x))  # codec noise: +-2
    # cross-correlation peak at lag 0 (search +-3000 samples)
    from scipy.signal import correlate

    c = correlate(y, x, mode="full", method="fft")
    mid = len(x) - 1
    lag = int(np.argmax(c[mid - 3000 : mid + 3001])) - 3000
    assert lag == 0
    snr = 10 * np.log10(np.sum(x.astype(np.float64) ** 2) / np.sum((y - x).astype(np.float64) ** 2))
    assert snr > 10, snr  # time-aligned: a shifted decode would be far below 0 dB


@pytest.mark.parametrize("sr,n", [(44100, 441000), (44100, 12345), (22050, 99999), (48000, 7)])
def test_mutagen_length(tmp_path, sr, n):
    p = tmp_path / "x.mp3"
    encode(p, speechlike(n, sr), sr)
    info = MP3(p).info
    assert info.length == pytest.approx(n / sr, abs=1e-9)
    assert info.sample_rate == sr and info.channels == 1
    assert info.bitrate_mode == BitrateMode.CBR
    assert info.encoder_info.startswith("LAME 3.100")
    assert info.bitrate == pytest.approx(96000, rel=0.01)  # mutagen derives it from bytes/samples


def test_id3_chapters_added_afterwards(tmp_path):
    sr, n = 44100, 7 * 44100 + 11
    x = speechlike(n, sr, onset=3000)
    p = tmp_path / "x.mp3"
    encode(p, x, sr)
    before, _ = sf.read(p, dtype="float32")

    tags = ID3()
    tags.add(TIT2(encoding=3, text="Ademhaling"))
    tags.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=["ch0", "ch1"],
            sub_frames=[TIT2(encoding=3, text="Inhoud")],
        )
    )
    tags.add(CHAP(element_id="ch0", start_time=0, end_time=3000, sub_frames=[TIT2(encoding=3, text="Begin")]))
    tags.add(CHAP(element_id="ch1", start_time=3000, end_time=n * 1000 // sr, sub_frames=[TIT2(encoding=3, text="Einde")]))
    tags.save(p)

    data = p.read_bytes()
    assert data[:3] == b"ID3"
    tag = mw.read_info_tag(data)
    assert tag is not None and tag["frame_offset"] > 0
    assert tag["tag_crc_ok"] and tag["music_crc_ok"]
    assert tag["bytes"] == len(data) - tag["frame_offset"]

    after, _ = sf.read(p, dtype="float32")
    assert len(after) == n
    np.testing.assert_array_equal(after, before)
    m = MP3(p)
    assert m.info.length == pytest.approx(n / sr, abs=1e-9)
    chaps = sorted((f.element_id, f.start_time, f.end_time, str(f.sub_frames["TIT2"])) for f in m.tags.getall("CHAP"))
    assert chaps == [("ch0", 0, 3000, "Begin"), ("ch1", 3000, n * 1000 // sr, "Einde")]


@pytest.mark.parametrize("sr,br,q", [(44100, 96, 5), (22050, 64, 2), (48000, 128, 7), (44100, 32, 5)])
def test_header_fields_round_trip(tmp_path, sr, br, q):
    n = 3 * sr + 333
    p = tmp_path / "x.mp3"
    w = encode(p, speechlike(n, sr), sr, bitrate_kbps=br, quality=q)
    data = p.read_bytes()
    tag = mw.read_info_tag(data)
    offs = frame_offsets(data)
    spf = 1152 if sr >= 32000 else 576
    assert tag["tag"] == "Info"
    assert tag["frames"] == len(offs) - 1 == w.frames
    assert tag["bytes"] == tag["music_length"] == len(data)
    assert tag["delay"] == mw.ENCODER_DELAY == 576
    assert tag["padding"] == w.padding == tag["frames"] * spf - 576 - n
    assert tag["tag_crc_ok"] and tag["music_crc_ok"]
    assert tag["encoder"] == "LAME3.100" and tag["vbr_method"] == 1
    assert tag["tag_bitrate"] == br
    assert tag["sample_rate"] == sr
    # the Info frame is as large as an audio frame unless the tag needs more room
    first_audio_len = offs[1] - offs[0]
    assert tag["frame_length"] == offs[1]
    if br >= 64:
        assert tag["bitrate_kbps"] == br and abs(first_audio_len - tag["frame_length"]) <= 1
    # mutagen reads the same fields
    lame = MP3(p).info
    assert lame.encoder_settings == f"-b {br}"
    # the Info frame's side info is zero, so decoders that ignore tags play silence
    side = 17 if sr >= 32000 else 9
    assert data[4 : 4 + side] == bytes(side)


def test_matches_lames_own_tag():
    """Our CRC and field layout read LAME's own tag (written by libsndfile) correctly."""
    buf = io.BytesIO()
    x = speechlike(44100 * 2 + 5, 44100)
    sf.write(buf, x, 44100, format="MP3", bitrate_mode="CONSTANT", compression_level=0.75)
    tag = mw.read_info_tag(buf.getvalue())
    assert tag["tag_crc_ok"] and tag["music_crc_ok"]
    assert tag["delay"] == 576
    assert tag["padding"] == tag["frames"] * 1152 - 576 - len(x)
    assert tag["bytes"] == len(buf.getvalue())


@pytest.mark.parametrize("sr", [22050, 44100, 48000])
def test_lameenc_encoder_delay_is_576(sr):
    """Raw lameenc output (no tag) decodes with 576 + 529 = 1105 samples of delay."""
    import lameenc

    x = np.zeros(sr, np.int16)
    x[4000] = 20000
    e = lameenc.Encoder()
    e.set_bit_rate(96)
    e.set_in_sample_rate(sr)
    e.set_out_sample_rate(sr)
    e.set_channels(1)
    e.silence()
    raw = bytes(e.encode(x.tobytes())) + bytes(e.flush())
    y, _ = sf.read(io.BytesIO(raw), dtype="float32")
    assert int(np.argmax(np.abs(y))) - 4000 == mw.ENCODER_DELAY + mw.DECODER_DELAY


def test_crc16_vectorised_matches_reference():
    rng = np.random.default_rng(5)
    for n in (0, 1, 2, 1023, 1024, 1025, 4096, 65537):
        d = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        for c in (0, 0xBEEF):
            assert mw.crc16(d, c) == mw._crc16_py(d, c)
    assert mw.crc16(b"123456789") == 0xBB3D  # CRC-16/ARC check value


def test_file_object_with_prefix_and_bytesio():
    sr, n = 44100, 50000
    x = speechlike(n, sr)
    buf = io.BytesIO()
    buf.write(b"JUNK")  # the MP3 starts at the current position
    encode(buf, x, sr)
    assert not buf.closed
    data = buf.getvalue()
    assert data[:4] == b"JUNK"
    y, _ = sf.read(io.BytesIO(data[4:]), dtype="float32")
    assert len(y) == n


def test_clipping_and_rounding(tmp_path):
    sr, n = 44100, 20000
    x = np.full(n, 3.0, np.float32)
    x[::2] = -3.0
    p = tmp_path / "x.mp3"
    encode(p, x, sr)  # must not raise or wrap around
    y, _ = sf.read(p, dtype="float32")
    assert len(y) == n and np.isfinite(y).all()


def test_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError):
        mw.Mp3Writer(tmp_path / "a.mp3", 44100, bitrate_kbps=97)
    with pytest.raises(ValueError):
        mw.Mp3Writer(tmp_path / "b.mp3", 96000)
    with pytest.raises(ValueError):
        mw.Mp3Writer(tmp_path / "c.mp3", 8000, bitrate_kbps=96)  # LAME would silently use 64
    w = mw.Mp3Writer(tmp_path / "d.mp3", 44100)
    with pytest.raises(ValueError):
        w.write(np.array([0.0, np.nan], np.float32))
    with pytest.raises(TypeError):
        w.write(np.zeros(10, np.int16))
    with pytest.raises(ValueError):
        w.write(np.zeros((10, 2), np.float32))
    w.write(np.zeros((10, 1), np.float32))
    w.close()
    w.close()  # idempotent
    with pytest.raises(ValueError):
        w.write(np.zeros(10, np.float32))

    class Pipe(io.RawIOBase):
        def writable(self):
            return True

        def seekable(self):
            return False

    with pytest.raises(ValueError):
        mw.Mp3Writer(Pipe(), 44100)


@pytest.mark.parametrize("sr,br", [(44100, 64), (44100, 96), (44100, 128), (44100, 192), (44100, 320), (22050, 96)])
def test_lame_input_gain(tmp_path, sr, br):
    """LAME scales by 0.95 at <= 160 kbps: the decoded level is predictable."""
    t = np.arange(2 * sr) / sr
    x = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    p = tmp_path / "x.mp3"
    encode(p, x, sr, bitrate_kbps=br)
    y, _ = sf.read(p, dtype="float64")
    s = slice(sr // 2, 3 * sr // 2)
    gain = np.dot(x[s], y[s]) / np.dot(x[s], x[s])
    assert gain == pytest.approx(mw.lame_input_gain(br), abs=0.002)


def test_tail_is_complete(tmp_path):
    """A signal loud up to its last sample comes back up to its last sample."""
    sr = 44100
    for n in (44100, 44100 + 500, 44100 + 1151):
        t = np.arange(n) / sr
        x = (0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
        p = tmp_path / "x.mp3"
        encode(p, x, sr)
        y, _ = sf.read(p, dtype="float64")
        assert len(y) == n
        tail = slice(n - 300, n)
        err = np.sum((y[tail] / mw.lame_input_gain(96) - x[tail]) ** 2) / np.sum(x[tail].astype(np.float64) ** 2)
        assert 10 * np.log10(1 / err) > 25


def test_samples_made_in_another_thread_encode_to_the_same_bytes():
    """write(block) is write_pcm16(pcm16(block)): export makes the 16-bit
    samples in its mixing thread and encodes them in the encoder's."""
    sr, n = 32000, 40_000
    x = speechlike(n, sr)
    whole, split = io.BytesIO(), io.BytesIO()
    encode(whole, x, sr, block=4096)
    with mw.Mp3Writer(split, sr, bitrate_kbps=96) as writer:
        for start in range(0, n, 4096):
            pcm = mw.Mp3Writer.pcm16(x[start : start + 4096])
            assert pcm == np.round(np.clip(x[start : start + 4096] * 32768.0, -32768, 32767)).astype("<i2").tobytes()
            if start % 8192:
                writer.write_pcm16(pcm)
            else:
                writer.append(writer.encode_pcm16(pcm))
        assert writer.samples_written == n
    assert split.getvalue() == whole.getvalue()
    with pytest.raises(ValueError):
        mw.Mp3Writer.pcm16(np.array([0.0, np.inf], np.float32))


def test_block_size_does_not_matter():
    """Tiny and irregular blocks give the same bytes as one big write."""
    sr, n = 44100, 30011
    x = speechlike(n, sr)
    whole = io.BytesIO()
    encode(whole, x, sr, block=n)
    rng = np.random.default_rng(9)
    for sizes in ([1] * 3000 + [n], rng.integers(1, 3000, 200).tolist()):
        buf = io.BytesIO()
        with mw.Mp3Writer(buf, sr) as w:
            pos = 0
            for s in sizes:
                w.write(x[pos : pos + s])
                pos += s
                if pos >= n:
                    break
            w.write(x[pos:])
        assert buf.getvalue() == whole.getvalue()


def test_export_encodes_in_a_thread_and_writes_the_frames_in_order_here():
    """export's encoder thread only encodes; what it gives back is appended in
    the calling thread, in order; a failure on either side is raised here and
    leaves no thread behind."""
    import threading

    from voiceguide.sinks.export import _encode_in_thread

    blocks = [bytes([n]) * (100 + n) for n in range(40)]
    appended: list[tuple[bytes, str]] = []
    encoded_in: list[str] = []

    def encode(block: bytes) -> bytes:
        encoded_in.append(threading.current_thread().name)
        return block[::-1] + b"|"

    _encode_in_thread(iter(blocks), encode, lambda data: appended.append((data, threading.current_thread().name)))
    assert [data for data, _ in appended] == [block[::-1] + b"|" for block in blocks]
    assert set(encoded_in) == {"voiceguide-encoder"} and {name for _, name in appended} == {threading.current_thread().name}

    def failing_encode(block: bytes) -> bytes:
        if block[0] == 7:
            raise RuntimeError("the encoder stopped")
        return block

    appended.clear()
    with pytest.raises(RuntimeError, match="encoder stopped"):
        _encode_in_thread(iter(blocks), failing_encode, lambda data: appended.append((data, "")))
    assert [data for data, _ in appended] == blocks[: len(appended)] and len(appended) <= 7

    def full_disk(data: bytes) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        _encode_in_thread(iter(blocks), encode, full_disk)
    assert not [thread for thread in threading.enumerate() if thread.name == "voiceguide-encoder"]


def test_leaving_on_an_error_reports_that_error_not_the_stream_cut_short():
    """Ctrl-C in the mixing thread can leave frames encoded but not appended
    (export, see test above): closing such a stream finds it broken, and
    that must not replace the KeyboardInterrupt on its way out."""
    x = speechlike(40_000, 32_000)
    with pytest.raises(KeyboardInterrupt):
        with mw.Mp3Writer(io.BytesIO(), 32_000, bitrate_kbps=96) as writer:
            data = writer.encode_pcm16(writer.pcm16(x))
            writer.append(data[: len(data) // 2 + 1])  # cut short inside a frame
            writer.encode_pcm16(writer.pcm16(x))  # encoded, never appended
            raise KeyboardInterrupt
    with pytest.raises(ValueError, match="frame sync"):  # closed normally, the same stream is an error
        with mw.Mp3Writer(io.BytesIO(), 32_000, bitrate_kbps=96) as writer:
            data = writer.encode_pcm16(writer.pcm16(x))
            writer.append(data[: len(data) // 2 + 1])
            writer.encode_pcm16(writer.pcm16(x))
