"""The ``voiceguide`` command line: click only.

Each command parses its options, calls the library and prints what came
back; ``app`` turns the library's errors into one line and an exit code.
One module per group of commands:

``session``   list, show, check, export
``play``      play, devices
``practice``  log, next, diary
``batch``     batch
``voices``    voices
``storage``   cache
``record``    record (a trainer's own voice into a voice pack)
``terminal``  keys and the status line while playing
"""

from . import batch, play, practice, record, session, storage, voices
from .app import cli, main

for command in (
    session.list_exercises,
    session.show,
    session.export,
    session.check,
    voices.voices,
    play.play,
    play.devices,
    practice.log_command,
    practice.next_length,
    practice.diary,
    batch.batch,
    record.record,
    storage.cache,
):
    cli.add_command(command)

__all__ = ["cli", "main"]
