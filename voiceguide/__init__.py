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

from importlib import import_module

from .errors import DeviceError, EngineError, ExportError, PracticeDataError, ScriptError, UsageError, VoiceguideError

# Public names and the module each lives in. They load on first use, so
# that `voiceguide play` starts sounding before export, tagging and
# loudness code (and their libraries) are imported.
_LAZY = {
    "check": "api", "prepare": "api",
    "load_script": "exercises",
    "export_session": "sinks.export",
    "parse_script": "script", "read_script": "script",
    "Session": "session", "VoiceOptions": "session", "prepare_session": "session",
    "Event": "timeline", "Kind": "timeline", "Timeline": "timeline", "plan_timeline": "timeline",
}

__all__ = sorted([*_LAZY, "DeviceError", "EngineError", "ExportError", "PracticeDataError", "ScriptError", "UsageError", "VoiceguideError"])


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'voiceguide' has no attribute {name!r}")
