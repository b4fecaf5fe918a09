"""voiceguide: calming exercise scripts turned into guided audio.

The pipeline reads top to bottom, one stage per module or folder::

    script.py      parse_script / read_script   text -> Script
    speech/        synthesize_phrases           phrases -> Audio (engine + cache)
    dsp/level.py   level_voice                  Audio -> levelled Audio
    timeline.py    plan_timeline                Script + lengths -> Timeline
    tones.py       inhale / exhale / bell ...   numpy cues
    mix.py         Mixer                        Timeline -> blocks of samples
    sinks/         export_session, Player       blocks -> file or audio output

``session.prepare_session`` runs the stages up to the mixer::

    >>> from voiceguide import load_script, prepare_session, export_session
    >>> session = prepare_session(load_script("zelfkalmering"))
    >>> export_session(session, "zelfkalmering.mp3")
"""

from .errors import DeviceError, EngineError, ExportError, PracticeDataError, ScriptError, UsageError, VoiceguideError
from .exercises import load_script
from .script import parse_script, read_script
from .session import Session, VoiceOptions, prepare_session
from .sinks.export import export_session
from .timeline import Event, Kind, Timeline, plan_timeline

__all__ = [
    "DeviceError",
    "EngineError",
    "Event",
    "ExportError",
    "Kind",
    "PracticeDataError",
    "ScriptError",
    "Session",
    "Timeline",
    "UsageError",
    "VoiceOptions",
    "VoiceguideError",
    "export_session",
    "load_script",
    "parse_script",
    "plan_timeline",
    "prepare_session",
    "read_script",
]
