"""The speech engine's voices: ``voices``."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..speech.engine import list_voices
from .options import table


@click.command()
@click.option("--lang", help="Only voices for this language code (nl, en, de...).")
def voices(lang: str | None) -> None:
    """List the speech engine's voices.

    \b
    Example:
      voiceguide voices --lang nl
    """
    rows = [(v.id, v.name, ", ".join(v.languages)) for v in list_voices(lang)]
    if not rows:
        raise UsageError(f"no voices for language '{lang}'; run 'voiceguide voices' for all")
    table(("ID", "NAME", "LANGUAGES"), rows)
