"""Signal processing: a library of pure functions and small classes over arrays and Audio.

``level``      stage 3, level: every phrase trimmed, resampled and levelled for the mix
``loudness``   BS.1770 loudness and true peak
``dynamics``   the true-peak limiter, peak taming
``recording``  a voice-pack recording cleaned up (high-pass, trim, level)
``tones``      breath cues, bells and the closing chime (stage 4 plans their lengths, stage 5 places them)

It imports no session types (no Script, Timeline or Mixer): a forbidden
contract in pyproject.toml keeps it so.
"""
