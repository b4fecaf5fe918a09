"""Transcripts beside the audio: WebVTT, SubRip (SRT) or LRC.

One cue per spoken phrase, from its real start to its real end (the
synthesized length, not an estimate), and one per breath phase ("Breathe
in", "Hold", "Breathe out"; in Dutch "Adem in", "Houd vast", "Adem uit").
Spoken counts are folded into the phase they belong to ("Breathe in: one,
two, three, four"), so cues never overlap and every format can show them.

* WebVTT (``.vtt``): ``WEBVTT`` header, ``HH:MM:SS.mmm --> HH:MM:SS.mmm``,
  text with ``&``, ``<`` and ``>`` escaped (W3C WebVTT, section 4).
* SRT (``.srt``): numbered cues, ``HH:MM:SS,mmm --> HH:MM:SS,mmm``.
* LRC (``.lrc``): ID tags (``[ti:]``, ``[ar:]``, ``[al:]``, ``[length:]``)
  and one ``[mm:ss.xx]text`` line per cue; LRC has no end times, so an
  empty ``[mm:ss.xx]`` line clears the text where a cue ends before the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..clock import format_lrc_time, format_timestamp
from ..plan.timeline import Kind, Timeline

PHASE_LABELS = {
    "nl": {Kind.INHALE: "Adem in", Kind.HOLD: "Houd vast", Kind.EXHALE: "Adem uit"},
    "en": {Kind.INHALE: "Breathe in", Kind.HOLD: "Hold", Kind.EXHALE: "Breathe out"},
}


class TranscriptFormat(str, Enum):
    VTT = "vtt"
    SRT = "srt"
    LRC = "lrc"


@dataclass(frozen=True)
class Cue:
    """One line of the transcript and when it is heard, in seconds."""

    start_s: float
    end_s: float
    text: str


def transcript_cues(timeline: Timeline) -> list[Cue]:
    """The cues of a timeline in time order: phrases and breath phases."""
    labels = PHASE_LABELS.get(timeline.language, PHASE_LABELS["en"])
    counts = timeline.of_kind(Kind.COUNT)
    cues = []
    for event in timeline.events:
        if event.kind is Kind.SPEECH:
            cues.append(Cue(event.start_s, event.end_s, " ".join(event.text.split())))
        elif event.kind in labels:
            # a count belongs to the phase its middle is in (counts start a
            # little before their beat, so that their vowel lands on it)
            spoken = [
                c.text for c in counts if c.cycle == event.cycle and event.start_s <= (c.start_s + c.end_s) / 2 < event.end_s
            ]
            text = labels[event.kind] + (": " + ", ".join(spoken) if spoken else "")
            cues.append(Cue(event.start_s, event.end_s, text))
    return sorted(cues, key=lambda cue: cue.start_s)


def _vtt_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_vtt(cues: list[Cue], title: str = "") -> str:
    header = " ".join(title.replace("-->", "->").split())
    blocks = ["WEBVTT" + (f" - {header}" if header else "")]
    for number, cue in enumerate(cues, start=1):
        blocks.append(f"{number}\n{format_timestamp(cue.start_s)} --> {format_timestamp(cue.end_s)}\n{_vtt_text(cue.text)}")
    return "\n\n".join(blocks) + "\n"


def format_srt(cues: list[Cue]) -> str:
    blocks = [
        f"{number}\n{format_timestamp(cue.start_s, ',')} --> {format_timestamp(cue.end_s, ',')}\n{cue.text}"
        for number, cue in enumerate(cues, start=1)
    ]
    return "\n\n".join(blocks) + "\n"


def format_lrc(cues: list[Cue], *, title: str = "", artist: str = "", album: str = "", duration_s: float = 0.0) -> str:
    lines = []
    for tag, value in (("ti", title), ("ar", artist), ("al", album)):
        if value:
            lines.append(f"[{tag}:{' '.join(value.split())}]")
    if duration_s:
        minutes, seconds = divmod(int(round(duration_s)), 60)
        lines.append(f"[length:{minutes:02d}:{seconds:02d}]")
    lines.append("[re:voiceguide]")
    for index, cue in enumerate(cues):
        lines.append(f"[{format_lrc_time(cue.start_s)}]{cue.text}")
        following = cues[index + 1].start_s if index + 1 < len(cues) else None
        if following is None or format_lrc_time(following) != format_lrc_time(cue.end_s) and following > cue.end_s:
            lines.append(f"[{format_lrc_time(cue.end_s)}]")
    return "\n".join(lines) + "\n"


def render_transcript(timeline: Timeline, fmt: str | TranscriptFormat, *, album: str = "") -> str:
    """The transcript of ``timeline`` as text in format ``fmt`` (vtt, srt or lrc)."""
    fmt = TranscriptFormat(fmt)
    cues = transcript_cues(timeline)
    if fmt is TranscriptFormat.VTT:
        return format_vtt(cues, timeline.title)
    if fmt is TranscriptFormat.SRT:
        return format_srt(cues)
    return format_lrc(
        cues, title=timeline.title, artist=str(timeline.meta.get("author") or ""), album=album, duration_s=timeline.duration_s
    )
