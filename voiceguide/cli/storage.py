"""What voiceguide keeps on disk: ``cache``."""

from __future__ import annotations

import click

from ..i18n import _, format_decimal, ngettext
from ..practice.store import database_path
from ..speech.cache import cache_usage, clear_cache
from .options import printable


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
    size = ngettext("{count} files, {megabytes} MB", "{count} files, {megabytes} MB", usage.files).format(
        count=usage.files, megabytes=format_decimal(usage.bytes / 1e6)
    )
    if clear:
        click.echo(_("cleared {folder} ({size})").format(folder=printable(usage.folder), size=size))
    else:
        click.echo(
            _("cache: {folder} ({size}); 'voiceguide cache --clear' empties it").format(folder=printable(usage.folder), size=size)
        )
    click.echo(_("practice log and diary: {path}").format(path=printable(database_path())))
