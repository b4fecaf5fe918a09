"""Calm guided-meditation sentences that engines' pace is measured on.

Written for calibration: the built-in exercises are NOT among them, so
tests that measure the built-ins check a calibration on text it was not
fitted on. ``scripts/calibrate_pace.py`` measures espeak-ng on all three
sets; :mod:`voiceguide.speech.piper_pace` measures a Piper voice on the
reference set.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"\w")


def count_words(text: str) -> int:
    """Whitespace-separated tokens with a letter or digit (what ``show`` counts)."""
    return sum(1 for token in text.split() if _WORD.search(token))


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
