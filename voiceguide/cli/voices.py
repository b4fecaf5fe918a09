"""The speech engine's voices: ``voices``."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..speech.engine import list_voices
from ..speech.piper import is_piper_voice, voices_dir
from .options import table


@click.command()
@click.option("--lang", help="Only voices for this language code (nl, en, de...).")
def voices(lang: str | None) -> None:
    """List the speech engine's voices and the Piper voices in your voices folder.

    A Piper voice (NAME.onnx with NAME.onnx.json beside it) put in the
    voices folder is listed as piper:NAME; use it with --voice piper:NAME or
    'voice: piper:NAME' in a script.

    \b
    Example:
      voiceguide voices --lang nl
    """
    found = list_voices(lang)
    rows = [(v.id, v.name, ", ".join(v.languages)) for v in found]
    if not rows:
        raise UsageError(f"no voices for language '{lang}'; run 'voiceguide voices' for all")
    table(("ID", "NAME", "LANGUAGES"), rows)
    if not any(is_piper_voice(v.id) for v in found):
        click.echo(f"(natural Piper voices: none in {voices_dir()}; see docs/natural-voice.md)", err=True)
