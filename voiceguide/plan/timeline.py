"""Stage 4: plan a :class:`Timeline` of events with absolute times.

Planning needs the length of every spoken phrase and clip, so the caller
synthesizes (or looks up) those first and passes their durations in. The
planner itself is pure arithmetic: the same script and lengths always give
the same timeline.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from .. import rules
from ..clock import format_clock_tenths
from ..dsp.tones import BELL_S, CHIME_S
from ..errors import ScriptError
from ..i18n import _
from ..parse.script import At, Bell, Breathe, Chapter, Chime, Clip, Item, Pause, Script, Speech
from ..rules import MAX_CYCLES

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
    bell_s: float = BELL_S
    """How long a bell rings out (the event length: it rings on under what follows)."""
    bell_advance_s: float = 3.5
    """How long after a bell stroke the next item starts."""
    chime_s: float = CHIME_S
    """The closing chime, rung out to 42 dB under its attack (about 9.7 s)."""
    tail_s: float = 1.5
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
    """Every distinct phrase the engine must speak, in order of appearance
    (the script's returns, its ``~`` lines, after its sentences and counts)."""
    returns = [line.text for line in script.returns]
    return list(dict.fromkeys([item.text for item in script.sentences()] + count_words(script) + returns))


STAR_PAUSE_CAP_S = 30.0
"""An unbounded ``[pause *]`` never grows past this: longer silences after a
sentence lose the listener."""
UNBOUNDED_CYCLES_PER_STRETCH = 4.0
LENGTH_TOLERANCE_S = 1.0
"""A session planned for a length lands at most this far from it."""
GAP_SCALE_FLOOR = 0.6
"""Planner tuning (no limit a user meets): a shorter session may close its gaps to this fraction of their length."""
PAUSE_OVERFLOW_PER_STRETCH = 0.25
AT_ON_TIME_S = 1e-6
"""What comes before an ``[at]`` may run this far past its time (float
rounding) and still count as on time."""
AT_WAIT_GROWTH_S = STAR_PAUSE_CAP_S
"""In a stretched session the silence before an ``[at]`` (its wait) may grow
by at most this much over its wait at the script's own pace; a longer
session than that allows is out of reach rather than a long silence."""
_FAR = 1e6
"""A stretch beyond every elastic item's maximum."""


@dataclass(frozen=True)
class _Segment:
    """The items from the start, or from an ``[at]``, up to the next ``[at]``."""

    first: int
    """Index of the segment's first item (after its marker)."""
    stop: int
    """Index just past its last item (the next marker, or the end)."""
    marker: At | None
    """The ``[at]`` it starts with; None for the first segment."""

    @property
    def time_s(self) -> float:
        """Where the segment starts at the script's own pace."""
        return self.marker.time_s if self.marker else 0.0


@dataclass(frozen=True)
class _Stretch:
    """The lengths picked for one segment's elastic items: seconds per pause
    and cycles per breathing block (by item index); items not named keep
    their default."""

    pause_s: dict[int, float] = field(default_factory=dict)
    cycles: dict[int, int] = field(default_factory=dict)
    gap_scale: float = 1.0
    """Sentence and paragraph gaps shrink (never grow) for short sessions."""


@dataclass(frozen=True)
class _Plan:
    """A stretch per segment, and the factor for every ``[at]`` time."""

    stretches: tuple[_Stretch, ...]
    at_scale: float = 1.0


def _elastic(low: float, default: float, high: float, growth: float, stretch: float) -> float:
    """An elastic item's value at ``stretch``: 0 is its minimum, 1 its
    default, and beyond 1 it grows by ``growth`` per unit up to ``high``."""
    if stretch <= 1.0:
        return low + (default - low) * max(stretch, 0.0)
    return min(high, default + growth * (stretch - 1.0))


def _choose(script: Script, segment: _Segment, pause_stretch: float, cycle_stretch: float, overflow: bool = False) -> _Stretch:
    """Elastic lengths in one segment for a pair of stretches (0 = shortest, 1 = default).

    Pauses reach their maximum at stretch 2; past it they grow on by a
    quarter of their range per unit, which only the final fitting step uses,
    to absorb what is left below one breath cycle. Blocks round their
    cycles at staggered points, so a growing session gains one cycle at a
    time rather than one in every block at once.
    """
    pauses: dict[int, float] = {}
    cycles: dict[int, int] = {}
    items = script.items
    blocks = [
        i
        for i in range(segment.first, segment.stop)
        if isinstance(items[i], Breathe) and items[i].cycles_max > items[i].cycles_min
    ]
    for index in range(segment.first, segment.stop):
        item = items[index]
        if isinstance(item, Pause) and item.elastic:
            pauses[index] = _pause_s(item, pause_stretch, overflow)
        elif index in blocks:
            offset = (blocks.index(index) + 0.5) / len(blocks) if cycle_stretch != 1.0 else 0.5
            cycles[index] = _cycles_at(item, cycle_stretch, offset)  # type: ignore[arg-type]
    return _Stretch(pauses, cycles, _elastic(GAP_SCALE_FLOOR, 1.0, 1.0, 0.0, pause_stretch))


def _pause_s(item: Pause, stretch: float, overflow: bool) -> float:
    high = min(item.max_s, max(STAR_PAUSE_CAP_S, item.min_s))
    value = _elastic(item.min_s, item.default_s, high, high - item.default_s, stretch)
    if overflow and stretch > 2.0 and not math.isinf(item.max_s):
        value += (stretch - 2.0) * (high - item.min_s) * PAUSE_OVERFLOW_PER_STRETCH
    return value


def _cycles_at(block: Breathe, stretch: float, offset: float) -> int:
    unbounded = block.cycles_max >= MAX_CYCLES
    growth = UNBOUNDED_CYCLES_PER_STRETCH if unbounded else block.cycles_max - block.cycles_default
    value = _elastic(block.cycles_min, block.cycles_default, block.cycles_max, growth, stretch)
    return int(min(block.cycles_max, max(block.cycles_min, math.floor(value + offset))))


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
        The wanted session length. Every ``[at]`` time scales by
        ``target_s`` over the script's own length; between them, elastic
        pauses stretch or shrink (each in proportion to its range) and
        elastic breathing blocks gain or lose whole cycles, so that what
        comes before a marker fills the time up to it and the session lands
        within 1 s of the target. Any length :func:`length_range` gives
        works. None plays every item at its default.

    Raises
    ------
    ScriptError
        When an ``[at]`` marker is already passed at the script's own pace
        (every such marker, each with its line and by how much), or when
        ``target_s`` is out of the script's reach (the message gives the
        possible range, or the nearest lengths when whole breath cycles
        cannot meet it).
    """
    layout = _Layout(script, speech_s, clip_s or {}, settings)
    plan = layout.default_plan()
    if target_s is not None:
        plan = _Fitter(layout).fit(target_s)
    elif (default_s := layout.default_length_s) > settings.max_session_s:
        raise ScriptError(
            _(
                "this session would last {format_clock_tenths}; the limit is {format_clock_tenths2} (fewer cycles or shorter pauses, or raise the limit with VOICEGUIDE_MAX_MINUTES)"
            ).format(
                format_clock_tenths=format_clock_tenths(default_s),
                format_clock_tenths2=format_clock_tenths(settings.max_session_s),
            ),
            script.source,
        )
    events: list[Event] = []
    end = layout.length_s(plan, events)
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
    """The shortest and longest session the script allows, in seconds (the
    longest is capped at the session limit). Every length in between plans
    (see :func:`plan_timeline`), except where whole breath cycles alone
    must make it up: then the nearest lengths are named.

    Raises ScriptError when an ``[at]`` is already passed at the script's own pace.
    """
    layout = _Layout(script, speech_s, clip_s or {}, settings)
    layout.default_plan()
    return _Fitter(layout).reach()


class _Layout:
    """Places the script's items for one choice of elastic lengths."""

    def __init__(self, script: Script, speech_s: Mapping[str, float], clip_s: Mapping[Path, float], settings: PlanSettings):
        self.script = script
        self.speech_s = speech_s
        self.clip_s = clip_s
        self.settings = settings
        self.segments = _segments(script)
        self.default_length_s = 0.0

    def default_plan(self) -> _Plan:
        """Every item at its default; raises ScriptError naming every ``[at]`` that is passed."""
        plan = _Plan(tuple(_Stretch() for _ in self.segments))
        late: list[ScriptError] = []
        self.default_length_s = self.length_s(plan, late=late)
        if late:
            raise ScriptError.several(late)
        return plan

    def origin_s(self, number: int) -> float:
        """Where a segment's own items start, from its time: after the lead-in for the first."""
        return self.settings.lead_in_s if number == 0 else 0.0

    def measure(self, number: int, stretch: _Stretch) -> tuple[float, float]:
        """A segment's (cursor, end of its last sound), in seconds from its time."""
        return self.walk(self.segments[number], stretch, self.origin_s(number))

    def run(
        self, plan: _Plan, events: list[Event] | None = None, late: list[ScriptError] | None = None, upto: int | None = None
    ) -> tuple[float, float]:
        """Place every item (or those before segment ``upto``): the cursor
        after them and the end of the last sound. ``late`` collects the
        ``[at]`` markers that are passed (planning goes on after them)."""
        cursor = end = self.settings.lead_in_s
        for segment, stretch in zip(self.segments[:upto], plan.stretches):
            if segment.marker is not None:
                cursor = self._wait(segment.marker, segment.marker.time_s * plan.at_scale, cursor, events, late)
            cursor, segment_end = self.walk(segment, stretch, cursor, events)
            end = max(end, segment_end)
        return cursor, end

    def length_s(self, plan: _Plan, events: list[Event] | None = None, late: list[ScriptError] | None = None) -> float:
        """The session's length: until the last sound and the cursor, and the tail after."""
        return max(self.run(plan, events, late)) + self.settings.tail_s

    def _wait(
        self, marker: At, time_s: float, cursor: float, events: list[Event] | None, late: list[ScriptError] | None
    ) -> float:
        if cursor > time_s + AT_ON_TIME_S:
            error = ScriptError(
                _(
                    "[at {format_clock_tenths}] is already passed by {seconds_text} s (what comes before it lasts until {format_clock_tenths2}); move the marker later or shorten what precedes it"
                ).format(
                    format_clock_tenths=format_clock_tenths(time_s),
                    seconds_text=_seconds_text(cursor - time_s),
                    format_clock_tenths2=format_clock_tenths(cursor),
                ),
                self.script.source,
                marker.at.line,
                marker.at.col,
            )
            if late is None:
                raise error
            late.append(error)
        elif time_s > cursor:
            if events is not None:
                events.append(Event(Kind.SILENCE, round(cursor, 6), round(time_s - cursor, 6), "", marker.at.line, marker.at.col))
            return time_s
        return cursor

    def walk(self, segment: _Segment, stretch: _Stretch, cursor: float, events: list[Event] | None = None) -> tuple[float, float]:
        """Place one segment's items from ``cursor``: (cursor after them, end of the last sound)."""
        settings = self.settings
        end = cursor
        previous: Speech | None = None
        owed = 0.0  # the quiet a question still needs before the next sound

        def add(kind: Kind, duration: float, item: Item, text: str = "") -> None:
            nonlocal end
            end = max(end, cursor + duration)
            if events is not None:
                events.append(Event(kind, round(cursor, 6), round(duration, 6), text, item.at.line, item.at.col))

        for index in range(segment.first, segment.stop):
            item = self.script.items[index]
            if isinstance(item, Speech):
                gap = 0.0
                if previous is not None:
                    gap = settings.sentence_gap_s if previous.paragraph == item.paragraph else settings.paragraph_gap_s
                cursor += max(gap * stretch.gap_scale, owed)
                owed = 0.0
                add(Kind.SPEECH, self.speech_s[item.text], item, item.text)
                cursor += self.speech_s[item.text]
                previous = item
                owed = question_quiet_s(stretch.gap_scale) if is_question(item.text) else 0.0
                continue
            previous = None
            if isinstance(item, Chapter):
                add(Kind.CHAPTER, 0.0, item, item.title)
                continue
            if isinstance(item, Pause):
                seconds = max(stretch.pause_s.get(index, item.default_s), owed)
                owed = 0.0
                if seconds > 0:
                    add(Kind.SILENCE, seconds, item)
                cursor += seconds
                continue
            if owed > 0:  # a question followed by tones or a sound: the quiet comes first
                add(Kind.SILENCE, owed, item)
                cursor += owed
                owed = 0.0
            if isinstance(item, Breathe):
                cycles = stretch.cycles.get(index, item.cycles_default)
                cursor = _plan_breathing(item, cycles, cursor, self.script.meta.language, self.speech_s, events)
                end = max(end, cursor)
            elif isinstance(item, Bell | Chime | Clip):
                kind, duration, advance, text = self._sound(item)
                add(kind, duration, item, text)
                cursor += advance
        return cursor, end

    def _sound(self, item: Bell | Chime | Clip) -> tuple[Kind, float, float, str]:
        """A bell, chime or clip: (kind, how long it sounds, how long until the next item, its text)."""
        settings = self.settings
        if isinstance(item, Bell):
            return Kind.BELL, settings.bell_s, settings.bell_advance_s, ""
        if isinstance(item, Chime):
            return Kind.CHIME, settings.chime_s, settings.chime_s, ""
        return Kind.CLIP, self.clip_s[item.path], self.clip_s[item.path], str(item.path)


QUESTION_QUIET_S = (1.5, 2.0)
"""The quiet after a question, in seconds: at the shortest session and from
the default length up (elastic, like the sentence gaps). A question is a
moment for imagining; it needs time before the next sound."""


def is_question(text: str) -> bool:
    """Whether a sentence asks something (ends in '?', closing quotes aside)."""
    return text.rstrip("\"'”’) ").endswith("?")


def question_quiet_s(gap_scale: float) -> float:
    """The quiet after a question at this gap scale (GAP_SCALE_FLOOR to 1)."""
    shortest, default = QUESTION_QUIET_S
    return shortest + (default - shortest) * (gap_scale - GAP_SCALE_FLOOR) / (1.0 - GAP_SCALE_FLOOR)


def _segments(script: Script) -> tuple[_Segment, ...]:
    markers = [(index, item) for index, item in enumerate(script.items) if isinstance(item, At)]
    starts = [(0, None), *((index + 1, marker) for index, marker in markers)]
    stops = [index for index, _ in markers] + [len(script.items)]
    return tuple(_Segment(first, stop, marker) for (first, marker), stop in zip(starts, stops))


@dataclass(frozen=True)
class _Bounds:
    """How far the session scale (its length over the script's own) may go."""

    low: float
    """No part before a marker can shrink enough below this."""
    high: float
    """Above this, some marker would wait AT_WAIT_GROWTH_S longer than at the script's own pace."""
    last_low: float
    """The part after the last marker (or the whole script) reaches this far down..."""
    last_high: float
    """...and this far up."""


def _edge(holds: Callable[[float], bool], inside: float, outside: float, steps: int = 60) -> tuple[float, float]:
    """Where ``holds`` stops holding between ``inside`` (where it holds) and
    ``outside`` (where it does not), by bisection: the two ends, ``steps``
    halvings apart (fewer once they are neighbouring floats), still on their sides."""
    for _step in range(steps):
        middle = (inside + outside) / 2
        if middle in (inside, outside):
            break
        inside, outside = (middle, outside) if holds(middle) else (inside, middle)
    return inside, outside


def reported_range(shortest_s: float, longest_s: float) -> tuple[float, float]:
    """The range a message names, to a tenth of a second: the shortest
    rounded down and the longest up, so it holds every length the session
    can have (1e-6 absorbs float noise)."""
    return math.floor(shortest_s * 10 + 1e-6) / 10, math.ceil(longest_s * 10 - 1e-6) / 10


class _Fitter:
    """Fits a script to a session length (see plan_timeline).

    With the session ``scale`` times the script's own length, every ``[at]``
    lands at ``scale`` times its time. Every part before a marker fills the
    time up to it, keeping the marker's wait (the silence before it) as it is
    at the script's own pace as far as its elastic items allow: the wait
    shrinks when the part cannot shrink enough, and grows, by at most
    AT_WAIT_GROWTH_S, when it cannot grow enough. The part after the last
    marker fills the rest of the session, landing within
    LENGTH_TOLERANCE_S. Each of these bounds the scale from below or above
    (see :class:`_Bounds`), so the lengths that work form one range, broken
    only where whole breath cycles alone must make up the last part.
    """

    def __init__(self, layout: _Layout):
        self.layout = layout
        self.script = layout.script
        self.segments = layout.segments
        self.last = len(self.segments) - 1
        self.own_s = layout.default_length_s
        self.own_waits_s = [max(0.0, self._span_s(n) - self.length(n, 1.0, 1.0)) for n in range(self.last)]
        """The silence before each marker at the script's own pace."""

    def length(
        self, number: int, pause_stretch: float, cycle_stretch: float, overflow: bool = False, carry_s: float = 0.0
    ) -> float:
        """A part's cursor (before a marker) or its length with the tail (the
        last part, which lasts at least until ``carry_s``, the ring-out of what
        came before) at these stretches, in seconds from its time."""
        cursor, end = self.layout.measure(number, self._choose(number, pause_stretch, cycle_stretch, overflow))
        if number < self.last:
            return cursor
        return max(cursor, end, carry_s) + self.layout.settings.tail_s

    def _choose(self, number: int, pause_stretch: float, cycle_stretch: float, overflow: bool = False) -> _Stretch:
        return _choose(self.script, self.segments[number], pause_stretch, cycle_stretch, overflow)

    def _span_s(self, number: int) -> float:
        """A part's time at the script's own pace, up to the next marker (the session's end for the last)."""
        following = self.segments[number + 1].time_s if number < self.last else self.own_s
        return following - self.segments[number].time_s

    @functools.cached_property
    def bounds(self) -> _Bounds:
        low, high = 0.0, math.inf
        for number in range(self.last):
            span = self._span_s(number)
            if span > 0:
                low = max(low, self.length(number, 0.0, 0.0) / span)
                high = min(high, (self.length(number, _FAR, _FAR) + self.own_waits_s[number] + AT_WAIT_GROWTH_S) / span)
        span = self._span_s(self.last)
        last_low = self._last_low(self.length(self.last, 0.0, 0.0) / span, low)
        last_high = self._last_high(self.length(self.last, _FAR, _FAR) / span, high)
        return _Bounds(low, high, last_low, last_high)

    def _last_high(self, high: float, ceiling: float) -> float:
        """The last part's highest scale, raised where a sound from before
        the last marker rings on past it: the last part then lasts at least
        as long as that ring-out (which shrinks as the scale grows), more
        than its own items alone would."""
        if self.last == 0 or math.isinf(high) or high >= ceiling:
            return high
        span = self._span_s(self.last)
        alone = self.length(self.last, _FAR, _FAR)
        if self.length(self.last, _FAR, _FAR, carry_s=self._carry_s(high)) <= alone:
            return high  # nothing rings on past the marker for longer than the part lasts anyway (it only shrinks)

        def fills(scale: float) -> bool:
            return self.length(self.last, _FAR, _FAR, carry_s=self._carry_s(scale)) >= span * scale

        if fills(ceiling):
            return ceiling
        if not fills(high):
            return high
        return _edge(fills, high, ceiling)[0]

    def _last_low(self, low: float, floor: float) -> float:
        """The last part's lowest scale, raised where a bell from before the
        last marker rings on past it longer than the part lasts (rare: it
        needs a short last part). The ring-out shrinks as the scale grows."""
        span = self._span_s(self.last)
        start = max(low, floor)
        rings_s = [end - cursor for cursor, end in (self.layout.measure(n, self._choose(n, 0.0, 0.0)) for n in range(self.last))]
        if self.length(self.last, 0.0, 0.0, carry_s=max(rings_s, default=0.0)) <= self.length(self.last, 0.0, 0.0):
            return low  # nothing rings on past a marker for longer than the last part lasts anyway

        def runs_long(scale: float) -> bool:
            return self.length(self.last, 0.0, 0.0, carry_s=self._carry_s(scale)) > span * scale

        if not runs_long(start):
            return low
        high = 2 * start
        while runs_long(high) and high < _FAR:
            start, high = high, 2 * high
        return _edge(runs_long, start, high)[1]

    def _carry_s(self, scale: float, stretches: list[_Stretch] | None = None) -> float:
        """How long sounds from before the last marker ring on past it at ``scale``."""
        stretches = stretches if stretches is not None else self._fill_all(scale)
        plan = _Plan((*stretches, _Stretch()), scale)
        _placed, end = self.layout.run(plan, upto=self.last)
        return max(0.0, end - self.segments[self.last].time_s * scale)

    def _fill_all(self, scale: float) -> list[_Stretch]:
        return [self._fill(n, self._span_s(n) * scale - self.own_waits_s[n]) for n in range(self.last)]

    def reach(self) -> tuple[float, float]:
        bounds = self.bounds
        shortest = max(bounds.low, bounds.last_low) * self.own_s
        longest = min(bounds.high, bounds.last_high) * self.own_s
        return shortest, min(longest, self.layout.settings.max_session_s)

    def fit(self, target_s: float) -> _Plan:
        shortest, longest = self.reach()
        if (
            not shortest - LENGTH_TOLERANCE_S <= target_s <= longest + LENGTH_TOLERANCE_S
            or target_s > self.layout.settings.max_session_s
        ):
            raise ScriptError(
                _(
                    "cannot make this session {format_clock_tenths} long; it can be from {format_clock_tenths2} to {format_clock_tenths3}"
                ).format(
                    format_clock_tenths=format_clock_tenths(target_s),
                    format_clock_tenths2=format_clock_tenths(reported_range(shortest, longest)[0]),
                    format_clock_tenths3=format_clock_tenths(reported_range(shortest, longest)[1]),
                ),
                self.script.source,
            )
        # a target just outside the markers' bounds (within the tolerance) keeps them
        # at the bound; the last part then makes up the rest
        bounds = self.bounds
        scale = min(max(target_s / self.own_s, bounds.low), bounds.high)
        stretches = self._fill_all(scale)
        last_s = target_s - self.segments[self.last].time_s * scale
        landed = self._land(last_s, self._carry_s(scale, stretches))
        if isinstance(landed, tuple):
            raise self._steps(target_s, scale, *landed)
        return _Plan((*stretches, landed), scale)

    def _fill(self, number: int, length_s: float) -> _Stretch:
        """Stretches for a part before a marker: the longest it can be up to ``length_s``
        (or its shortest: the marker's wait takes the difference)."""

        def both(x: float) -> float:
            return self.length(number, x, x)

        cycle, more = _bracket(both, length_s, high=_upper(both, length_s))
        low = min(cycle, 2.0)
        pause = _bracket(lambda x: self.length(number, x, cycle), length_s, low=low, high=max(low, 2.0))[0]
        # one cycle more with shorter pauses may come closer (pauses stay within their range here)
        fewer = _bracket(lambda x: self.length(number, x, more), length_s, high=min(more, 2.0))[0]
        if self.length(number, pause, cycle) < self.length(number, fewer, more) <= length_s:
            return self._choose(number, fewer, more)
        return self._choose(number, pause, cycle)

    def _land(self, length_s: float, carry_s: float) -> _Stretch | tuple[float, float]:
        """Stretches that make the last part last ``length_s`` (within the
        tolerance), or the nearest lengths (below, above) it can have."""
        last = self.last

        def near(length: float) -> bool:
            return abs(length - length_s) <= LENGTH_TOLERANCE_S

        def both(x: float) -> float:
            return self.length(last, x, x, carry_s=carry_s)

        # 1. whole breath cycles and pauses together: the largest stretch that
        #    does not overshoot; 2. pauses alone close the remaining gap (less
        #    than one breath cycle), growing past their maximum if they must.
        cycle, more = _bracket(both, length_s, high=_upper(both, length_s))

        def pauses(x: float) -> float:
            return self.length(last, x, cycle, True, carry_s)

        low = min(cycle, 2.0)
        pause = _bracket(pauses, length_s, low=low, high=_upper(pauses, length_s, low + 2))[0]
        if near(pauses(pause)):
            return self._choose(last, pause, cycle, True)
        # 3. one cycle more, with pauses and gaps shorter than that stretch gives them
        pause = _bracket(lambda x: self.length(last, x, more, carry_s=carry_s), length_s, high=more)[0]
        if near(self.length(last, pause, more, carry_s=carry_s)):
            return self._choose(last, pause, more)
        return self.length(last, _FAR, cycle, carry_s=carry_s), self.length(last, 0.0, more, carry_s=carry_s)

    def _steps(self, target_s: float, scale: float, below_s: float, above_s: float) -> ScriptError:
        """Whole breath cycles cannot meet the length: name the nearest lengths that work."""
        # the last part's length at this scale, and how a session's length moves with it
        start_s = self.segments[self.last].time_s * scale
        per_second = self.own_s / self._span_s(self.last)
        shortest, longest = self.reach()
        lengths = [target_s + (length - (target_s - start_s)) * per_second for length in (below_s, above_s)]
        # one just past an end of the range (within the tolerance) is shown as that end, which works
        options = [
            min(max(length, shortest), longest)
            for length in lengths
            if shortest - LENGTH_TOLERANCE_S <= length <= longest + LENGTH_TOLERANCE_S
        ]
        if len(options) == 2:
            nearest = _("lengths in steps of {step_s:.0f} s: {lengths}").format(
                step_s=lengths[1] - lengths[0], lengths=_(" or ").join(map(format_clock_tenths, options))
            )
        else:
            nearest = _("whole breath cycles make it {lengths}").format(
                lengths=_(" or ").join(map(format_clock_tenths, options)) or _("other lengths")
            )
        return ScriptError(
            _("cannot make this session {format_clock_tenths} long; {nearest}").format(
                format_clock_tenths=format_clock_tenths(target_s), nearest=nearest
            ),
            self.script.source,
        )


def _seconds_text(seconds: float) -> str:
    """``3.0``, or for less than a twentieth of a second ``0.012``: never a bare ``0.0``."""
    return f"{seconds:.1f}" if seconds >= 0.05 else f"{seconds:.3f}" if seconds >= 0.0005 else f"{seconds:.1g}"


def _upper(length: Callable[[float], float], target_s: float, high: float = 2.0) -> float:
    while length(high) < target_s and high < _FAR:
        high *= 2
    return high


def _bracket(length: Callable[[float], float], target_s: float, low: float = 0.0, high: float = 2.0) -> tuple[float, float]:
    """For a non-decreasing ``length``: the largest x in [low, high] with
    length(x) <= target, and just above it the smallest x found past it
    (``low`` twice when even low overshoots, ``high`` twice when even high fits)."""
    if length(low) > target_s:
        return low, low
    if length(high) <= target_s:
        return high, high
    return _edge(lambda x: length(x) <= target_s, low, high, steps=50)


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


def settled_until_s(
    script: Script,
    known: Collection[str],
    clip_s: Mapping[Path, float] | None = None,
    settings: PlanSettings = PlanSettings(),
    *,
    speech_s: Mapping[str, float],
    target_s: float | None = None,
    count_onset_s: float = 0.0,
) -> float:
    """How far the plan is certain while only the phrases in ``known`` have
    their real lengths (``speech_s`` holds them; the others may have any
    estimate): every event that sounds before the returned time (seconds)
    has the same start and length in a plan made with any lengths for the
    rest, ``math.inf`` when nothing is left unknown.

    The walk follows :meth:`_Layout.walk` item by item from the lead-in and
    stops at the first item whose place or length is not yet fixed: a phrase
    not yet known, a counted breathing block whose count words are not
    known, and for a session fitted to ``target_s`` anything the fitter
    stretches (an elastic pause or breathing block, the gap between two
    sentences, an ``[at]``, whose time scales with the whole session). Counts
    are moved earlier by their vowel onset (:func:`place_counts_on_beat`), so
    the result is that much earlier: ``count_onset_s``, at least the largest
    onset of the script's count words (their length bounds it).
    """
    fitted = target_s is not None
    clip_s = clip_s or {}
    cursor = settings.lead_in_s
    previous: Speech | None = None
    owed = 0.0  # the quiet a question still needs (as _Layout.walk); its length scales with a fit
    for item in script.items:
        if isinstance(item, At):
            if fitted:
                return cursor - count_onset_s
            cursor = max(cursor, item.time_s)  # a passed marker fails every plan alike
            previous, owed = None, 0.0
            continue
        if isinstance(item, Speech):
            gap = 0.0
            if previous is not None:
                gap = settings.sentence_gap_s if previous.paragraph == item.paragraph else settings.paragraph_gap_s
            if fitted and (gap or owed):
                return cursor - count_onset_s  # the gap scales with the fit
            cursor += max(gap, owed)
            if item.text not in known:
                return cursor - count_onset_s
            cursor += speech_s[item.text]
            previous = item
            owed = question_quiet_s(1.0) if is_question(item.text) else 0.0
            continue
        previous = None
        if isinstance(item, Chapter):
            continue
        if fitted and owed:
            return cursor - count_onset_s
        if isinstance(item, Pause):
            if fitted and item.elastic:
                return cursor - count_onset_s
            cursor += max(item.default_s, owed)
            owed = 0.0
            continue
        cursor += owed
        owed = 0.0
        if isinstance(item, Breathe):
            words = [count_word(n, script.meta.language) for n in range(1, max(map(counts_in_phase, item.pattern_s)) + 1)]
            if (fitted and item.cycles_max > item.cycles_min) or (item.count and not set(words) <= set(known)):
                return cursor - count_onset_s
            cursor = _plan_breathing(item, item.cycles_default, cursor, script.meta.language, speech_s, None)
        elif isinstance(item, Bell):
            cursor += settings.bell_advance_s
        elif isinstance(item, Chime):
            cursor += settings.chime_s
        elif isinstance(item, Clip):
            cursor += clip_s[item.path]
    return math.inf
