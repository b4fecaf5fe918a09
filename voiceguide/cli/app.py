"""The ``voiceguide`` group: global options, and the one place where the
library's errors, Ctrl-C and SIGTERM become one line and an exit code."""

from __future__ import annotations

import logging
import os
import sys

import click

from ..errors import VoiceguideError
from .options import data_dir_option, printable
from .signals import Terminated, sigterm_raises


class _Group(click.Group):
    """Turns the library's errors and click's usage errors into one line and
    an exit code (see docs/exit-codes in the README: 2 for usage and bad
    input, 1 for everything else), and SIGINT/SIGTERM into an orderly exit
    (130/143) that cleans up first."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:  # bad options, missing arguments, unknown commands
            where = exc.ctx.command_path if exc.ctx is not None else "voiceguide"
            click.echo(f"voiceguide: {_one_line(exc.format_message())} (see '{where} --help')", err=True)
            code = 2
        except click.Abort:  # Ctrl-C or end of input at a question
            click.echo("voiceguide: cancelled", err=True)
            code = 1
        except click.ClickException as exc:
            click.echo(f"voiceguide: {_one_line(exc.format_message())}", err=True)
            code = exc.exit_code
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context):
        with sigterm_raises():
            try:
                return super().invoke(ctx)
            except VoiceguideError as exc:
                for line in str(exc).splitlines() or [""]:  # a ScriptError may carry several, one per line
                    click.echo(f"voiceguide: {printable(line)}", err=True)
                sys.exit(exc.exit_code)
            except OSError as exc:  # the file system refused something no check foresaw; often the output itself
                _quiet_stdout()
                if isinstance(exc, BrokenPipeError):
                    sys.exit(1)  # the reader went away (| head): nothing to say
                where = f"{printable(exc.filename)}: " if exc.filename else "cannot write the output: "
                click.echo(f"voiceguide: {where}{(exc.strerror or str(exc)).lower()}", err=True)
                sys.exit(1)
            except KeyboardInterrupt:
                click.echo("voiceguide: interrupted", err=True)
                sys.exit(130)
            except Terminated:
                click.echo("voiceguide: terminated", err=True)
                sys.exit(143)


def _one_line(message: str) -> str:
    """click's message as one line, starting in lower case, without the final full stop."""
    text = " ".join(message.split()).rstrip(".")
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="voiceguide")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (cache hits, engine restarts).")
@data_dir_option
def cli(verbose: bool) -> None:
    """Turn calming exercise scripts into guided audio.

    Built-in exercises: herinnering, veilige-plek, zelfkalmering (Dutch by
    default, --lang en for English). Any script file works too.
    """
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="voiceguide: %(message)s")


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
