"""The speech engine's voices: ``voices``."""

from __future__ import annotations

import click

from ..errors import UsageError
from ..folders import voices_dir
from ..i18n import _
from ..speech.factory import list_voices
from ..speech.piper import is_piper_voice
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
        raise UsageError(_("no voices for language '{language}'; run 'voiceguide voices' for all").format(language=lang))
    table((_("ID"), _("NAME"), _("LANGUAGES")), rows)
    if not any(is_piper_voice(v.id) for v in found):
        click.echo(_("(natural Piper voices: none in {folder}; see docs/natural-voice.md)").format(folder=voices_dir()), err=True)
