"""High-level calls that the CLI (and a Python user) make: one call per command."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from .errors import ScriptError, UsageError
from .exercises import builtins, load_script
from .sinks.export import ExportResult, export_session
from .lint import Finding, error_finding, script_warnings, timeline_warnings
from .mix import AMBIENCES, MixSettings
from .practice.store import DiaryEntry, ExerciseTotal, SessionRecord, Suggestion, TensionDrop, add_diary_entry, diary_entries, export_csv, export_diary_csv, recent_sessions, record_played, record_session, streak, suggest_minutes, suggestion, tension_drop_by_exercise, totals_by_exercise
from .script import Script, parse_script
from .session import Session, VoiceOptions, prepare_session
from .speech.pyttsx3 import Pyttsx3Engine
from .speech.engine import VoiceInfo
from .timeline import BREATH_KINDS, Kind, Timeline, format_clock, plan_timeline, spoken_texts, target_seconds

__all__ = ["ExportResult", "export_session", "prepare", "target_seconds", "check", "voices", "list_builtins", "timeline_rows", "format_clock",
    # the practice log and diary (practice.py)
    "DiaryEntry", "ExerciseTotal", "SessionRecord", "Suggestion", "TensionDrop", "add_diary_entry", "diary_entries", "export_csv",
    "export_diary_csv", "recent_sessions", "record_played", "record_session", "streak", "suggest_minutes", "suggestion",
    "tension_drop_by_exercise", "totals_by_exercise",
]


def prepare(
    name_or_path: str | Path,
    *,
    language: str | None = None,
    voice: str | None = None,
    rate: int | None = None,
    sample_rate: int = 44_100,
    target_s: float | None = None,
    ambience: str = "none",
    ambience_below_voice_db: float | None = None,
) -> Session:
    """Load a built-in exercise or script file and prepare it for rendering,
    stretched or shrunk to ``target_s`` seconds when given, with optional
    ``pink`` or ``brown`` ambience under it."""
    if ambience not in AMBIENCES:
        raise UsageError(f"ambience must be one of {', '.join(AMBIENCES)}, not '{ambience}'")
    mix = MixSettings(sample_rate=sample_rate, ambience=ambience)
    if ambience_below_voice_db is not None:
        mix = replace(mix, ambience_below_voice_db=ambience_below_voice_db)
    script = load_script(name_or_path, language)
    return prepare_session(script, voice=VoiceOptions(voice=voice, rate=rate), mix=mix, target_s=target_s)


def check(name_or_path: str | Path, *, language: str | None = None) -> list[Finding]:
    """Lint a script: errors stop at the first; warnings are all listed."""
    try:
        script = load_script(name_or_path, language)
        findings = script_warnings(script)
        session = prepare_session(script)
    except ScriptError as error:
        return [error_finding(error)]
    return findings + timeline_warnings(session)


def voices(language: str | None = None) -> list[VoiceInfo]:
    with Pyttsx3Engine() as engine:
        found = engine.voices()
    if language:
        language = language.lower()
        found = [v for v in found if any(lang.lower().split("-")[0] == language for lang in v.languages)]
    return found


@dataclass(frozen=True)
class BuiltinEntry:
    name: str
    language: str
    title: str
    estimated_s: float


def estimate_duration(script: Script) -> float:
    """Planned length with speech lengths estimated from the word count
    (no engine needed; within a few percent for espeak at the script's rate)."""
    words_per_s = script.meta.rate / 60
    lengths = {text: 0.3 + len(text.split()) / words_per_s for text in spoken_texts(script)}
    return plan_timeline(script, lengths, {}).duration_s


def list_builtins() -> list[BuiltinEntry]:
    entries = []
    for builtin in builtins():
        script = parse_script(builtin.text(), builtin.resource_name)
        entries.append(BuiltinEntry(builtin.name, builtin.language, script.meta.title, estimate_duration(script)))
    return entries


def timeline_rows(timeline: Timeline) -> list[tuple[str, str, str, str]]:
    """Rows for a readable timeline table; spoken counts are folded into the
    breath phase they belong to."""
    counted = {(e.line, e.cycle) for e in timeline.events if e.kind is Kind.COUNT}
    rows = []
    for event in timeline.events:
        if event.kind is Kind.COUNT:
            continue
        detail = event.text
        if event.kind in BREATH_KINDS:
            detail = f"cycle {event.cycle}" + (", counted" if (event.line, event.cycle) in counted else "")
        elif event.kind is Kind.CLIP:
            detail = Path(event.text).name
        length = "" if event.kind is Kind.CHAPTER else f"{event.duration_s:.1f}s"
        rows.append((_clock_tenths(event.start_s), length, event.kind.value, detail))
    rows.append((_clock_tenths(timeline.duration_s), "", "end", ""))
    return rows


def _clock_tenths(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"
