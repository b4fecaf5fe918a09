#!/usr/bin/env python3
"""Measure espeak-ng's real pace and write the calibration voiceguide speaks by.

espeak's rate parameter is not the pace a listener hears: at rate 125 Dutch
measures about 148 and English about 161 words per minute. This script
synthesizes calm guided-meditation sentences (reference, check and
question sets per language, 38 sentences, in
:mod:`voiceguide.speech.pace_texts`) through the same path a session
uses (voiceguide's espeak client, then :func:`voiceguide.dsp.level.level_voice`:
trimmed, with its release) and measures words per minute over speech time:
total words / total seconds of the levelled phrases (pauses inside a phrase
count; the gaps between phrases do not), which is what ``voiceguide show``
reports. It does that

* for espeak rates 80 to 450 (espeak treats any rate under 80 as 80), and
* at rate 80 for word gaps 0 to 60 (10 ms units), which is the only way
  espeak speaks slower than about 100 (nl) or 109 (en) words per minute,

and writes ``voiceguide/speech/calibration/espeak.json``: per language,
points (measured wpm, rate, word gap) rising in wpm. The engine interpolates
between them. Rerun after an espeak-ng upgrade:

    .venv/bin/python scripts/calibrate_pace.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voiceguide.audio import Audio  # noqa: E402
from voiceguide.dsp.level import level_voice  # noqa: E402
from voiceguide.speech.espeak_client import SAMPLE_RATE, EspeakClient  # noqa: E402
from voiceguide.speech.pace_texts import CHECK, QUESTIONS, REFERENCE, count_words  # noqa: E402

VOICES = {"nl": "gmw/nl", "en": "gmw/en"}
RATES = [*range(80, 200, 5), *range(200, 300, 10), *range(300, 451, 25)]
WORD_GAPS = [*range(2, 20, 2), *range(20, 61, 5)]
OUTPUT = ROOT / "voiceguide" / "speech" / "calibration" / "espeak.json"


def measured_wpm(client: EspeakClient, texts: list[str], voice: str, rate: int, word_gap: int = 0) -> float:
    audio = client.synthesize_many([(text, voice, rate, 50, 1.0, word_gap) for text in texts])
    seconds = sum(
        level_voice(Audio(a.astype("float32") / 32768.0, SAMPLE_RATE), SAMPLE_RATE, -20.0, -1.0).duration_s for a in audio
    )
    return sum(count_words(text) for text in texts) / seconds * 60.0


def main() -> int:
    table: dict[str, object] = {"engine": "", "measured_on": "speech time of levelled phrases (see scripts/calibrate_pace.py)"}
    with EspeakClient() as client:
        table["engine"] = f"espeak-ng {client.version()}"
        for language, voice in VOICES.items():
            texts = REFERENCE[language] + CHECK[language] + QUESTIONS[language]
            points = [(measured_wpm(client, texts, voice, 80, gap), 80, gap) for gap in reversed(WORD_GAPS)]
            points += [(measured_wpm(client, texts, voice, rate), rate, 0) for rate in RATES]
            points = [(round(wpm, 2), rate, gap) for wpm, rate, gap in points]
            rising = [points[0]]
            for point in points[1:]:
                if point[0] > rising[-1][0]:
                    rising.append(point)  # espeak's 80-85 plateau: keep the pace strictly rising
            table[language] = rising
            print(
                f"{language}: {rising[0][0]:.0f}-{rising[-1][0]:.0f} wpm, rate 125 -> {next(p[0] for p in rising if p[1] == 125):.1f} wpm"
            )
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(table, indent=1)
    text = re.sub(r"\[\s+([\d.]+),\s+(\d+),\s+(\d+)\s+\]", r"[\1, \2, \3]", text)  # one point a line
    OUTPUT.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
