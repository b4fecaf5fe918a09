"""Stage 2: plan a :class:`Timeline` of events with absolute times.

Planning needs the length of every spoken phrase and clip, so the caller
synthesizes (or looks up) those first and passes their durations in. The
planner itself is pure arithmetic: the same script and lengths always give
the same timeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Mapping

from .errors import ScriptError
from .script import At, Bell, Breathe, Chapter, Chime, Clip, Pause, Script, Speech

COUNT_WORDS = {
    "nl": ("een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen", "tien"),
    "en": ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
}


class Kind(str, Enum):
    SPEECH = "speech"
    COUNT = "count"
    SILENCE = "silence"
    INHALE = "inhale"
    HOLD = "hold"
    EXHALE = "exhale"
    BELL = "bell"
    CHIME = "chime"
    CLIP = "clip"
    CHAPTER = "chapter"


BREATH_KINDS = (Kind.INHALE, Kind.HOLD, Kind.EXHALE)
VOICE_KINDS = (Kind.SPEECH, Kind.COUNT)


@dataclass(frozen=True)
class PlanSettings:
    """Spacing rules for the planner, all in seconds."""

    lead_in_s: float = 1.0
    """Silence before the first sound."""
    sentence_gap_s: float = 0.7
    """Between two sentences of one paragraph."""
    paragraph_gap_s: float = 1.6
    """Between two paragraphs."""
    bell_s: float = 7.0
    """How long a bell rings out (the event length)."""
    bell_advance_s: float = 3.5
    """How long after a bell stroke the next item starts."""
    chime_s: float = 7.0
    tail_s: float = 2.5
    """Silence (with the closing fade) after the last event."""


@dataclass(frozen=True)
class Event:
    """One thing that sounds (or a chapter mark) on the timeline."""

    kind: Kind
    start_s: float
    duration_s: float
    text: str = ""
    """The spoken text, chapter title or clip path."""
    line: int = 0
    col: int = 0
    cycle: int = 0
    """1-based breath cycle for breath events and counts, else 0."""

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class Timeline:
    """The planned session: every event with absolute start and duration."""

    title: str
    language: str
    events: tuple[Event, ...]
    duration_s: float
    hold_tone: str = "soft"
    source: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    def of_kind(self, *kinds: Kind) -> list[Event]:
        return [event for event in self.events if event.kind in kinds]

    def chapters(self) -> list[Event]:
        return self.of_kind(Kind.CHAPTER)


def count_word(number: int, language: str) -> str:
    words = COUNT_WORDS.get(language, COUNT_WORDS["en"])
    return words[number - 1] if 1 <= number <= len(words) else str(number)


def counts_in_phase(duration_s: float) -> int:
    """How many whole-second counts fit in a breath phase (4 s -> 4, 4.5 s -> 5)."""
    return max(1, math.ceil(duration_s - 1e-9)) if duration_s > 0 else 0


def spoken_texts(script: Script) -> list[str]:
    """Every distinct phrase the engine must speak, in order of appearance."""
    texts = [item.text for item in script.sentences()]
    for item in script.items:
        if isinstance(item, Breathe) and item.count:
            longest = max(counts_in_phase(phase) for phase in item.pattern_s)
            texts += [count_word(n, script.meta.language) for n in range(1, longest + 1)]
    return list(dict.fromkeys(texts))


def plan_timeline(
    script: Script,
    speech_s: Mapping[str, float],
    clip_s: Mapping[Path, float] | None = None,
    settings: PlanSettings = PlanSettings(),
) -> Timeline:
    """Lay the script out in time.

    Parameters
    ----------
    script:
        The parsed script.
    speech_s:
        Length in seconds of every text from :func:`spoken_texts`.
    clip_s:
        Length in seconds of every clip file the script uses.
    settings:
        Gaps and lead-in/tail lengths.

    Raises
    ------
    ScriptError
        When an ``[at]`` marker is already passed, naming the line and by how much.
    """
    clip_s = clip_s or {}
    language = script.meta.language
    events: list[Event] = []
    cursor = settings.lead_in_s
    previous: Speech | None = None

    def add(kind: Kind, duration: float, text: str = "", line: int = 0, col: int = 0, cycle: int = 0) -> None:
        events.append(Event(kind, round(cursor, 6), round(duration, 6), text, line, col, cycle))

    for item in script.items:
        if isinstance(item, Speech):
            if previous is not None:
                cursor += settings.sentence_gap_s if previous.paragraph == item.paragraph else settings.paragraph_gap_s
            length = speech_s[item.text]
            add(Kind.SPEECH, length, item.text, item.at.line, item.at.col)
            cursor += length
            previous = item
            continue
        previous = None
        if isinstance(item, Pause):
            if item.default_s > 0:
                add(Kind.SILENCE, item.default_s, "", item.at.line, item.at.col)
            cursor += item.default_s
        elif isinstance(item, At):
            if cursor > item.time_s + 1e-6:
                raise ScriptError(
                    f"[at {_clock(item.time_s)}] is already passed by {cursor - item.time_s:.1f} s "
                    f"(what comes before it lasts until {_clock(cursor)}); move the marker later or shorten what precedes it",
                    script.source,
                    item.at.line,
                    item.at.col,
                )
            if item.time_s > cursor:
                add(Kind.SILENCE, item.time_s - cursor, "", item.at.line, item.at.col)
            cursor = item.time_s
        elif isinstance(item, Chapter):
            add(Kind.CHAPTER, 0.0, item.title, item.at.line, item.at.col)
        elif isinstance(item, Breathe):
            cursor = _plan_breathing(item, item.cycles_default, cursor, language, speech_s, events)
        elif isinstance(item, Bell):
            add(Kind.BELL, settings.bell_s, "", item.at.line, item.at.col)
            cursor += settings.bell_advance_s
        elif isinstance(item, Chime):
            add(Kind.CHIME, settings.chime_s, "", item.at.line, item.at.col)
            cursor += settings.chime_s
        elif isinstance(item, Clip):
            length = clip_s[item.path]
            add(Kind.CLIP, length, str(item.path), item.at.line, item.at.col)
            cursor += length

    end = max([cursor] + [event.end_s for event in events])
    meta = script.meta
    return Timeline(
        title=meta.title,
        language=language,
        events=tuple(sorted(events, key=lambda event: event.start_s)),
        duration_s=round(end + settings.tail_s, 6),
        hold_tone=meta.hold_tone,
        source=script.source,
        meta={"author": meta.author, "voice": meta.voice, "rate": meta.rate},
    )


def _plan_breathing(
    block: Breathe, cycles: int, cursor: float, language: str, speech_s: Mapping[str, float], events: list[Event]
) -> float:
    phases = [(Kind.INHALE, block.inhale_s), (Kind.HOLD, block.hold_s), (Kind.EXHALE, block.exhale_s)]
    if block.hold_after_s:
        phases.append((Kind.HOLD, block.hold_after_s))
    where = block.at
    for cycle in range(1, cycles + 1):
        for kind, length in phases:
            if length <= 0:
                continue
            events.append(Event(kind, round(cursor, 6), round(length, 6), "", where.line, where.col, cycle))
            if block.count:
                for number in range(1, counts_in_phase(length) + 1):
                    word = count_word(number, language)
                    events.append(
                        Event(Kind.COUNT, round(cursor + number - 1, 6), round(speech_s[word], 6), word, where.line, where.col, cycle)
                    )
            cursor += length
    return cursor


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}" if rest % 1 else f"{int(minutes)}:{int(rest):02d}"
