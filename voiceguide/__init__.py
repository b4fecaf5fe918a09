"""voiceguide: calming exercise scripts turned into guided audio.

The pipeline reads top to bottom, one module per stage::

    script.py    parse_script / read_script   text -> Script
    timeline.py  plan_timeline                Script + lengths -> Timeline
    speech.py    synthesize_phrases           text -> Audio (pyttsx3 worker + cache)
    tones.py     inhale / exhale / bell ...   numpy cues
    mix.py       Mixer                        Timeline -> blocks of samples
    export.py    export_session               blocks -> WAV/MP3/FLAC/OGG file

``session.prepare_session`` runs the stages up to the mixer; ``api`` holds
one call per CLI command.
"""

from .api import check, prepare
from .errors import DeviceError, EngineError, ExportError, ScriptError, UsageError, VoiceguideError
from .exercises import load_script
from .export import export_session
from .script import parse_script, read_script
from .session import Session, VoiceOptions, prepare_session
from .timeline import Event, Kind, Timeline, plan_timeline

__all__ = [
    "DeviceError", "EngineError", "Event", "ExportError", "Kind", "ScriptError", "Session", "Timeline",
    "UsageError", "VoiceOptions", "VoiceguideError", "check", "export_session", "load_script",
    "parse_script", "plan_timeline", "prepare", "prepare_session", "read_script",
]
