"""Trainer bundles: ``batch``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .. import rules
from ..batch.bundle import read_manifest, render_bundle
from .options import range_type


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
@click.option("--check", "check_only", is_flag=True, help="Only read and check the manifest; render nothing.")
def batch(manifest: Path, folder: Path, jobs: int | None, make_zip: bool, check_only: bool) -> None:
    """Render every track of a TOML manifest into a folder: audio, transcripts,
    an M3U8 playlist and index.html. Tracks render in parallel; unchanged
    tracks are skipped on a rerun.

    \b
    Example:
      voiceguide batch groep.toml -o bundle/
      voiceguide batch groep.toml -o bundle/ --zip
    """
    parsed = read_manifest(manifest)
    if check_only:
        click.echo(f"ok: {len(parsed.tracks)} tracks")
        return
    show = sys.stderr.isatty()

    def progress(done: int, total: int, result) -> None:
        verb = "rendered" if result.rendered else "unchanged"
        bar = "#" * round(20 * done / total)
        line = f"[{bar:<20}] {done}/{total} {verb} {result.track.file}"
        click.echo(("\r" + line.ljust(78)) if show else line, err=True, nl=not show or done == total)

    outcome = render_bundle(parsed, folder, jobs=jobs, make_zip=make_zip, progress=progress)
    rendered = sum(1 for r in outcome.results if r.rendered)
    click.echo(
        f"wrote {folder}: {len(outcome.results)} tracks ({rendered} rendered, {len(outcome.results) - rendered} unchanged), playlist.m3u8, index.html"
    )
    if outcome.archive:
        click.echo(f"wrote {outcome.archive}")
