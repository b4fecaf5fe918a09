"""The ``voiceguide`` group: global options, and the one place where the
library's errors, Ctrl-C and SIGTERM become one line and an exit code."""

from __future__ import annotations

import logging
import sys

import click

from ..errors import VoiceguideError
from .options import data_dir_option
from .signals import Terminated, sigterm_raises


class _Group(click.Group):
    """Turns the library's errors into one line and an exit code, and
    SIGINT/SIGTERM into an orderly exit (130/143) that cleans up first."""

    def invoke(self, ctx: click.Context):
        with sigterm_raises():
            try:
                return super().invoke(ctx)
            except VoiceguideError as exc:
                for line in str(exc).splitlines() or [""]:  # a ScriptError may carry several, one per line
                    click.echo(f"voiceguide: {line}", err=True)
                sys.exit(exc.exit_code)
            except KeyboardInterrupt:
                click.echo("voiceguide: interrupted", err=True)
                sys.exit(130)
            except Terminated:
                click.echo("voiceguide: terminated", err=True)
                sys.exit(143)


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


def main() -> None:
    cli(prog_name="voiceguide")
