"""Stage 2: plan a :class:`Timeline` of events with absolute times.

Planning needs the length of every spoken phrase and clip, so the caller
synthesizes (or looks up) those first and passes their durations in. The
planner itself is pure arithmetic: the same script and lengths always give
the same timeline.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from . import rules
from .clock import format_clock, format_clock_tenths
from .errors import ScriptError, UsageError
from .script import MAX_CYCLES, At, Bell, Breathe, Chapter, Chime, Clip, Pause, Script, Speech, parse_duration

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
    max_session_s: float = field(default_factory=rules.max_session_s)
    """No session may plan longer than this (a shared script must not make
    voiceguide render for hours)."""


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


def count_words(script: Script) -> list[str]:
    """The count words the script's counted breathing speaks, in order."""
    words: list[str] = []
    for item in script.items:
        if isinstance(item, Breathe) and item.count:
            longest = max(counts_in_phase(phase) for phase in item.pattern_s)
            words += [count_word(n, script.meta.language) for n in range(1, longest + 1)]
    return list(dict.fromkeys(words))


def spoken_texts(script: Script) -> list[str]:
    """Every distinct phrase the engine must speak, in order of appearance."""
    return list(dict.fromkeys([item.text for item in script.sentences()] + count_words(script)))


STAR_PAUSE_CAP_S = 30.0
"""An unbounded ``[pause *]`` never grows past this: longer silences after a
sentence lose the listener."""
UNBOUNDED_CYCLES_PER_STRETCH = 4.0
LENGTH_TOLERANCE_S = 1.0
MIN_GAP_SCALE = 0.6
PAUSE_OVERFLOW_PER_STRETCH = 0.25


@dataclass(frozen=True)
class _Choice:
    """The lengths picked for the elastic items: seconds per pause and cycles
    per breathing block (by item index), and the scale for ``[at]`` times."""

    pause_s: dict[int, float]
    cycles: dict[int, int]
    at_scale: float = 1.0
    gap_scale: float = 1.0
    """Sentence and paragraph gaps shrink (never grow) for short sessions."""


def _elastic(low: float, default: float, high: float, growth: float, stretch: float) -> float:
    """An elastic item's value at ``stretch``: 0 is its minimum, 1 its
    default, and beyond 1 it grows by ``growth`` per unit up to ``high``."""
    if stretch <= 1.0:
        return low + (default - low) * max(stretch, 0.0)
    return min(high, default + growth * (stretch - 1.0))


def _choose(script: Script, pause_stretch: float, cycle_stretch: float, at_scale: float = 1.0, overflow: bool = False) -> _Choice:
    """Elastic lengths for one pair of stretches (0 = shortest, 1 = default).

    Pauses reach their maximum at stretch 2; past it they grow on by a
    quarter of their range per unit, which only the final fitting step uses,
    to absorb what is left below one breath cycle. Blocks round their
    cycles at staggered points, so a growing session gains one cycle at a
    time rather than one in every block at once.
    """
    pauses: dict[int, float] = {}
    cycles: dict[int, int] = {}
    blocks = [i for i, item in enumerate(script.items) if isinstance(item, Breathe) and item.cycles_max > item.cycles_min]
    for index, item in enumerate(script.items):
        if isinstance(item, Pause) and item.elastic:
            unbounded = math.isinf(item.max_s)
            high = min(item.max_s, max(STAR_PAUSE_CAP_S, item.min_s))
            value = _elastic(item.min_s, item.default_s, high, (high - item.default_s), pause_stretch)
            if overflow and pause_stretch > 2.0 and not unbounded:
                value += (pause_stretch - 2.0) * (high - item.min_s) * PAUSE_OVERFLOW_PER_STRETCH
            pauses[index] = value
        elif index in blocks:
            item_b: Breathe = item  # type: ignore[assignment]
            unbounded = item_b.cycles_max >= MAX_CYCLES
            growth = UNBOUNDED_CYCLES_PER_STRETCH if unbounded else item_b.cycles_max - item_b.cycles_default
            value = _elastic(item_b.cycles_min, item_b.cycles_default, item_b.cycles_max, growth, cycle_stretch)
            offset = (blocks.index(index) + 0.5) / len(blocks) if cycle_stretch != 1.0 else 0.5
            cycles[index] = int(min(item_b.cycles_max, max(item_b.cycles_min, math.floor(value + offset))))
    return _Choice(pauses, cycles, at_scale, _elastic(MIN_GAP_SCALE, 1.0, 1.0, 0.0, pause_stretch))


def plan_timeline(
    script: Script,
    speech_s: Mapping[str, float],
    clip_s: Mapping[Path, float] | None = None,
    settings: PlanSettings = PlanSettings(),
    target_s: float | None = None,
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
    target_s:
        The wanted session length. Elastic pauses stretch or shrink (each in
        proportion to its range) and elastic breathing blocks gain or lose
        whole cycles until the session lands within 1 s of it; ``[at]``
        times scale with the stretch. None plays every item at its default.

    Raises
    ------
    ScriptError
        When an ``[at]`` marker is already passed, naming the line and by how
        much, or when ``target_s`` is out of the script's reach (the message
        gives the possible range).
    """
    layout = _Layout(script, speech_s, clip_s or {}, settings)
    choice = _choose(script, 1.0, 1.0)
    if target_s is not None:
        choice = _fit(script, layout, target_s)
    elif (default_s := layout.length(choice, check_at=False)) > settings.max_session_s:
        raise ScriptError(
            f"this session would last {format_clock_tenths(default_s)}; the limit is {format_clock_tenths(settings.max_session_s)} "
            "(fewer cycles or shorter pauses, or raise the limit with VOICEGUIDE_MAX_MINUTES)",
            script.source,
        )
    events, end = layout.run(choice, build=True)
    meta = script.meta
    return Timeline(
        title=meta.title,
        language=script.meta.language,
        events=tuple(sorted(events, key=lambda event: event.start_s)),
        duration_s=round(end, 6),
        hold_tone=meta.hold_tone,
        source=script.source,
        meta={"author": meta.author, "voice": meta.voice, "rate": meta.rate},
    )


def length_range(
    script: Script,
    speech_s: Mapping[str, float],
    clip_s: Mapping[Path, float] | None = None,
    settings: PlanSettings = PlanSettings(),
) -> tuple[float, float]:
    """The shortest and longest session the script allows (the longest is
    capped at the 3 hour session limit)."""
    layout = _Layout(script, speech_s, clip_s or {}, settings)
    default = layout.length(_choose(script, 1.0, 1.0))
    return _reach(script, layout, default)


def _reach(script: Script, layout: _Layout, default_s: float) -> tuple[float, float]:
    shortest = layout.length(_choose(script, 0.0, 0.0), check_at=False)
    longest = layout.length(_choose(script, 1e6, 1e6), check_at=False)
    return shortest, min(longest, layout.settings.max_session_s)


def _fit(script: Script, layout: _Layout, target_s: float) -> _Choice:
    default_s = layout.length(_choose(script, 1.0, 1.0), check_at=False)
    at_scale = target_s / default_s
    shortest, longest = _reach(script, layout, default_s)

    def length(pause_stretch: float, cycle_stretch: float, overflow: bool = False) -> float:
        return layout.length(_choose(script, pause_stretch, cycle_stretch, at_scale, overflow), check_at=False)

    def out_of_reach() -> ScriptError:
        return ScriptError(
            f"cannot make this session {format_clock_tenths(target_s)} long; it can be from {format_clock_tenths(shortest)} to {format_clock_tenths(longest)}",
            script.source,
        )

    if not shortest - LENGTH_TOLERANCE_S <= target_s <= longest + LENGTH_TOLERANCE_S or target_s > layout.settings.max_session_s:
        raise out_of_reach()
    # 1. whole breath cycles and pauses together: the largest stretch that
    #    does not overshoot; 2. pauses alone close the remaining gap (less
    #    than one breath cycle).
    stretch = _bisect(lambda x: length(x, x), target_s, high=_upper(lambda x: length(x, x), target_s))
    low = min(stretch, 2.0)
    pause_stretch = _bisect(
        lambda x: length(x, stretch, True), target_s, low=low, high=_upper(lambda x: length(x, stretch, True), target_s, low + 2)
    )
    choice = _choose(script, pause_stretch, stretch, at_scale, overflow=True)
    if abs(layout.length(choice, check_at=False) - target_s) > LENGTH_TOLERANCE_S:
        raise out_of_reach()
    layout.length(choice)  # raises on a passed [at]
    return choice


def _upper(length: Callable[[float], float], target_s: float, high: float = 2.0) -> float:
    while length(high) < target_s and high < 1e6:
        high *= 2
    return high


def _bisect(length: Callable[[float], float], target_s: float, low: float = 0.0, high: float = 2.0) -> float:
    """The largest x in [low, high] with length(x) <= target (length is non-decreasing)."""
    if length(low) > target_s:
        return low
    for _ in range(50):
        middle = (low + high) / 2
        if length(middle) <= target_s:
            low = middle
        else:
            high = middle
    return low


class _Layout:
    """Places the script's items for one choice of elastic lengths."""

    def __init__(self, script: Script, speech_s: Mapping[str, float], clip_s: Mapping[Path, float], settings: PlanSettings):
        self.script = script
        self.speech_s = speech_s
        self.clip_s = clip_s
        self.settings = settings

    def length(self, choice: _Choice, check_at: bool = True) -> float:
        return self.run(choice, build=False, check_at=check_at)[1]

    def run(self, choice: _Choice, build: bool, check_at: bool = True) -> tuple[list[Event], float]:
        script, settings = self.script, self.settings
        language = script.meta.language
        events: list[Event] = []
        cursor = settings.lead_in_s
        end = cursor
        previous: Speech | None = None

        def add(kind: Kind, duration: float, text: str = "", line: int = 0, col: int = 0) -> None:
            nonlocal end
            end = max(end, cursor + duration)
            if build:
                events.append(Event(kind, round(cursor, 6), round(duration, 6), text, line, col))

        for index, item in enumerate(script.items):
            if isinstance(item, Speech):
                if previous is not None:
                    gap = settings.sentence_gap_s if previous.paragraph == item.paragraph else settings.paragraph_gap_s
                    cursor += gap * choice.gap_scale
                length = self.speech_s[item.text]
                add(Kind.SPEECH, length, item.text, item.at.line, item.at.col)
                cursor += length
                previous = item
                continue
            previous = None
            if isinstance(item, Pause):
                seconds = choice.pause_s.get(index, item.default_s)
                if seconds > 0:
                    add(Kind.SILENCE, seconds, "", item.at.line, item.at.col)
                cursor += seconds
            elif isinstance(item, At):
                time_s = item.time_s * choice.at_scale
                if cursor > time_s + 1e-6:
                    if check_at:
                        raise ScriptError(
                            f"[at {format_clock_tenths(time_s)}] is already passed by {cursor - time_s:.1f} s "
                            f"(what comes before it lasts until {format_clock_tenths(cursor)}); move the marker later or shorten what precedes it",
                            script.source,
                            item.at.line,
                            item.at.col,
                        )
                elif time_s > cursor:
                    add(Kind.SILENCE, time_s - cursor, "", item.at.line, item.at.col)
                    cursor = time_s
            elif isinstance(item, Chapter):
                add(Kind.CHAPTER, 0.0, item.title, item.at.line, item.at.col)
            elif isinstance(item, Breathe):
                cycles = choice.cycles.get(index, item.cycles_default)
                cursor = _plan_breathing(item, cycles, cursor, language, self.speech_s, events if build else None)
                end = max(end, cursor)
            elif isinstance(item, Bell):
                add(Kind.BELL, settings.bell_s, "", item.at.line, item.at.col)
                cursor += settings.bell_advance_s
            elif isinstance(item, Chime):
                add(Kind.CHIME, settings.chime_s, "", item.at.line, item.at.col)
                cursor += settings.chime_s
            elif isinstance(item, Clip):
                length = self.clip_s[item.path]
                add(Kind.CLIP, length, str(item.path), item.at.line, item.at.col)
                cursor += length
        return events, max(end, cursor) + settings.tail_s


def _plan_breathing(
    block: Breathe, cycles: int, cursor: float, language: str, speech_s: Mapping[str, float], events: list[Event] | None
) -> float:
    phases = [(Kind.INHALE, block.inhale_s), (Kind.HOLD, block.hold_s), (Kind.EXHALE, block.exhale_s)]
    if block.hold_after_s:
        phases.append((Kind.HOLD, block.hold_after_s))
    where = block.at
    for cycle in range(1, cycles + 1):
        for kind, length in phases:
            if length <= 0:
                continue
            if events is None:
                cursor += length
                continue
            events.append(Event(kind, round(cursor, 6), round(length, 6), "", where.line, where.col, cycle))
            if block.count:
                for number in range(1, counts_in_phase(length) + 1):
                    word = count_word(number, language)
                    events.append(
                        Event(
                            Kind.COUNT,
                            round(cursor + number - 1, 6),
                            round(speech_s[word], 6),
                            word,
                            where.line,
                            where.col,
                            cycle,
                        )
                    )
            cursor += length
    return cursor


def target_seconds(minutes: float | None = None, length: str | None = None) -> float | None:
    """The session length asked for with ``--minutes`` or ``--length``."""
    if minutes is not None and length is not None:
        raise UsageError("give --minutes or --length, not both")
    if length is None:
        return None if minutes is None else minutes * 60.0
    try:
        seconds = parse_duration(length)
    except ValueError as exc:
        raise UsageError(f"--length {exc}") from None
    limit = rules.max_session_s()
    if not rules.MIN_SESSION_S <= seconds <= limit:
        raise UsageError(
            f"--length must be between {format_clock(rules.MIN_SESSION_S)} and {format_clock(limit)}, not '{length}'"
        )
    return seconds


def place_counts_on_beat(timeline: Timeline, onsets_s: Mapping[str, float]) -> Timeline:
    """The timeline with every spoken count moved earlier by its word's vowel
    onset (seconds from the start of the word's audio to its vowel), so the
    vowel, which a listener hears as the count, lands on the beat."""
    if not onsets_s:
        return timeline
    events = [
        replace(event, start_s=round(max(0.0, event.start_s - onsets_s.get(event.text, 0.0)), 6))
        if event.kind is Kind.COUNT
        else event
        for event in timeline.events
    ]
    return replace(timeline, events=tuple(sorted(events, key=lambda event: event.start_s)))
