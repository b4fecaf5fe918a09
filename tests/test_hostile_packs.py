"""Hostile input, round 3 (issue 27): voice packs and takes.

A pack from someone else is read like a clip: its recordings are its own
files (a link out of it is refused, and never followed when writing), each
is checked by its size and header before it is read or hashed, and what it
holds must be sound (no NaN). A pipe or a device where a file should be is
named for what it is. A full disk while recording is the system's fault
(exit 1), said with its reason.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import soundfile as sf
from hostile import in_namespace, needs_namespaces, one_line, voiceguide
from test_hostile_resources import PACK_SCRIPT
from test_take import SCRIPT, make_take, phrases, write_take  # noqa: F401 (phrases is a fixture)

from voiceguide.audio import Audio
from voiceguide.speech.pack import VoicePack


@pytest.fixture
def shared(tmp_path):
    """A folder as a trainer shares it: a pack, a script, a manifest."""
    pack = VoicePack.create(tmp_path / "anna", speaker="Anna", language="nl")
    tone = np.sin(2 * np.pi * 330 * np.arange(48_000) / 48_000).astype(np.float32) * 0.1
    pack.add("Ga rustig zitten.", Audio(tone, 48_000))
    pack.add("Tot ziens.", Audio(tone, 48_000))
    (tmp_path / "pakket.vg").write_text(PACK_SCRIPT, encoding="utf-8")
    (tmp_path / "bundle.toml").write_text(
        "[bundle]\nformat = 'wav'\n[[track]]\nscript = 'pakket.vg'\nvoice_pack = 'anna'\n", encoding="utf-8"
    )
    return tmp_path, pack


def export(folder, *args, **kwargs):
    return voiceguide("export", "pakket.vg", "--voice-pack", "anna", "-o", "out.wav", *args, cwd=folder, **kwargs)


# --- escape: a pack's recordings are its own files ----------------------------------------------


@pytest.mark.slow
def test_a_recording_that_links_out_of_the_pack_is_refused(shared, tmp_path_factory):
    folder, pack = shared
    secret = tmp_path_factory.mktemp("elsewhere") / "secret.flac"
    os.replace(pack.path("Tot ziens."), secret)
    os.symlink(secret, pack.path("Tot ziens."))
    result = export(folder)
    assert one_line(result) == (
        f"voiceguide: anna/phrases/{pack.path('Tot ziens.').name}: the recording of 'Tot ziens.' leads out of the voice pack"
        f" (a link to {secret}); a pack's recordings are its own files"
    )
    assert not (folder / "out.wav").exists()
    batch = voiceguide("batch", "bundle.toml", "-o", "out", cwd=folder)  # the manifest's pack: the same rule
    assert "leads out of the voice pack" in batch.stderr and batch.returncode != 0, batch.stderr
    assert not list((folder / "out").glob("*.wav"))


def test_a_link_within_the_pack_is_fine(shared):
    folder, pack = shared
    os.replace(pack.path("Tot ziens."), pack.folder / "tot-ziens-kept.flac")
    os.symlink("../tot-ziens-kept.flac", pack.path("Tot ziens."))
    assert export(folder).returncode == 0


@pytest.fixture
def take_file(tmp_path, phrases):  # noqa: F811
    audio, _where = make_take(phrases)
    (tmp_path / "take.vg").write_text(SCRIPT, encoding="utf-8")
    return write_take(audio, tmp_path / "take.flac")


def test_recording_never_writes_through_a_phrases_link_out_of_the_pack(tmp_path, take_file):
    VoicePack.create(tmp_path / "anna", speaker="Anna", language="nl")
    outside = tmp_path / "outside"
    outside.mkdir()
    os.rmdir(tmp_path / "anna" / "phrases")
    os.symlink(outside, tmp_path / "anna" / "phrases")
    result = voiceguide("record", "take.vg", "--from-take", take_file, "-o", "anna", cwd=tmp_path, VOICEGUIDE_ENGINE="fake")
    assert one_line(result).endswith(f"anna/phrases is a link to {outside}, out of the voice pack; nothing was changed")
    assert list(outside.iterdir()) == []


# --- resources: sizes and headers before reading or hashing ----------------------------------------


def test_a_sparse_giant_recording_is_refused_unhashed_in_bounded_memory(shared):
    folder, pack = shared
    with pack.path("Tot ziens.").open("r+b") as file:
        file.truncate(100 << 30)  # 100 GB, sparse: hashing it whole took minutes
    result = export(folder, limit_memory=True, timeout=60)
    assert one_line(result) == (
        f"voiceguide: anna/phrases/{pack.path('Tot ziens.').name}: the recording of 'Tot ziens.' is 107374182400 bytes;"
        " a recording is at most 231400000 bytes: record it again"
    )


@pytest.mark.slow
def test_a_remembered_digest_cut_short_is_made_again(shared):
    folder, pack = shared
    cache = folder / "cache"
    assert export(folder, VOICEGUIDE_CACHE_DIR=str(cache)).returncode == 0
    (entry,) = (cache / "meta").glob("voicepack-*.json")
    digests = json.loads(entry.read_text())
    entry.write_text(json.dumps({name: value[:2] for name, value in digests.items()}))  # cut short
    for _ in range(2):
        result = export(folder, "--force", VOICEGUIDE_CACHE_DIR=str(cache))
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert json.loads(entry.read_text()) == digests


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("1" * 5000, "holds a number of more than 4300 digits"),
        ("NaN", "holds NaN, which is not a number"),
        ("[" * 20_000, "not valid JSON: nested too deeply"),
    ],
)
def test_a_manifest_number_or_nesting_that_trips_the_parser_is_one_line(shared, value, shown):
    folder, pack = shared
    (pack.folder / "voicepack.json").write_text(f'{{"format": 1, "language": "nl", "sample_rate": {value}}}')
    assert one_line(export(folder)) == f"voiceguide: anna/voicepack.json: {shown}"


# --- wrong outcome --------------------------------------------------------------------------------


def test_a_recording_holding_nan_is_refused_by_name(shared):
    folder, pack = shared
    samples = np.full(48_000, 0.1, dtype=np.float32)
    samples[1000:2000] = np.nan
    sf.write(pack.path("Tot ziens."), samples, 48_000, format="WAV", subtype="FLOAT")  # read by its content
    assert one_line(export(folder)) == (
        f"voiceguide: anna/phrases/{pack.path('Tot ziens.').name}: the recording of 'Tot ziens.' holds samples"
        " that are not numbers (NaN or infinity); record it again"
    )
    assert not (folder / "out.wav").exists()


@pytest.mark.slow
def test_a_pipe_or_a_device_is_named_for_what_it_is(shared, tmp_path):
    folder, pack = shared
    os.unlink(pack.path("Tot ziens."))
    os.mkfifo(pack.path("Tot ziens."))
    assert one_line(export(folder, timeout=30)).endswith(": the recording of 'Tot ziens.' is a pipe (FIFO), not a regular file")
    device = voiceguide("export", "pakket.vg", "--voice-pack", "/dev/zero", "-o", "out.wav", cwd=folder)
    assert one_line(device) == "voiceguide: /dev/zero: is a device, not a voice pack folder"
    os.mkfifo(tmp_path / "take.wav")
    take = voiceguide("record", "pakket.vg", "--from-take", "take.wav", "-o", "new", cwd=folder, timeout=30)
    assert one_line(take) == "voiceguide: take.wav: is a pipe (FIFO), not a regular file"
    zero = voiceguide("record", "pakket.vg", "--from-take", "/dev/zero", "-o", "new", cwd=folder, timeout=30)
    assert one_line(zero) == "voiceguide: /dev/zero: is a device, not a regular file"


@needs_namespaces
def test_a_full_disk_while_recording_is_exit_1_with_its_reason(tmp_path, take_file):
    small = tmp_path / "small"
    small.mkdir()
    seen = tmp_path / "seen"
    result = in_namespace(
        f"mount -t tmpfs -o size=1m tmpfs {small}\nhead -c 1000k /dev/zero > {small}/filler\n"
        f"$VG record {tmp_path}/take.vg --from-take {take_file} -o {small}/anna >/dev/null 2>{seen}.err; echo rc=$? > {seen}\n"
        f"ls -A {small}/anna/phrases >> {seen}",
    )
    rc, *written = seen.read_text().split()
    error = (tmp_path / "seen.err").read_text()
    assert rc == "rc=1", (error, result.stderr)
    assert error.count("\n") == 1 and "(No space left on device); nothing was changed" in error, error
    assert not [name for name in written if name.startswith(".")]  # no temporary file left
