"""Fuzzing the manifest reader: whatever the text, only ManifestError escapes."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiers import examples

from voiceguide.batch.manifest import ManifestError, read_manifest

KEYS = [
    "exercise",
    "script",
    "minutes",
    "language",
    "voice",
    "rate",
    "ambience",
    "title",
    "file",
    "format",
    "transcript",
    "bitrate",
    "loudness",
    "exercises",
    "scripts",
    "voices",
    "languages",
    "author",
    "speed",
]
VALUES = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(
        [
            '"zelfkalmering"',
            '"memory"',
            '"nope"',
            '"nl"',
            '"fr"',
            '"pink"',
            '"mp3"',
            '"../x.mp3"',
            '"a.mp3"',
            "true",
            "[]",
            "[2, 5]",
            '["auto"]',
            "{}",
            '""',
        ]
    ),
    st.text(string.printable, max_size=20).map(lambda t: '"' + t.replace("\\\\", "").replace('"', "") + '"'),
)
LINES = st.one_of(
    st.sampled_from(["[bundle]", "[[track]]", "[grid]", "[[grid]]", "[track]", "", "# comment", "[", "]]", "= 3"]),
    st.tuples(st.sampled_from(KEYS), VALUES).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.text(max_size=30),
)


@settings(
    max_examples=examples(1500), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(st.lists(LINES, max_size=14))
def test_manifest_lines_raise_only_manifest_errors(tmp_path, lines):
    path = tmp_path / "m.toml"
    path.write_bytes("\n".join(lines).encode("utf-8", "replace"))
    try:
        manifest = read_manifest(path)
    except ManifestError as error:
        # every problem at once: one line each, each at the manifest, in file order
        assert str(error).split("\n") == [str(each) for each in error.errors]
        for each in error.errors:
            assert str(each).startswith(str(path))
            assert "\n" not in str(each)
        assert [(e.line == 0, e.line, e.col) for e in error.errors] == sorted((e.line == 0, e.line, e.col) for e in error.errors)
    else:
        assert 1 <= len(manifest.tracks) <= 200
        assert len({t.file.lower() for t in manifest.tracks}) == len(manifest.tracks)


@settings(max_examples=examples(500), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_any_bytes_raise_only_manifest_errors(tmp_path, data):
    path = tmp_path / "m.toml"
    path.write_bytes(data)
    try:
        read_manifest(path)
    except ManifestError:
        pass
