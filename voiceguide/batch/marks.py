"""What a bundle's page and feed need from a track's timeline: when it
breathes, and where its chapters begin.

A track's :class:`TrackMarks` is taken from its planned timeline in the
worker that renders it, kept in the bundle's state file (so an unchanged
track keeps it on a rerun without being planned again), embedded in
``index.html`` for the breathing visual, and written for the feed as a
Podcasting 2.0 JSON chapters file beside the audio (``NAME.chapters.json``;
see the podcast namespace's ``jsonChapters.md``, version 1.2.0: an object
with ``version`` and ``chapters``, each chapter a ``startTime`` in seconds
and a ``title``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from .. import rules
from ..plan.timeline import Kind, Timeline

PHASES = ("in", "hold", "out")
"""The breath phases the page shows, in the order of a breath."""
CHAPTERS_SUFFIX = ".chapters.json"
CHAPTERS_VERSION = "1.2.0"
CHAPTERS_MIME = "application/json+chapters"
"""The MIME type the podcast namespace gives a JSON chapters file."""


@dataclass(frozen=True)
class BreathPhase:
    """One phase of a breath and when it is heard, in seconds."""

    phase: str
    """``in``, ``hold`` or ``out``."""
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Chapter:
    """A chapter title and when it begins, in seconds from the start."""

    title: str
    start_s: float


@dataclass(frozen=True)
class TrackMarks:
    """A track's breath phases and chapters, in time order."""

    phases: tuple[BreathPhase, ...] = ()
    chapters: tuple[Chapter, ...] = ()


def track_marks(timeline: Timeline) -> TrackMarks:
    """The marks of a planned timeline (rounded to milliseconds)."""
    names = {Kind.INHALE: "in", Kind.HOLD: "hold", Kind.EXHALE: "out"}
    phases = tuple(
        BreathPhase(names[event.kind], round(event.start_s, 3), round(event.end_s, 3))
        for event in timeline.of_kind(*names)
        if event.duration_s > 0
    )
    chapters = tuple(Chapter(event.text, round(event.start_s, 3)) for event in timeline.chapters())
    return TrackMarks(tuple(sorted(phases, key=lambda p: p.start_s)), chapters)


def marks_to_json(marks: TrackMarks) -> dict:
    """The marks as plain JSON values (for the state file and the page)."""
    return {
        "phases": [[p.phase, p.start_s, p.end_s] for p in marks.phases],
        "chapters": [[c.title, c.start_s] for c in marks.chapters],
    }


def marks_from_json(data: object) -> TrackMarks | None:
    """Marks read back from :func:`marks_to_json`; None when anything in
    them is not what it wrote (a damaged or edited state file)."""
    if not isinstance(data, dict):
        return None
    phases, chapters = data.get("phases"), data.get("chapters")
    if not isinstance(phases, list) or not isinstance(chapters, list) or len(phases) + len(chapters) > rules.MAX_MARKS:
        return None
    read_phases, read_chapters = [], []
    try:  # a wrong shape fails to unpack or convert with one of these
        for name, start, end in phases:
            if name not in PHASES:
                return None
            read_phases.append(BreathPhase(name, _seconds(start), _seconds(end)))
        for title, start in chapters:
            if not isinstance(title, str) or rules.unsafe_character(title) is not None:
                return None
            read_chapters.append(Chapter(title, _seconds(start)))
    except (TypeError, ValueError):
        return None
    return TrackMarks(tuple(read_phases), tuple(read_chapters))


def _seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(value)
    if not 0 <= value <= rules.MAX_SESSION_LIMIT_S:
        raise ValueError(value)
    return float(value)


def chapters_file(audio_file: str) -> str:
    """The JSON chapters file's name beside a track's audio (``01-x.mp3`` -> ``01-x.chapters.json``)."""
    return Path(audio_file).stem + CHAPTERS_SUFFIX


def chapters_json(marks: TrackMarks, *, title: str = "", podcast: str = "", audio_file: str = "") -> bytes:
    """A Podcasting 2.0 JSON chapters file (version 1.2.0) for one track.

    A track without chapters of its own gets one chapter with its title at
    0 s, so every item of the feed points at a file that parses."""
    chapters = [{"startTime": c.start_s, "title": c.title} for c in marks.chapters] or [{"startTime": 0, "title": title}]
    document = {"version": CHAPTERS_VERSION, "chapters": chapters}
    for key, value in (("title", title), ("podcastName", podcast), ("fileName", audio_file)):
        if value:
            document[key] = value
    return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
