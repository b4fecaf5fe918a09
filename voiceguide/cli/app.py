"""The ``voiceguide`` group: global options, and the one place where the
library's errors, Ctrl-C and SIGTERM become one line and an exit code."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from importlib import import_module

import click

from .. import i18n
from ..errors import VoiceguideError, os_reason
from ..i18n import N_, _
from ..speech.factory import installation
from .options import data_dir_option, printable
from .signals import Terminated, sigterm_raises


class _Group(click.Group):
    """Turns the library's errors and click's usage errors into one line and
    an exit code (see docs/exit-codes in the README: 2 for usage and bad
    input, 1 for everything else), and SIGINT/SIGTERM into an orderly exit
    (130/143) that cleans up first."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = list(sys.argv[1:] if args is None else args)
        # The interface language is known before click parses anything, so
        # that help, usage errors and click's own words all speak it.
        previous = i18n.set_ui_language(i18n.resolve_language(_requested_ui_language(args)))
        localize_help(self)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:  # bad options, missing arguments, unknown commands
            where = exc.ctx.command_path if exc.ctx is not None else "voiceguide"
            message = _("{message} (see '{command} --help')").format(message=_one_line(exc.format_message()), command=where)
            click.echo(f"voiceguide: {message}", err=True)
            code = 2
        except click.Abort:  # Ctrl-C or end of input at a question
            click.echo("voiceguide: " + _("cancelled"), err=True)
            code = 1
        except click.ClickException as exc:
            click.echo(f"voiceguide: {_one_line(exc.format_message())}", err=True)
            code = exc.exit_code
        finally:
            i18n.set_ui_language(previous)  # in-process callers (tests) get their language back
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):
        with sigterm_raises():
            try:
                return super().invoke(ctx)
            except VoiceguideError as exc:
                for line in exc.named(OPTION_NAMES).splitlines() or [""]:  # a ScriptError may carry several, one per line
                    click.echo(f"voiceguide: {printable(line)}", err=True)
                sys.exit(exc.exit_code)
            except OSError as exc:  # the file system refused something no check foresaw; often the output itself
                _quiet_stdout()
                if isinstance(exc, BrokenPipeError):
                    sys.exit(1)  # the reader went away (| head): nothing to say
                where = f"{printable(exc.filename)}: " if exc.filename else _("cannot write the output") + ": "
                click.echo(f"voiceguide: {where}{os_reason(exc).lower()}", err=True)
                sys.exit(1)
            except KeyboardInterrupt:
                click.echo("voiceguide: " + _("interrupted"), err=True)
                sys.exit(130)
            except Terminated:
                click.echo("voiceguide: " + _("terminated"), err=True)
                sys.exit(143)


OPTION_NAMES = {
    "force": "--force",
    "bitrate": "--bitrate",
    "bit_depth": "--bit-depth",
    "next": "--next",
    "length": "--minutes/--length",
    "data_dir": "--data-dir",
    "device": "--device",
    "input_device": "--input-device",
    "strict": "--strict",
}
"""What the command line calls the settings the library's messages name
(see :meth:`voiceguide.errors.VoiceguideError.naming`)."""


def _one_line(message: str) -> str:
    """click's message as one line, starting in lower case, without the final full stop."""
    text = " ".join(message.split()).rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _requested_ui_language(args: list[str]) -> str | None:
    """The value of ``--ui-lang`` among the arguments (before ``--``), if any."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == UI_LANG_OPTION and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(UI_LANG_OPTION + "="):
            return arg.partition("=")[2]
    return None


UI_LANG_OPTION = "--ui-lang"

# click's own words ("Usage:", "Show this message and exit.", "Missing
# argument ...") come from the standard library's gettext in click's default
# domain, which follows only the environment: they are looked up in
# voiceguide's catalog instead (it carries them), so that --ui-lang applies.
_CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils")


def _translate_click() -> None:
    import importlib

    for name in _CLICK_MODULES:
        module = importlib.import_module(f"click.{name}")
        if hasattr(module, "_"):
            module._ = i18n._  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = i18n.ngettext  # type: ignore[attr-defined]


_translate_click()


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands, each imported from its module when first looked
    up (running it, its help, or going through them all); listing their
    names imports nothing. Every command is put into the interface
    language as it is loaded (:func:`localize_help`)."""

    def __init__(self, where: dict[str, str], package: str):
        self._where = dict(where)
        """Command name -> ``module:attribute``, the module relative to ``package``."""
        self._package = package
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        found = self._loaded.get(name)
        if found is None:
            if name not in self._where:
                raise KeyError(name)
            module, attribute = self._where[name].split(":")
            found = self._loaded[name] = getattr(import_module(f"{self._package}.{module}"), attribute)
            localize_help(found)
        return found

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command
        self._where.pop(name, None)

    def __delitem__(self, name: str) -> None:
        self._loaded.pop(name, None) or self._where.pop(name)

    def __iter__(self):
        return iter(dict.fromkeys([*self._where, *self._loaded]))

    def __len__(self) -> int:
        return len(set(self._where) | set(self._loaded))

    def __contains__(self, name: object) -> bool:
        return name in self._where or name in self._loaded

    def loaded(self) -> list[click.Command]:
        """The commands imported so far."""
        return list(self._loaded.values())


def localize_help(command: click.Command) -> None:
    """Put the help texts of ``command`` and of everything under it (the
    docstring, each option's help, the help option's) into the interface
    language; the English originals are kept, so the language can change."""
    params = [param for param in (*command.params, getattr(command, "_help_option", None)) if param is not None]
    for item in (command, *params):
        original = item.__dict__.setdefault("_english_help", getattr(item, "help", None))
        if original:
            item.help = i18n.translate_help(original)  # type: ignore[union-attr]
    for param in params:
        if isinstance(param.type, click.Path):  # its metavar (FILE, DIRECTORY) was named when the option was made
            kind = param.type
            kind.name = _(
                "file"
                if kind.file_okay and not kind.dir_okay
                else "directory"
                if kind.dir_okay and not kind.file_okay
                else "path"
            )
        elif not isinstance(param.type, click.Choice):
            # TEXT, INTEGER RANGE: the metavar is the type's name in capitals, and
            # "'abc' is not a valid float range" names it too
            english = param.type.__dict__.setdefault("_english_name", param.type.name)
            param.type.name = _(TYPE_NAMES.get(english, english))
        if isinstance(param, click.Option) or isinstance(param, click.Argument):
            original = param.__dict__.setdefault("_english_metavar", param.metavar)
            if original:
                param.metavar = _(original)
    if command.options_metavar:
        command.options_metavar = _(OPTIONS_METAVAR)
    if isinstance(command, click.Group):
        command.subcommand_metavar = _(COMMANDS_METAVAR)
        commands = command.commands
        for sub in commands.loaded() if isinstance(commands, LazyCommands) else commands.values():
            localize_help(sub)  # (a lazy group's others are put into the language as they load)


TYPE_NAMES = {
    "text": N_("text"),
    "integer": N_("integer"),
    "float": N_("number"),
    "integer range": N_("integer range"),
    "float range": N_("number range"),
    "boolean": N_("boolean"),
}
"""click's type names (``float range`` is said ``number range`` here), to translate."""
METAVARS = (N_("TIME"), N_("PACK"), N_("FILE"), N_("FOLDER"), N_("N"), N_("KBPS"), N_("LUFS"), N_("DB"), N_("0-10"), N_("SCRIPT"))
"""The metavars voiceguide's options name (``metavar="TIME"``), for the catalog."""

OPTIONS_METAVAR = N_("[OPTIONS]")
COMMANDS_METAVAR = N_("COMMAND [ARGS]...")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, _param, value: _print_version(ctx) if value else None,
    help="Show the version, the speech engine in use and the espeak-ng it found, and exit.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (cache hits, engine restarts).")
@click.option(
    UI_LANG_OPTION,
    type=click.Choice(i18n.UI_LANGUAGES),
    expose_value=False,
    help="Language of what voiceguide says on screen (default: from LANGUAGE, LC_ALL, LC_MESSAGES or LANG).",
)
@data_dir_option
def cli(verbose: bool) -> None:
    """Turn calming exercise scripts into guided audio.

    Built-in exercises: herinnering, veilige-plek, zelfkalmering (Dutch by
    default, --lang en for English). Any script file works too.
    """
    handler = logging.StreamHandler()
    handler.setFormatter(_ScreenFormatter())
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])


class _ScreenFormatter(logging.Formatter):
    """A log message as the screen shows it: ``voiceguide: `` and one line,
    in the interface language (the library logs the English text, marked
    with ``N_``; its arguments are filled in after translation), with
    anything that could steer the terminal (a file name's ESC) made visible."""

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = _(str(record.msg)) % record.args if record.args else _(str(record.msg))
        except (TypeError, ValueError, KeyError):  # a translation that does not fit its arguments
            message = record.getMessage()
        return "voiceguide: " + printable(message)


def _print_version(ctx: click.Context) -> None:
    """``voiceguide --version``: what a bug report needs, one fact a line."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        own = version("voiceguide")
    except PackageNotFoundError:  # run from a source tree that was never installed
        own = "?"
    facts = installation()
    click.echo(f"voiceguide {own}")
    click.echo(_("speech engine: {engine}").format(engine=facts.engine))
    if facts.espeak_version:
        click.echo(_("espeak-ng: {version} ({library})").format(version=facts.espeak_version, library=facts.espeak_library))
    else:
        click.echo(_("espeak-ng: not found ({reason})").format(reason=facts.espeak_problem))
    counts = ", ".join(f"{language} {count}" for language, count in facts.lexicon_words.items())
    click.echo(_("built-in lexicon entries: {counts}").format(counts=counts))
    ctx.exit(0)


def _quiet_stdout() -> None:
    """When standard output cannot take what is pending (a full disk, a closed
    pipe), drop it, so that Python's exit does not fail on it once more."""
    try:
        sys.stdout.flush()
    except OSError:
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass


def main() -> None:
    cli(prog_name="voiceguide")
