"""voiceguide: calming exercise scripts turned into guided audio.

The pipeline reads top to bottom, one folder per stage::

    1 parse/       parse_script / load_script   text -> Script
    2 speech/      synthesize_phrases           phrases -> Audio (engine + cache)
    3 dsp/level    level_voice                  Audio -> levelled Audio
    4 plan/        plan_timeline                Script + lengths -> Timeline
    5 mix/         Mixer                        Timeline -> blocks of samples
                   (cues from dsp/tones)
    6 sinks/       export_session, Player       blocks -> file or audio output

``session.prepare_session`` runs the stages up to the mixer::

    >>> from voiceguide import load_script, prepare_session, export_session
    >>> session = prepare_session(load_script("zelfkalmering"))
    >>> export_session(session, "zelfkalmering.mp3")
"""

from importlib import import_module

_HOMES = {
    "DeviceError": "errors",
    "EngineError": "errors",
    "ExportError": "errors",
    "PracticeDataError": "errors",
    "ScriptError": "errors",
    "UsageError": "errors",
    "VoiceguideError": "errors",
    "load_script": "parse.exercises",
    "parse_script": "parse.script",
    "read_script": "parse.script",
    "Session": "session",
    "VoiceOptions": "session",
    "prepare_session": "session",
    "export_session": "sinks.export",
    "Event": "plan.timeline",
    "Kind": "plan.timeline",
    "Timeline": "plan.timeline",
    "plan_timeline": "plan.timeline",
}
"""Where each name below lives. They are imported when first used, not
with the package: ``voiceguide`` (the command) starts its speech server
before numpy and the pipeline load (see :mod:`voiceguide.launch`)."""


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'voiceguide' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


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
