"""The range a script reports is the range it accepts (issue 13, item 1).

Random scripts with ``[at]`` markers, elastic pauses and open-ended
breathing, with made-up speech lengths: every length inside the range
:func:`length_range` reports plans to within 1 s, and every length well
outside it is refused with that range. Where whole breath cycles alone must
make up a length, the refusal names the nearest lengths, and those plan.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiers import examples

from voiceguide.clock import format_clock_tenths
from voiceguide.errors import ScriptError
from voiceguide.parse.script import At, Pause, parse_script
from voiceguide.plan.timeline import (
    COUNT_WORDS,
    LENGTH_TOLERANCE_S,
    Kind,
    length_range,
    plan_timeline,
    reported_range,
    spoken_texts,
)

PIECES = st.one_of(
    st.builds(lambda n: f"Zin {n}.", st.integers(0, 10**6)),
    st.sampled_from(
        [
            "[pause 2s]",
            "[pause 0s]",
            "[pause 1-5s]",
            "[pause 2-8s]",
            "[pause 0-30s]",
            "[pause 3-4s]",
            "[pause *]",
            "[breathe seed x2]",
            "[breathe 4-2-6 x2-6]",
            "[breathe seed x0+]",
            "[breathe seed x2+]",
            "[breathe box x*]",
            "[breathe 4-7-8 x1+ count]",
            "[breathe 3-0-5 x1-3 count]",
            "[bell]",
            "[chime]",
            "\n",
            "\n\n",
            "# Hoofdstuk\n",
        ]
    ),
)
SEGMENT = st.lists(PIECES, min_size=1, max_size=6)
WAIT_S = st.one_of(st.just(0.0), st.floats(0.0, 90.0).map(lambda s: round(s, 1)))


@st.composite
def scripts(draw):
    """A script whose every [at] is on time at its own pace: each marker's time
    is where what precedes it ends (found by planning it) plus a wait."""
    segments = draw(st.lists(SEGMENT, min_size=1, max_size=4))
    waits = draw(st.lists(WAIT_S, min_size=len(segments) - 1, max_size=len(segments) - 1))
    body = " ".join(segments[0])
    lengths: dict[str, float] = {}
    for segment, wait in zip(segments[1:], waits):
        cursor = _cursor_after(body, lengths, draw)
        body += f"\n[at {_seconds_text(cursor + wait)}]\n" + " ".join(segment)
    script = parse_script(body + "\n[bell]", "r.vg")  # something to play, always
    _draw_lengths(script, lengths, draw)
    return script, lengths


def _draw_lengths(script, lengths: dict[str, float], draw) -> None:
    for text in spoken_texts(script):
        if text not in lengths:
            counted = text in COUNT_WORDS["nl"]
            lengths[text] = draw(st.floats(0.2, 0.95 if counted else 9.0))


def _cursor_after(body: str, lengths: dict[str, float], draw) -> float:
    """Where the next item starts after ``body`` at the script's own pace: the start of a [chime] put there."""
    probe = parse_script(body + "\n[chime]", "r.vg")
    _draw_lengths(probe, lengths, draw)
    chime = plan_timeline(probe, lengths).of_kind(Kind.CHIME)[-1]
    return chime.start_s


def _seconds_text(seconds: float) -> str:
    # [at] takes a written time: the next millisecond, so the marker stays on time
    return f"{(int(seconds * 1000) + 1) / 1000:.3f}s"


CASES = settings(
    max_examples=examples(2500), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@CASES
@given(case=scripts(), fractions=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=3))
def test_every_length_in_the_reported_range_plans_within_a_second(case, fractions):
    script, lengths = case
    own = plan_timeline(script, lengths).duration_s
    shortest, longest = length_range(script, lengths)
    assert shortest <= own + LENGTH_TOLERANCE_S and own - LENGTH_TOLERANCE_S <= longest, (shortest, own, longest)
    for target in {shortest, longest, own, *(shortest + f * (longest - shortest) for f in fractions)}:
        _plans_or_names_cycle_steps(script, lengths, target)


@settings(CASES, max_examples=examples(600))
@given(case=scripts(), beyond_s=st.floats(1.5, 600.0))
def test_lengths_outside_the_range_are_refused_with_that_range(case, beyond_s):
    script, lengths = case
    shortest, longest = length_range(script, lengths)
    # the ends rounded outwards to a tenth: the range named holds every length the session can have
    low, high = reported_range(shortest, longest)
    assert low <= shortest <= low + 0.1 and high - 0.1 <= longest <= high
    reported = f"it can be from {format_clock_tenths(low)} to {format_clock_tenths(high)}"
    for target in (shortest - beyond_s, longest + beyond_s):
        if target <= 0:
            continue
        with pytest.raises(ScriptError) as refused:
            plan_timeline(script, lengths, target_s=target)
        assert refused.value.message == f"cannot make this session {format_clock_tenths(target)} long; {reported}"


STEPS = re.compile(r"cannot make this session \S+ long; (?:lengths in steps of \d+ s: |whole breath cycles make it )(.*)$")


def _plans_or_names_cycle_steps(script, lengths, target: float) -> None:
    try:
        timeline = plan_timeline(script, lengths, target_s=target)
    except ScriptError as error:
        steps = STEPS.match(error.message)
        assert steps, f"{target:.3f} s is inside the reported range but refused: {error}"
        assert not _last_part_has_a_bounded_elastic_pause(script), f"a pause could have closed the gap: {error}"
        nearest = [_seconds(text) for text in steps.group(1).split(" or ")]
        assert nearest and all(abs(length - target) > LENGTH_TOLERANCE_S - 0.05 for length in nearest), error.message
        for length in nearest:
            assert abs(plan_timeline(script, lengths, target_s=length).duration_s - length) <= LENGTH_TOLERANCE_S + 0.05
        return
    assert abs(timeline.duration_s - target) <= LENGTH_TOLERANCE_S, (target, timeline.duration_s)
    assert all(event.duration_s >= 0 and event.start_s >= 0 for event in timeline.events)
    _markers_land_in_proportion(script, lengths, timeline, target)


def _last_part_has_a_bounded_elastic_pause(script) -> bool:
    """Such a pause can grow past its maximum to close any gap, so whole
    breath cycles never leave a length out."""
    markers = [index for index, item in enumerate(script.items) if isinstance(item, At)]
    last_part = script.items[markers[-1] + 1 :] if markers else script.items
    return any(isinstance(item, Pause) and item.elastic and item.max_s != float("inf") for item in last_part)


def _markers_land_in_proportion(script, lengths, timeline, target: float) -> None:
    """Whatever follows an [at] starts at its time scaled by the session: by
    target / own length (a target at the very edge of the range, within the
    tolerance, may keep the markers at the edge)."""
    own = plan_timeline(script, lengths).duration_s
    for marker in (item for item in script.items if isinstance(item, At)):
        after = sorted(
            (e for e in timeline.events if (e.line, e.col) > (marker.at.line, marker.at.col)), key=lambda e: (e.line, e.col)
        )
        if after:
            earliest = marker.time_s * (target - LENGTH_TOLERANCE_S) / own - 1e-6
            latest = marker.time_s * (target + LENGTH_TOLERANCE_S) / own + 1e-6
            assert earliest <= after[0].start_s <= latest
            assert min(e.start_s for e in after) >= after[0].start_s - 1e-6


def _seconds(clock: str) -> float:
    parts = [float(part) for part in clock.split(":")]
    return sum(part * 60**power for power, part in enumerate(reversed(parts)))


@pytest.mark.parametrize(
    "body",
    [
        "[bell]\n[at 0:15]",
        "[bell]\n[at 0:05]",
        "Adem in. [bell]\n[at 0:07]\n[pause 3s]",
        "Zin 1. [bell]\n[at 0:06]\nZin 2. [pause 2-4s]",
    ],
)
def test_a_bell_ringing_past_the_last_marker_never_turns_the_range_around(body):
    """A bell that rings on past the last [at] makes the last part at least
    that long; the longest length counts that ring-out too, so the range
    is never reported the wrong way round (found by fuzzing: "it can be
    from 0:17 to 0:12.7"), and it holds the script's own length."""
    script = parse_script(body + "\n", "r.vg")
    lengths = {text: 0.06 * len(text) + 0.3 for text in spoken_texts(script)}
    own = plan_timeline(script, lengths).duration_s
    shortest, longest = length_range(script, lengths)
    assert shortest <= own + LENGTH_TOLERANCE_S and own - LENGTH_TOLERANCE_S <= longest
    for target in (shortest, longest, (shortest + longest) / 2):
        _plans_or_names_cycle_steps(script, lengths, target)
    with pytest.raises(
        ScriptError, match=re.escape(f"it can be from {format_clock_tenths(reported_range(shortest, longest)[0])} to")
    ):
        plan_timeline(script, lengths, target_s=longest + 30)
