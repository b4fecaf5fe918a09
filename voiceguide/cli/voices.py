"""The speech engine's voices: ``voices``, ``voices --available``, ``voices get`` and ``voices remove``."""

from __future__ import annotations

import click

from ..errors import DownloadError, UsageError
from ..folders import voices_dir
from ..i18n import _
from ..speech.choice import natural_voice
from ..speech.factory import list_voices
from ..speech.piper import find_models, is_piper_voice
from .options import quiet_option, table
from .terminal import ProgressLine


@click.group(invoke_without_command=True)
@click.option("--lang", help="Only voices for this language code (nl, en, de...).")
@click.option("--available", is_flag=True, help="List the natural Piper voices you can get, with size and licence.")
@click.pass_context
def voices(ctx: click.Context, lang: str | None, available: bool) -> None:
    """List the speech engine's voices and the Piper voices in your voices folder.

    A Piper voice put in the voices folder (NAME.onnx with NAME.onnx.json
    beside it, or 'voiceguide voices get NAME') is listed as piper:NAME. A
    script with 'voice: auto' speaks with the best one for its language.

    \b
    Example:
      voiceguide voices --lang nl
      voiceguide voices --available --lang nl
      voiceguide voices get nl_BE-nathalie-medium
    """
    if ctx.invoked_subcommand is not None:
        return
    if available:
        list_available(lang)
        return
    found = list_voices(lang)
    rows = [(v.id, v.name, ", ".join(v.languages)) for v in found]
    if not rows:
        raise UsageError(_("no voices for language '{language}'; run 'voiceguide voices' for all").format(language=lang))
    table((_("ID"), _("NAME"), _("LANGUAGES")), rows)
    if not any(is_piper_voice(v.id) for v in found):
        click.echo(
            _("(natural Piper voices: none in {folder}; 'voiceguide voices --available' lists them)").format(folder=voices_dir()),
            err=True,
        )


def list_available(lang: str | None) -> None:
    """The catalog's voices with size, licence and whether installed; offline, one line and what is installed."""
    # the voices catalog brings urllib.request, http.client and difflib: 60-80 ms of every start otherwise (python -X importtime)
    from ..speech.catalog import licences, load_catalog

    installed = {model.name for model in find_models()}
    try:
        catalog = load_catalog()
    except DownloadError as exc:
        names = ", ".join(sorted(installed)) or _("none")
        raise DownloadError(
            _("offline: {reason}; installed Piper voices: {names}").format(reason=str(exc), names=names)
        ) from None
    listed = catalog.for_language(lang)
    if not listed:
        raise UsageError(_("the catalog has no voice for '{language}'").format(language=lang))
    known = licences(listed, fetch=lang is not None)
    recommended = {v.key for family in {v.family for v in listed} if (v := catalog.recommended(family))}
    rows = [
        (
            voice.key + (" *" if voice.key in recommended else ""),
            voice.language,
            voice.quality,
            f"{voice.size_bytes / 1e6:.0f} MB",
            known.get(voice.key) or "?",
            _("yes") if voice.key in installed else "",
        )
        for voice in listed
    ]
    table((_("VOICE"), _("LANGUAGE"), _("QUALITY"), _("SIZE"), _("LICENCE"), _("INSTALLED")), rows)
    click.echo(_("* recommended (see docs/natural-voice.md); get one with 'voiceguide voices get NAME'"))
    if lang is None:
        click.echo(_("licences: listed with --lang (each voice's MODEL_CARD names it)"))


@voices.command()
@click.argument("name")
@quiet_option
def get(name: str, quiet: bool) -> None:
    """Download a natural Piper voice from the voices catalog, check it and install it.

    The download resumes where it stopped; the voice is installed only when
    every file has the size and MD5 the catalog gives. Its pace is measured
    right away, so the first session does not wait for it.

    \b
    Example:
      voiceguide voices get nl_BE-nathalie-medium
    """
    from ..speech.catalog import base_url, get_voice, load_catalog, measure_pace  # 60-80 ms of every start: see list_available

    catalog = load_catalog()
    voice = catalog.voice(name)
    click.echo(
        _("getting {key} ({size} MB) from {url}").format(key=voice.key, size=f"{voice.size_bytes / 1e6:.1f}", url=base_url()),
        err=True,
    )
    with ProgressLine(enabled=False if quiet else None, label=voice.key) as progress:
        installed = get_voice(voice.key, catalog=catalog, progress=progress)
        measure_pace(voice.key, progress=progress)
    click.echo(_("installed {key} in {folder}").format(key=voice.key, folder=installed.folder))
    licence = installed.licence or _("not stated")
    click.echo(
        _("licence: {licence} (read {card} before you share what you make with it)").format(
            licence=licence, card=installed.folder / "MODEL_CARD"
        )
    )
    speaking = natural_voice(voice.family)
    if speaking:
        click.echo(
            _("scripts in '{language}' now speak with {voice} (--voice espeak for espeak-ng)").format(
                language=voice.family, voice=speaking
            )
        )


@voices.command()
@click.argument("name")
def remove(name: str) -> None:
    """Remove an installed Piper voice (and any unfinished download of it).

    \b
    Example:
      voiceguide voices remove nl_BE-nathalie-medium
    """
    from ..speech.catalog import remove_voice  # 60-80 ms of every start: see list_available

    removed = remove_voice(name)
    click.echo(_("removed {name} ({path})").format(name=name, path=removed))
