"""The one ctypes binding of libespeak-ng (``speak_lib.h``), for both of its users.

- the espeak-ng server (:mod:`voiceguide.speech.espeak_server`), which
  synthesises in forked children; it runs by path with ``python -S`` and
  imports this file as a top-level module beside it, so the binding must
  need nothing but the standard library;
- Piper's phonemizer (:mod:`voiceguide.speech.piper`), which only turns
  text into IPA (``espeak_TextToPhonemes``) in voiceguide's own process.

:func:`bind` declares every function either of them calls, with the
prototypes of ``speak_lib.h`` (espeak-ng 1.51), on a loaded library.
"""

from __future__ import annotations

import ctypes

LIBRARY_ENV = "VOICEGUIDE_LIBESPEAK"
"""Environment variable naming another libespeak-ng to load (path or soname)."""
DEFAULT_LIBRARY = "libespeak-ng.so.1"
INSTALL_HINT = "install it with: sudo apt-get install espeak-ng (or run scripts/run, which installs it)"

AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_DONT_EXIT = 0x8000  # report a missing data folder instead of exit(1)
POS_CHARACTER = 1
CHARS_UTF8 = 1
ENDPAUSE = 0x1000
PARAM_RATE = 1
PARAM_VOLUME = 2
PARAM_PITCH = 3
PARAM_WORDGAP = 7
PHONEMES_IPA = 0x02  # espeak_TextToPhonemes' phonememode: IPA, UTF-8
EE_OK = 0

SYNTH_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
"""``t_espeak_callback``: (samples, number of samples, events) -> 0 to go on."""


class EspeakVoice(ctypes.Structure):
    """``espeak_VOICE`` from speak_lib.h."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        # Not c_char_p: it is a packed list of (priority byte, NUL-terminated
        # language) pairs ending with a 0 priority byte; c_char_p would stop
        # at the first NUL.
        ("languages", ctypes.c_void_p),
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


def bind(library: str) -> ctypes.CDLL:
    """Load ``library`` (a path or soname) with every function voiceguide
    calls declared. Raises OSError when it cannot be loaded."""
    lib = ctypes.CDLL(library)
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]  # None, or where to put the data path
    lib.espeak_Info.restype = ctypes.c_char_p
    lib.espeak_SetSynthCallback.argtypes = [SYNTH_CALLBACK]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(EspeakVoice)]
    lib.espeak_SetVoiceByProperties.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
        ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p,
    ]  # fmt: skip
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
    lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(EspeakVoice))
    lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_void_p), ctypes.c_int, ctypes.c_int]
    lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
    return lib
