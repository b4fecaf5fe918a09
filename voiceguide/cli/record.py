"""Recording a trainer's own voice: ``record``.

The steps and what each key means live in :class:`voiceguide.recorder.Recorder`;
this module only shows them in the terminal and passes keys on.
"""

from __future__ import annotations

import os
import queue
import shutil
import sys
import textwrap
import threading
from pathlib import Path
from typing import TextIO

import click

from ..errors import UsageError
from ..i18n import _, ngettext
from ..parse.exercises import load_script
from ..plan.timeline import spoken_texts
from ..recorder import KEYS, Recorder, Step, play_back, record_phrase
from ..sinks.devices import choose_format, find_device, find_input_device, is_available, sounddevice_module
from ..speech.pack import VoicePack
from ..take import prepare_take, read_take, store_take
from .options import lang_option, printable
from .terminal import KeyReader, StatusLine, is_terminal

KEY_NAMES = {"enter": "Enter", "n": "n", "r": "r", "q": "q"}


def parse_record_keys(data: bytes) -> list[str]:
    """Key names in bytes from a terminal in cbreak mode: ``enter`` (CR or
    LF), ``n``, ``r``, ``q`` (also Esc); anything else is ignored."""
    names = {b"\r": "enter", b"\n": "enter", b"n": "n", b"N": "n", b"r": "r", b"R": "r", b"q": "q", b"Q": "q", b"\x1b": "q"}
    if data.startswith(b"\x1b") and len(data) > 1:
        return []  # an arrow or function key's sequence, not Esc
    if data == b"\r\n":
        return ["enter"]
    return [names[bytes([byte])] for byte in data if bytes([byte]) in names]


@click.command()
@click.argument("script")
@click.option(
    "-o",
    "--output",
    "pack_folder",
    type=click.Path(path_type=Path),
    help="The voice pack folder: made when new, filled up when it exists.",
)
@click.option(
    "--from-take",
    "take",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Split one recording of the whole script (WAV, FLAC, MP3, OGG, M4A) at its pauses instead of recording here.",
)
@click.option("--speaker", help="Who speaks, kept in a new pack (default: the script's author).")
@click.option(
    "--input-device",
    help="Microphone: its number or part of its name (see 'voiceguide devices --input'). Default: the system's input.",
)
@click.option("--device", help="Output for playing takes back (see 'voiceguide devices'). Default: the system's output.")
@click.option("--sheet", is_flag=True, help="Print the phrases in the order to read them (and which the pack has), then stop.")
@lang_option
def record(
    script: str,
    pack_folder: Path | None,
    take: Path | None,
    speaker: str | None,
    input_device: str | None,
    device: str | None,
    sheet: bool,
    lang: str | None,
) -> None:
    """Record your own voice for a script, into a voice pack.

    Each phrase is shown in turn: Enter starts recording, and Enter or a
    second of silence stops it. The take is played back: n keeps it and goes
    on, r records it again, q keeps it and stops. Every kept take is saved
    at once; run the command again to go on with what is missing. The count
    words of counted breathing are phrases too.

    With --from-take, read the whole script aloud in one recording (on a
    phone, say) in the order --sheet prints, pausing a second or two after
    every phrase; voiceguide splits it at the pauses.

    Use the pack with --voice-pack on show, export and play.

    \b
    Example:
      voiceguide record zelfkalmering -o ~/anna-nl --speaker Anna
      voiceguide record my-script.vg --sheet
      voiceguide record my-script.vg --from-take reading.m4a -o ~/anna-nl
    """
    loaded = load_script(script, lang)
    texts = list(dict.fromkeys(spoken_texts(loaded)))
    language = loaded.meta.language
    if sheet:
        pack = VoicePack.open(pack_folder, language) if pack_folder else None
        for number, text in enumerate(texts, start=1):
            mark = "" if pack is None else ("[x] " if pack.has(text) else "[ ] ")
            click.echo(f"{number:3d}  {mark}{text}")
        return
    if pack_folder is None:
        raise UsageError(_("give the voice pack folder: voiceguide record SCRIPT -o PACK"))
    existing = VoicePack.open(pack_folder, language) if VoicePack.exists(pack_folder) else None
    if existing is None:
        VoicePack.check_new(pack_folder)  # a file or a crowded folder is refused before any work
    new_pack = {"speaker": speaker or loaded.meta.author or "unknown", "language": language}
    if take is not None:
        prepared = prepare_take(read_take(take), texts, take)
        for phrase, _audio in prepared:
            click.echo(phrase.describe())
        pack = existing or VoicePack.create(pack_folder, **new_pack)
        replaced = store_take(pack, prepared)
        if replaced:
            click.echo(
                _("wrote {count} recordings to {folder} ({replaced} replaced)").format(
                    count=len(prepared), folder=printable(pack.folder), replaced=replaced
                )
            )
        else:
            click.echo(_("wrote {count} recordings to {folder}").format(count=len(prepared), folder=printable(pack.folder)))
        return
    if not KeyReader.usable(sys.stdin):
        raise UsageError(
            _("recording needs a terminal to read keys from; to import a recording made elsewhere use --from-take FILE")
        )
    find_input_device(input_device)  # no microphone: say so before showing anything
    if device is not None:
        choose_format(sounddevice_module(), find_device(device))  # a named output must work: its one-line reason
    pack = existing or VoicePack.create(pack_folder, **new_pack)
    recorder = Recorder(pack, texts)
    _record_here(recorder, input_device, device, playback=is_available(device))
    left = recorder.remaining
    if left == 0:
        click.echo(_("all {count} phrases are in {folder}").format(count=recorder.total, folder=printable(pack.folder)))
    else:
        kept = ngettext("kept {count} take", "kept {count} takes", len(recorder.kept)).format(count=len(recorder.kept))
        still = ngettext(
            "{left} phrase still to record: run '{command}' again to go on",
            "{left} phrases still to record: run '{command}' again to go on",
            left,
        ).format(left=left, command=printable(f"voiceguide record {script} -o {pack.folder}"))
        click.echo(f"{kept}; {still}")


# --- the interactive screen -------------------------------------------------------------------


def _record_here(recorder: Recorder, input_device: str | None, device: str | None, *, playback: bool) -> None:
    """Drive ``recorder`` with keys from the terminal, the microphone and the output."""
    out = sys.stdout
    line = StatusLine(out, enabled=is_terminal(out))
    dot, cross, bar = ("*", "x", "#-") if line.plain else ("\u25cf", "\u2717", "\u2588\u2591")
    keys: queue.Queue[str] = queue.Queue()
    stop = threading.Event()

    def on_key(key: str) -> None:
        if recorder.step is Step.RECORDING:
            if key == "enter":
                stop.set()
        else:
            keys.put(key)

    if recorder.damaged:
        line.message(_("{count} damaged recording(s) will be recorded again").format(count=len(recorder.damaged)))
    if not playback:
        line.message(_("no output device: takes are not played back"))
    with KeyReader(sys.stdin, on_key, parse=parse_record_keys):
        while recorder.step is not Step.DONE:
            if recorder.step is Step.READY:
                line.clear()  # the phrase is written below whatever the line showed
                _show_phrase(out, recorder)
                line.show(_help(Step.READY))
            elif recorder.step is Step.RECORDING:
                stop.clear()
                line.show(f"{dot} " + _("recording...  Enter stops (so does a second of silence)"))
                raw = record_phrase(
                    input_device,
                    recorder.pack.info.sample_rate,
                    stop=stop,
                    on_level=lambda db: line.show(
                        f"{dot} " + _("recording...  {meter}  Enter stops").format(meter=_meter(db, bar))
                    ),
                )
                recorder.finish(raw)
                if recorder.step is Step.REJECTED:
                    line.message(f"{cross} {recorder.problem}")
                    line.show(_help(Step.REJECTED))
                else:
                    assert recorder.take is not None
                    line.show(
                        _("playing it back ({length_s:.1f} s)...").format(length_s=recorder.take.duration_s)
                        + "  "
                        + _help(Step.REVIEW)
                    )
                    if playback:
                        play_back(recorder.take, device, interrupted=lambda: not keys.empty())
                    line.show(_help(Step.REVIEW))
                continue
            while True:
                try:
                    key = keys.get(timeout=0.2)  # a timeout keeps Ctrl-C prompt
                except queue.Empty:
                    continue
                if recorder.press(key):
                    break
        line.clear()


def _show_phrase(out: TextIO, recorder: Recorder) -> None:
    """The phrase to read, large, with where we are."""
    width = max(20, shutil.get_terminal_size().columns - 1)
    done = recorder.total - recorder.remaining
    where = _("phrase {number} of {count}, {left} to record, pack {folder}").format(
        number=done + 1, count=recorder.total, left=recorder.remaining, folder=printable(recorder.pack.folder)
    )
    out.write(f"\r\x1b[K\n{where}\n\n")
    text = recorder.current or ""
    if _double_height():
        for row in textwrap.wrap(text, max(10, width // 2 - 2)):
            out.write(f"\x1b#3\x1b[1m {row}\x1b[0m\n\x1b#4\x1b[1m {row}\x1b[0m\n")
    else:
        for row in textwrap.wrap(text, max(10, width - 4)):
            out.write(f"\x1b[1m  {row}\x1b[0m\n")
    out.write("\n")
    out.flush()


def _double_height() -> bool:
    """Whether the terminal draws DEC double-height lines (ESC # 3 / ESC # 4):
    xterm, VTE (GNOME Terminal, Tilix), Konsole, Windows Terminal and macOS
    Terminal, recognised by the variables they set; not inside tmux or
    screen, which do not pass them on. Elsewhere the phrase is bold."""
    if os.environ.get("TMUX") or os.environ.get("STY") or os.environ.get("TERM", "").startswith(("screen", "tmux")):
        return False
    known = ("VTE_VERSION", "KONSOLE_VERSION", "XTERM_VERSION", "WT_SESSION")
    return any(os.environ.get(name) for name in known) or os.environ.get("TERM_PROGRAM") == "Apple_Terminal"


def _help(step: Step) -> str:
    return "   ".join(f"{KEY_NAMES[key]}: {_(what)}" for key, what in KEYS[step].items())


def _meter(peak_dbfs: float, bar: str, size: int = 20) -> str:
    """A level bar over -60..0 dBFS, drawn with ``bar`` (full, empty)."""
    filled = max(0, min(size, int(round((peak_dbfs + 60.0) / 60.0 * size))))
    return bar[0] * filled + bar[1] * (size - filled)
