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

from .app import LazyCommands, cli, main

# Each command's module is imported when the command runs (or its help is
# shown), not at every start: ``play`` then loads neither export (mutagen,
# lameenc, loudness), batch, record nor the voices list, ~50 ms of CPU of
# the ~260 ms the whole command line took to import (python -X importtime,
# /usr/bin/time at load 6).
cli.commands = LazyCommands(
    {
        "list": "session:list_exercises",
        "show": "session:show",
        "export": "session:export",
        "check": "session:check",
        "voices": "voices:voices",
        "play": "play:play",
        "devices": "play:devices",
        "log": "practice:log_command",
        "next": "practice:next_length",
        "diary": "practice:diary",
        "batch": "batch:batch",
        "record": "record:record",
        "cache": "storage:cache",
    },
    package=__name__,
)

__all__ = ["cli", "main"]
