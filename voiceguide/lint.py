"""``voiceguide check``: find what would sound wrong before rendering.

Errors are what stops a script from rendering (syntax, unknown clips,
impossible timing); warnings are what renders but will not feel right
(exhale not longer than inhale, speech over a breath cue, long holds,
repaired encoding damage, a note left in a chapter title). Like a
compiler, a check lists every error and warning in one run, in file order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ScriptError
from .i18n import N_, _
from .parse.exercises import script_source
from .parse.script import Breathe, Chapter, Script, check_script_text
from .plan.timeline import BREATH_KINDS, Kind
from .rules import MAX_COMFORTABLE_HOLD_S, Severity
from .session import Session, prepare_session, script_lexicon
from .speech.lexicon import Lexicon, load_lexicon
from .speech.piper import PITCH_NEUTRAL, is_piper_voice

_NOTE = re.compile(r"\s(<-|//|<!--)")
"""A note written after a chapter title (``# Aankomen  <- a chapter``)."""


@dataclass(frozen=True)
class Finding:
    severity: Severity
    """``error`` or ``warning``."""
    message: str
    source: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}:{self.col}" if self.line else self.source
        return f"{where}: {_(SEVERITY_NAMES[self.severity])}: {self.message}"


SEVERITY_NAMES = {Severity.ERROR: N_("error"), Severity.WARNING: N_("warning")}
"""How a finding's severity reads in the interface language."""


def error_finding(error: ScriptError) -> Finding:
    return Finding(Severity.ERROR, error.message, error.source, error.line, error.col)


def script_warnings(script: Script) -> list[Finding]:
    """Warnings that need only the parsed script."""
    found = []
    for where, bad, good in script.repairs:
        found.append(
            Finding(
                Severity.WARNING,
                _("encoding damage '{bad}' was read as '{good}'; fix the text").format(bad=bad, good=good),
                script.source,
                where.line,
                where.col,
            )
        )
    for item in script.items:
        if isinstance(item, Chapter) and _NOTE.search(item.title):
            title = " ".join(item.title.split())
            found.append(
                Finding(
                    Severity.WARNING,
                    _("chapter title '{title}' has a note in it; a note goes on a line of its own, after //").format(title=title),
                    script.source,
                    item.at.line,
                    item.at.col,
                )
            )
        if not isinstance(item, Breathe):
            continue
        line, col = item.at.line, item.at.col
        if item.exhale_s <= item.inhale_s:
            found.append(
                Finding(
                    Severity.WARNING,
                    _(
                        "exhale ({exhale_s:g} s) is not longer than inhale ({inhale_s:g} s); a longer out-breath calms, e.g. 4-2-6"
                    ).format(exhale_s=item.exhale_s, inhale_s=item.inhale_s),
                    script.source,
                    line,
                    col,
                )
            )
        for hold in (item.hold_s, item.hold_after_s):
            if hold > MAX_COMFORTABLE_HOLD_S:
                found.append(
                    Finding(
                        Severity.WARNING,
                        _("a {hold:g} s hold is long for most people; keep holds at {MAX_COMFORTABLE_HOLD_S:g} s or less").format(
                            hold=hold, MAX_COMFORTABLE_HOLD_S=MAX_COMFORTABLE_HOLD_S
                        ),
                        script.source,
                        line,
                        col,
                    )
                )
    return found


def timeline_warnings(session: Session) -> list[Finding]:
    """Warnings that need the planned timeline (real speech lengths): a
    spoken count that runs into the next count or over the next breath cue."""
    found: dict[str, Finding] = {}
    events = session.timeline.events
    breaths = [event for event in events if event.kind in BREATH_KINDS]
    for count in (event for event in events if event.kind is Kind.COUNT):
        beat = count.start_s + session.count_onsets_s.get(count.text, 0.0)  # where its vowel lands
        phase = next((b for b in breaths if b.start_s - 1e-6 <= beat < b.end_s - 1e-6), None)
        if phase is None:
            continue
        if count.end_s > phase.end_s + 0.01:
            message = _(
                "the spoken count '{count}' ends {overlap_s:.2f} s into the next breath cue; use whole-second phases or a faster rate"
            ).format(count=count.text, overlap_s=count.end_s - phase.end_s)
        elif count.duration_s > 1.0:
            message = _(
                "the spoken count '{count}' takes {length_s:.2f} s and runs into the next count; use a faster rate"
            ).format(count=count.text, length_s=count.duration_s)
        else:
            continue
        found.setdefault(message, Finding(Severity.WARNING, message, session.script.source, count.line, count.col))
    return list(found.values())


def voice_warnings(session: Session) -> list[Finding]:
    """A warning for a setting the voice that speaks cannot follow: a pitch
    for a Piper voice (Piper voices have none)."""
    voice = session.voice
    if is_piper_voice(voice.voice_id) and voice.pitch != PITCH_NEUTRAL:
        message = _("pitch {pitch} is ignored: {voice} is a Piper voice, which has no pitch setting").format(
            pitch=voice.pitch, voice=voice.voice_id
        )
        return [Finding(Severity.WARNING, message, session.script.source, 0, 0)]
    return []


def pronunciation_warnings(script: Script, lexicon: Lexicon) -> list[Finding]:
    """A warning for every word the speech engine is known to say wrong and
    no lexicon entry fixes (see :mod:`voiceguide.speech.lexicon`)."""
    found = []
    for sentence in [*script.sentences(), *script.returns]:
        for offset, word in lexicon.problems(sentence.text):
            found.append(
                Finding(
                    Severity.WARNING,
                    _(
                        "espeak-ng is known to say '{word}' wrong and no lexicon entry fixes it; reword it, or give a respelling in a lexicon (see docs/engines.md)"
                    ).format(word=word),
                    script.source,
                    sentence.at.line,
                    sentence.at.col + offset if "\n" not in sentence.text[:offset] else sentence.at.col,
                )
            )
    return found


def check_script(name_or_path: str | Path, *, language: str | None = None) -> list[Finding]:
    """Every finding for a script or built-in, errors and warnings together,
    in file order (findings without a line last).

    Errors in the text do not stop the check: every one is listed, with the
    warnings about what could be read. Planning (real speech lengths, clips,
    ``[at]`` times) needs a script without errors.
    """
    try:
        source = script_source(name_or_path, language)
    except ScriptError as error:
        return [error_finding(error)]
    report = check_script_text(source.text, source.name, clip_dirs=source.clip_dirs)
    findings = [error_finding(error) for error in report.errors] + script_warnings(report.script)
    if not report.errors:
        try:
            findings += pronunciation_warnings(
                report.script, load_lexicon(report.script.meta.language, script_lexicon(report.script))
            )
            session = prepare_session(report.script)
        except ScriptError as error:
            findings += [error_finding(each) for each in error.errors]
        else:
            findings += timeline_warnings(session) + voice_warnings(session)
    return sorted(findings, key=lambda f: (f.line == 0, f.line, f.col))
