"""What voiceguide keeps on disk: ``cache``."""

from __future__ import annotations

import click

from ..practice.store import database_path
from ..speech.cache import cache_usage, clear_cache


@click.command()
@click.option("--clear", is_flag=True, help="Delete the cached phrases (they are made again when needed).")
def cache(clear: bool) -> None:
    """Show where voiceguide keeps its cache of spoken phrases and how big it
    is, or clear it. Also says where your practice log and diary are (those
    are yours: --clear never touches them).

    \b
    Example:
      voiceguide cache
      voiceguide cache --clear
    """
    usage = clear_cache() if clear else cache_usage()
    size = f"{usage.files} files, {usage.bytes / 1e6:.1f} MB"
    if clear:
        click.echo(f"cleared {usage.folder} ({size})")
    else:
        click.echo(f"cache: {usage.folder} ({size}); 'voiceguide cache --clear' empties it")
    click.echo(f"practice log and diary: {database_path()}")
