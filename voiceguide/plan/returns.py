"""Returns: short spoken lines that keep a voice in long sessions.

A long session grows its breathing blocks; without a word for many minutes
a listener with closed eyes drifts off or stops. A script's ``~`` lines
(:class:`~voiceguide.parse.script.Return`) are what the planner may say then:

1. every stretch without a voice (between two spoken phrases or counts)
   longer than ``RETURN_EVERY_S`` is cut into ``n`` equal parts, each at
   most that long, and a return is due at each of the ``n - 1`` cuts;
2. a return is spoken at the start of the out-breath nearest to its cut (or
   inside a silence long enough for it, where no breathing sounds), over
   the tones, and never within ``RETURN_MARGIN_S`` of other speech;
3. the lines are taken in turn, in the script's order, across the whole
   session: varied, and never the same line twice in a row.

Returns are laid over what is planned already and take no time of their
own, so a session keeps the length it was planned for. Pure arithmetic: the
same timeline always gets the same returns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ..parse.script import Return
from .timeline import VOICE_KINDS, Event, Kind, Timeline

RETURN_EVERY_S = 150.0
"""The longest stretch without a voice that gets no return (2.5 minutes):
with returns, no stretch is much longer (at most half a breath cycle more)."""
RETURN_MARGIN_S = 1.0
"""A return keeps this far from the voice before and after it."""


def with_returns(timeline: Timeline, returns: Sequence[Return], speech_s: Mapping[str, float]) -> Timeline:
    """The planned ``timeline`` with returns laid over its long stretches
    without a voice (see the module notes); its length stays as it is.
    ``speech_s`` holds the length in seconds of every return's text."""
    if not returns:
        return timeline
    events = place_returns(timeline.events, returns, speech_s, timeline.duration_s)
    return replace(timeline, events=tuple(sorted(events, key=lambda event: event.start_s)))


def place_returns(events: Sequence[Event], returns: Sequence[Return], speech_s: Mapping[str, float], end_s: float) -> list[Event]:
    """``events`` with returns added where the voice would be away too long.

    Parameters
    ----------
    events:
        The planned events (any order).
    returns:
        The script's ``~`` lines; with none, ``events`` come back as they are.
    speech_s:
        The length in seconds of every return's text.
    end_s:
        The session's length.
    """
    placed = list(events)
    if not returns:
        return placed
    longest_s = max(speech_s[line.text] for line in returns)
    turn = 0
    for start_s, stop_s in _voiceless(events, end_s):
        parts = math.ceil((stop_s - start_s) / RETURN_EVERY_S)
        if parts < 2:
            continue
        spots = _spots(events, start_s + RETURN_MARGIN_S, stop_s - RETURN_MARGIN_S - longest_s, longest_s)
        last_end_s = start_s
        for cut in range(1, parts):
            wanted_s = start_s + cut * (stop_s - start_s) / parts
            at_s = _nearest(spots, wanted_s, last_end_s + RETURN_MARGIN_S)
            if at_s is None:
                continue
            line = returns[turn % len(returns)]
            turn += 1
            duration_s = speech_s[line.text]
            placed.append(Event(Kind.SPEECH, round(at_s, 6), round(duration_s, 6), line.text, line.at.line, line.at.col))
            last_end_s = at_s + duration_s
    return placed


def earliest_return_s(events: Sequence[Event], end_s: float) -> float:
    """The earliest a return could be placed among ``events`` (infinity
    where none could): :data:`RETURN_MARGIN_S` into the first stretch
    without a voice long enough to get one. Nothing before it depends on
    the returns' lengths, so a plan whose returns are not made yet is
    certain up to there."""
    return min(
        (start_s + RETURN_MARGIN_S for start_s, stop_s in _voiceless(events, end_s) if stop_s - start_s > RETURN_EVERY_S),
        default=math.inf,
    )


def _voiceless(events: Sequence[Event], end_s: float) -> list[tuple[float, float]]:
    """The stretches without a voice: (from, to) in seconds, session start and end included."""
    voice = sorted((event.start_s, event.end_s) for event in events if event.kind in VOICE_KINDS)
    stretches = []
    cursor = 0.0
    for start_s, stop_s in voice:
        if start_s > cursor:
            stretches.append((cursor, start_s))
        cursor = max(cursor, stop_s)
    if end_s > cursor:
        stretches.append((cursor, end_s))
    return stretches


def _spots(events: Sequence[Event], low_s: float, high_s: float, length_s: float) -> list[tuple[float, float]]:
    """Where a return of ``length_s`` may start between ``low_s`` and
    ``high_s``: the start of every out-breath (a point), and inside every
    silence that holds it with a margin on both sides (a span)."""
    spots = []
    for event in events:
        if event.kind is Kind.EXHALE and low_s <= event.start_s <= high_s:
            spots.append((event.start_s, event.start_s))
        elif event.kind is Kind.SILENCE:
            first, last = max(low_s, event.start_s + RETURN_MARGIN_S), min(high_s, event.end_s - RETURN_MARGIN_S - length_s)
            if first <= last:
                spots.append((first, last))
    return sorted(spots)


def _nearest(spots: list[tuple[float, float]], wanted_s: float, earliest_s: float) -> float | None:
    """The time nearest ``wanted_s`` within ``spots``, not before ``earliest_s``."""
    best = None
    for first, last in spots:
        if last < earliest_s:
            continue
        at_s = min(max(wanted_s, first, earliest_s), last)
        if best is None or abs(at_s - wanted_s) < abs(best - wanted_s):
            best = at_s
    return best
