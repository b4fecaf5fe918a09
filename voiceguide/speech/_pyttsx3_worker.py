"""The pyttsx3 worker process (run as ``python -m voiceguide.speech._pyttsx3_worker``).

pyttsx3's espeak driver has traps that a separate process defuses: espeak
keeps one global state per process, rate changes within one engine are
sometimes ignored, errors in its callbacks are swallowed, a second
``runAndWait()`` with nothing queued can hang, and several threads calling
``init()`` crash. So each worker serves exactly one voice setting, set once
before the first phrase, and handles one request at a time from one thread;
the parent enforces timeouts and verifies every file.

Protocol: one JSON object per line on stdin, one JSON reply per line on the
original stdout (the driver prints ``Audio saved to ...`` on stdout, so fd 1
is pointed at stderr before pyttsx3 loads).
"""

from __future__ import annotations

import json
import os
import sys


def configure(engine, settings: dict) -> None:
    """Set voice, rate, volume and pitch: only ever before the first phrase,
    because the espeak driver may ignore a rate change after one."""
    if settings.get("voice"):
        engine.setProperty("voice", settings["voice"])
    if settings.get("rate"):
        engine.setProperty("rate", int(settings["rate"]))
    if settings.get("volume") is not None:
        engine.setProperty("volume", float(settings["volume"]))
    if settings.get("pitch") is not None:
        try:
            engine.setProperty("pitch", int(settings["pitch"]))
        except Exception:  # pitch is espeak-only; other drivers refuse it
            pass


def main() -> int:
    replies = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    settings = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}

    def reply(message: dict) -> None:
        replies.write(json.dumps(message) + "\n")
        replies.flush()

    try:
        import pyttsx3

        engine = pyttsx3.init()
        configure(engine, settings)
    except Exception as exc:  # report why the engine could not start, then exit
        reply({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    reply({"ready": True})

    spoken = False
    current = settings
    for line in sys.stdin:
        request = json.loads(line)
        op = request.get("op")
        try:
            if op == "configure" and not spoken:
                current = request["settings"]
                configure(engine, current)
                reply({"configured": True})
            elif op == "voices":
                voices = [
                    {"id": v.id, "name": v.name, "languages": [str(lang) for lang in (v.languages or [])]}
                    for v in engine.getProperty("voices")
                ]
                reply({"voices": voices})
            elif op == "say":
                path = request["path"]
                os.makedirs(os.path.dirname(path), exist_ok=True)
                if current.get("rate"):
                    # espeak resets the rate whenever a voice is set; queued
                    # property commands and the driver's own voice handling
                    # can meet in either order, so the rate goes in again,
                    # unchanged, right before every phrase
                    engine.setProperty("rate", int(current["rate"]))
                engine.save_to_file(request["text"], path)
                engine.runAndWait()
                spoken = True
                reply({"done": path})
            else:
                reply({"error": f"unknown op {op!r}"})
        except Exception as exc:
            reply({"error": f"{type(exc).__name__}: {exc}"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
