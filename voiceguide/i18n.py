"""The interface language: translations through the standard library's gettext.

English is the source language: every message is written in English in the
code (the msgid) and Dutch lives in ``locale/nl/LC_MESSAGES/voiceguide.po``.
Two languages are in play at once:

- the **interface language** (help, errors, progress, the practice log and
  the diary questions): ``--ui-lang`` on the command line, else the usual
  environment (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else
  English. :func:`_` and :func:`ngettext` translate into it. No system locale
  needs to be installed: the catalogs ship with voiceguide.
- the **session language** (the words that belong to a session: breath
  phases on the status line, the bundle page of a Dutch bundle):
  :func:`session_translation` gives a translation for any session language,
  whatever the interface speaks.

The catalogs are kept as ``.po`` files; the ``.mo`` files gettext reads are
compiled from them with Babel at build time (``setup.py`` puts them in every
wheel; ``scripts/setup`` compiles them beside their ``.po`` in a working
tree): voiceguide reads them from its own package and needs no Babel to run.
``scripts/catalogs.py`` extracts the template and updates the catalogs.

Messages use named placeholders (``_("{path} already exists").format(path=...)``)
so that a translation can put them in its own order.
"""

from __future__ import annotations

import gettext
import inspect
import io
import logging
import os
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path

from . import clock, folders, inputs

log = logging.getLogger(__name__)

DOMAIN = "voiceguide"
SOURCE_LANGUAGE = "en"
UI_LANGUAGES = ("en", "nl")
"""The interface languages with a complete catalog (English is the source)."""
LOCALE_DIR = Path(__file__).parent / "locale"
ENVIRONMENT = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")
"""Where the interface language comes from, first set wins (as gettext reads them)."""


def N_(message: str) -> str:
    """Marks ``message`` for the catalog without translating it (yet): for
    texts kept in tables and translated where they are shown."""
    return message


def language_from_environment(environ: Mapping[str, str] | None = None) -> str:
    """The interface language the environment asks for: the first of
    ``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES`` and ``LANG`` that is set
    decides (``LANGUAGE`` may list several, ``nl:en``; the first that
    voiceguide speaks wins), as GNU gettext reads them; English otherwise
    (also for ``C`` and ``POSIX``)."""
    environ = os.environ if environ is None else environ
    for name in ENVIRONMENT:
        value = environ.get(name)
        if not value:
            continue
        for item in value.split(":"):
            code = _language_code(item)
            if code in UI_LANGUAGES:
                return code
        return SOURCE_LANGUAGE
    return SOURCE_LANGUAGE


def _language_code(locale_name: str) -> str:
    """``nl`` from ``nl_NL.UTF-8@euro``, ``nl-BE`` or ``NL``."""
    return locale_name.split(".")[0].split("@")[0].replace("-", "_").split("_")[0].lower()


def resolve_language(requested: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``requested`` (``--ui-lang``) when it is one voiceguide speaks, else the environment's."""
    if requested:
        code = _language_code(requested)
        if code in UI_LANGUAGES:
            return code
    return language_from_environment(environ)


# --- catalogs -------------------------------------------------------------------------------


def catalog_path(language: str, suffix: str = ".po") -> Path:
    """``locale/<language>/LC_MESSAGES/voiceguide.po`` (or ``.mo``) inside the package."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def _compiled(language: str) -> bytes | None:
    """The compiled catalog for ``language``, as the package ships it (built
    into the wheel by ``setup.py``, beside its ``.po`` by ``scripts/setup`` in
    a working tree); None when there is none or it cannot be read. Nothing is
    compiled at run time, and nothing outside the package is read."""
    try:
        return catalog_path(language, ".mo").read_bytes()
    except OSError as exc:
        log.warning("no compiled %s catalog (%s): the interface speaks English", language, exc.strerror or exc)
        return None


@cache
def translation(language: str) -> gettext.NullTranslations:
    """The translation into ``language``; English (the source) and languages
    without a catalog get the messages as written."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    data = _compiled(language)
    if data is None:
        return gettext.NullTranslations()
    try:
        return gettext.GNUTranslations(io.BytesIO(data))
    except (OSError, ValueError, UnicodeDecodeError, IndexError) as exc:  # a damaged file: English beats a traceback
        log.warning("the compiled %s catalog is damaged (%s): the interface speaks English", language, exc)
        return gettext.NullTranslations()


def session_translation(language: str | None) -> gettext.NullTranslations:
    """The translation for the words that belong to a session in
    ``language`` (``nl``, ``en``...), whatever the interface language."""
    return translation(_language_code(language or SOURCE_LANGUAGE))


# --- the interface language ------------------------------------------------------------------

_ui_language: str | None = None


def ui_language() -> str:
    """The interface language now: as set with :func:`set_ui_language`, else the environment's."""
    return _ui_language if _ui_language is not None else language_from_environment()


def set_ui_language(language: str | None) -> str | None:
    """Speak ``language`` from now on (None: follow the environment again);
    returns the setting it replaced, to restore it later."""
    global _ui_language
    previous = _ui_language
    _ui_language = None if language is None else resolve_language(language)
    return previous


def _(message: str) -> str:
    """``message`` in the interface language."""
    return translation(ui_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """``singular`` or ``plural`` for ``n``, in the interface language (Dutch and English both have two forms)."""
    return translation(ui_language()).ngettext(singular, plural, n)


def help_msgid(text: str) -> str:
    """The catalog's key for a click help text or docstring: cleaned as click
    shows it (:func:`inspect.cleandoc`), with click's no-rewrap marker
    (a backspace line) written ``\\b`` so that the catalog stays plain text."""
    return inspect.cleandoc(text).replace("\x08", "\\b")


def translate_help(text: str) -> str:
    """A click help text in the interface language (see :func:`help_msgid`)."""
    return _(help_msgid(text)).replace("\\b", "\x08")


# --- numbers and dates -----------------------------------------------------------------------


def format_decimal(value: float, language: str | None = None, *, decimals: int = 1, trim: bool = False) -> str:
    """``value`` the way ``language`` (default: the interface's) writes
    numbers: ``6.0`` / ``1,234.5`` in English, ``6,0`` / ``1.234,5`` in Dutch
    (CLDR's symbols, :data:`NUMBER_SYMBOLS`). ``trim`` leaves out trailing zeros (``2.5``, ``2``)."""
    decimal_sign, group_sign = NUMBER_SYMBOLS.get(language or ui_language(), NUMBER_SYMBOLS[SOURCE_LANGUAGE])
    text = f"{value:,.{decimals}f}"
    if trim and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\0").replace(".", decimal_sign).replace("\0", group_sign)


def decimal_sign(language: str | None = None) -> str:
    """The decimal sign ``language`` (default: the interface's) writes: ``.`` or ``,``."""
    return NUMBER_SYMBOLS.get(language or ui_language(), NUMBER_SYMBOLS[SOURCE_LANGUAGE])[0]


NUMBER_SYMBOLS = {"en": (".", ","), "nl": (",", ".")}
"""Each interface language's decimal sign and grouping sign, as CLDR has
them (a test holds them to Babel's; Babel itself takes 40 ms to load them)."""


def format_datetime(moment: datetime, language: str | None = None) -> str:
    """A date and time to the minute as ``language`` (default: the
    interface's) writes it: ``2026-11-26 14:05`` in English (ISO, the same
    for British and American readers), ``26-11-2026 14:05`` in Dutch
    (CLDR's short date, :data:`SHORT_DATES`)."""
    pattern = SHORT_DATES.get(language or ui_language(), SHORT_DATES[SOURCE_LANGUAGE])
    return f"{moment.strftime(pattern)} {moment:%H:%M}"


SHORT_DATES = {"en": "%Y-%m-%d", "nl": "%d-%m-%Y"}
"""Each interface language's date: ISO in English, CLDR's short date in
Dutch (a test holds it to Babel's, which is needed to build, not to run)."""


def _install() -> None:
    """Give the bottom layer (which imports nothing of voiceguide) its
    translations: file kinds and limits (inputs), the system's error texts
    (inputs), cache trust problems (folders) and the decimal sign of
    times (clock)."""
    inputs.translate = _
    folders.translate = _
    clock.decimal_sign = decimal_sign


_install()
