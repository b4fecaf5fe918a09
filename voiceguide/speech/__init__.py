"""Stage 3a: speech. Text in, :class:`~voiceguide.audio.Audio` out.

``engine``   the engine Protocol, voice settings, and which engine runs where
``pyttsx3``  pyttsx3 (SAPI5, NSSpeechSynthesizer, espeak) in a worker process
``voices``   turning ``auto`` or a user's voice id into an engine voice
``cache``    synthesized phrases on disk, so a re-export skips the engine
``phrases``  every phrase of a script, from the cache or the engine
"""
