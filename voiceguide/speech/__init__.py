"""Stage 2: speak. Text in, :class:`~voiceguide.audio.Audio` out.

``engine``   the contract: the engine Protocol, voice settings, voice info
``factory``  which engine runs where: opens one by name, lists voices
``espeak``   libespeak-ng, through a small forking server (``espeak_client``, ``espeak_server``)
``piper``    natural neural voices from Piper model files
``pack``     a trainer's recorded phrases in front of an engine
``fake``     the deterministic test engine
``pyttsx3``  pyttsx3 (SAPI5, NSSpeechSynthesizer, espeak) in a worker process
``voices``   turning ``auto`` or a user's voice id into an engine voice
``cache``    synthesized phrases on disk, so a re-export skips the engine
``phrases``  every phrase of a script, from the cache or the engine
"""
