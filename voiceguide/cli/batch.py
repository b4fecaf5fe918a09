"""Trainer bundles: ``batch``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import rules
from ..batch.manifest import read_manifest
from ..batch.render import plan_tracks, render_bundle
from ..clock import format_clock
from ..i18n import _
from .options import printable, quiet_option, range_type
from .terminal import ProgressLine


@click.command()
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "folder",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The bundle folder (created if missing).",
)
@click.option("--jobs", type=range_type(rules.JOBS), help="Tracks rendered at once (default: one per core).")
@click.option("--zip", "make_zip", is_flag=True, help="Also pack the bundle into FOLDER.zip.")
@click.option("--check", "check_only", is_flag=True, help="Only check the manifest and plan every track; render nothing.")
@quiet_option
def batch(manifest: Path, folder: Path, jobs: int | None, make_zip: bool, check_only: bool, quiet: bool) -> None:
    """Render every track of a TOML manifest into a folder: audio, transcripts,
    an M3U8 playlist and index.html. Tracks render in parallel; unchanged
    tracks are skipped on a rerun, and a track that fails does not stop the
    others (exit 1, naming it; run again to render what is missing).

    \b
    Example:
      voiceguide batch groep.toml -o bundle/ --check
      voiceguide batch groep.toml -o bundle/
      voiceguide batch groep.toml -o bundle/ --zip
    """
    parsed = read_manifest(manifest)
    if check_only:
        lengths = plan_tracks(parsed, jobs=jobs).values()
        click.echo(
            _("ok: {count} tracks, from {shortest} to {longest}").format(
                count=len(parsed.tracks), shortest=format_clock(min(lengths)), longest=format_clock(max(lengths))
            )
        )
        return
    with ProgressLine(enabled=False if quiet else None) as line:

        def progress(done: int, total: int, result) -> None:
            line("tracks", done, total)

        outcome = render_bundle(parsed, folder, jobs=jobs, make_zip=make_zip, progress=progress)
    for change in outcome.voice_changes:
        now = change.now if change.now != "auto" else _("the engine's own (no natural voice is installed here)")
        click.echo(
            _("track {number} ({file}) was spoken by {before} when it was rendered; here the voice is {now}").format(
                number=change.track.number, file=change.track.file, before=change.before, now=now
            ),
            err=True,
        )
    rendered = sum(1 for r in outcome.results if r.rendered)
    count = (
        _("{done} of {count}").format(done=len(outcome.results), count=len(parsed.tracks))
        if outcome.failures
        else f"{len(outcome.results)}"
    )
    click.echo(
        _("wrote {folder}: {count} tracks ({rendered} rendered, {unchanged} unchanged), playlist.m3u8, index.html").format(
            folder=printable(folder), count=count, rendered=rendered, unchanged=len(outcome.results) - rendered
        )
    )
    if outcome.archive:
        click.echo(_("wrote {path}").format(path=printable(outcome.archive)))
    if outcome.failures:
        for failure in outcome.failures:
            click.echo(f"voiceguide: {failure}", err=True)
        click.echo(
            "voiceguide: "
            + _("{failed} of {count} tracks failed; run the same command again to render only what is missing").format(
                failed=len(outcome.failures), count=len(parsed.tracks)
            ),
            err=True,
        )
        sys.exit(1)
