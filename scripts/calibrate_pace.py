#!/usr/bin/env python3
"""Measure espeak-ng's real pace and write the calibration voiceguide speaks by.

espeak's rate parameter is not the pace a listener hears: at rate 125 Dutch
measures about 148 and English about 161 words per minute. This script
synthesizes calm guided-meditation sentences (reference, check and
question sets per language, 38 sentences) through the same path a session
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

VOICES = {"nl": "gmw/nl", "en": "gmw/en"}
RATES = [*range(80, 200, 5), *range(200, 300, 10), *range(300, 451, 25)]
WORD_GAPS = [*range(2, 20, 2), *range(20, 61, 5)]
OUTPUT = ROOT / "voiceguide" / "speech" / "calibration" / "espeak.json"
_WORD = re.compile(r"\w")


def count_words(text: str) -> int:
    """Whitespace-separated tokens with a letter or digit (what ``show`` counts)."""
    return sum(1 for token in text.split() if _WORD.search(token))


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


# Calm guided-meditation sentences, written for this calibration: the
# built-in exercises are NOT among them, so tests that measure the
# built-ins check the calibration on text it was not fitted on.
REFERENCE = {
    "nl": [
        "Neem rustig de tijd om te gaan zitten op een plek waar je je prettig voelt.",
        "Laat je schouders zakken en voel hoe je lichaam door de stoel wordt gedragen.",
        "Adem rustig in door je neus en laat de lucht langzaam weer uitstromen.",
        "Je hoeft nergens heen en er is niets dat je nu hoeft te doen.",
        "Merk op hoe je borst en je buik zachtjes meebewegen met elke ademhaling.",
        "Als er gedachten opkomen, laat ze dan voorbijdrijven als wolken aan de lucht.",
        "Breng je aandacht naar je voeten en voel het contact met de grond onder je.",
        "Misschien voel je warmte, misschien tinteling, of misschien voel je helemaal niets.",
        "Alles wat je opmerkt is goed zoals het is.",
        "Laat bij elke uitademing een beetje spanning uit je kaak en je voorhoofd wegglijden.",
        "Stel je voor dat je op een stil strand zit en naar de golven luistert.",
        "De golven komen en gaan, net als je adem, zonder dat je er moeite voor doet.",
        "Voel hoe je handen zwaar en ontspannen in je schoot rusten.",
        "Geef jezelf toestemming om even helemaal niets te hoeven.",
        "Blijf nog een paar ademhalingen bij dit gevoel van rust.",
    ],
    "en": [
        "Take your time to settle into a position that feels comfortable for you.",
        "Let your shoulders drop and feel the chair supporting the weight of your body.",
        "Breathe in gently through your nose and let the air flow slowly out again.",
        "There is nowhere you need to go and nothing you need to do right now.",
        "Notice how your chest and belly rise and fall softly with every breath.",
        "If thoughts come up, let them drift past like clouds across the sky.",
        "Bring your attention to your feet and feel the contact with the ground beneath you.",
        "Perhaps you feel warmth, perhaps a tingling, or perhaps nothing at all.",
        "Whatever you notice is fine just as it is.",
        "With each breath out, let a little tension slip away from your jaw and forehead.",
        "Imagine that you are sitting on a quiet beach, listening to the waves.",
        "The waves come and go, just like your breath, without any effort from you.",
        "Feel your hands resting heavy and relaxed in your lap.",
        "Give yourself permission to do nothing at all for a while.",
        "Stay with this feeling of calm for a few more breaths.",
    ],
}

CHECK = {
    "nl": [
        "Zoek een houding waarin je rug recht is maar niet gespannen.",
        "Sluit je ogen, of kijk met een zachte blik naar de vloer voor je.",
        "Adem in en tel rustig tot vier, adem uit en tel tot zes.",
        "Merk op waar in je lichaam de adem het duidelijkst voelbaar is.",
        "Misschien is dat bij je neusvleugels, misschien in je borst of in je buik.",
        "Laat je adem zijn eigen ritme vinden, zonder het te willen sturen.",
        "Wanneer je merkt dat je afdwaalt, breng je je aandacht vriendelijk terug.",
        "Voel de ruimte om je heen en de geluiden die van ver komen.",
        "Je gezicht wordt zacht, je tong rust los in je mond.",
        "Met elke uitademing zak je een klein beetje dieper in de stilte.",
        "Denk aan iemand die je dierbaar is en wens die persoon iets goeds toe.",
        "Wens daarna ook jezelf rust, gezondheid en een vriendelijke dag.",
        "Blijf nog even zitten en geniet van deze kalmte.",
        "Straks beweeg je langzaam je vingers en je tenen.",
        "Open dan je ogen en kijk rustig om je heen.",
    ],
    "en": [
        "Find a posture in which your back is upright but not tense.",
        "Close your eyes, or rest your gaze softly on the floor in front of you.",
        "Breathe in and count slowly to four, breathe out and count to six.",
        "Notice where in your body the breath is easiest to feel.",
        "It may be at the tip of your nose, in your chest, or in your belly.",
        "Let your breath find its own rhythm, without trying to steer it.",
        "When you notice that your mind has wandered, gently bring it back.",
        "Sense the space around you and the sounds that come from far away.",
        "Your face grows soft, and your tongue rests loosely in your mouth.",
        "With every breath out, you sink a little deeper into the quiet.",
        "Think of someone you care about and wish them something good.",
        "Then wish yourself rest, good health and a kind day as well.",
        "Stay seated for a moment and enjoy this sense of calm.",
        "In a little while, slowly move your fingers and your toes.",
        "Then open your eyes and look around you calmly.",
    ],
}

QUESTIONS = {
    "nl": [
        "Hoe voel je je nu?",
        "Merk je waar je adem stroomt?",
        "Kun je je schouders laten zakken?",
        "Wat hoor je om je heen?",
        "Voel je de grond onder je voeten?",
        "Is je kaak ontspannen?",
        "Waar voel je nog spanning?",
        "Ben je er klaar voor?",
    ],
    "en": [
        "How do you feel right now?",
        "Can you notice where your breath flows?",
        "Can you let your shoulders drop?",
        "What can you hear around you?",
        "Do you feel the ground beneath your feet?",
        "Is your jaw relaxed?",
        "Where do you still feel tension?",
        "Are you ready to begin?",
    ],
}


if __name__ == "__main__":
    sys.exit(main())
