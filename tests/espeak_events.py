"""Where espeak-ng puts each phoneme of a phrase, from its own phoneme events.

Run as a program (one espeak per process, as voiceguide's own server does):
``python tests/espeak_events.py VOICE RATE WORDGAP TEXT`` prints JSON with the
audio (int16 samples as a list), its rate and every phoneme with its start
in samples. espeak-ng, initialised with ``espeakINITIALIZE_PHONEME_EVENTS``, reports each phoneme
as it is synthesised: the truth for where a vowel starts, independent of
any measurement on the audio.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import sys

SYNCHRONOUS = 2
EVENT_LIST_TERMINATED = 0
EVENT_PHONEME = 7
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_DONT_EXIT = 0x8000


class _Id(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _Id),
    ]


CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))


def phonemes(voice: str, rate: int, word_gap: int, text: str) -> dict:
    lib = ctypes.CDLL(ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1")
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    sample_rate = lib.espeak_Initialize(SYNCHRONOUS, 0, None, INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT)
    samples: list[int] = []
    found: list[tuple[str, int]] = []

    def on_audio(wav, count, events):
        index = 0
        while events and events[index].type != EVENT_LIST_TERMINATED:
            event = events[index]
            if event.type == EVENT_PHONEME:
                name = bytes(event.id.string).split(b"\0")[0].decode(errors="replace")
                found.append((name, int(round(event.audio_position * sample_rate / 1000))))
            index += 1
        if wav and count > 0:
            samples.extend(wav[:count])
        return 0

    callback = CALLBACK(on_audio)
    lib.espeak_SetSynthCallback(callback)
    lib.espeak_SetVoiceByName(voice.encode())
    for parameter, value in ((1, rate), (7, word_gap)):
        lib.espeak_SetParameter(parameter, value, 0)
    data = text.encode()
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, 1 | 0x1000, None, None)
    return {"sample_rate": sample_rate, "samples": samples, "phonemes": found}


if __name__ == "__main__":
    voice, rate, gap, text = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    print(json.dumps(phonemes(voice, rate, gap, text)))
