"""Stage 5: mix. A Timeline and the levelled phrases in, blocks of samples out.

``mixer``  the :class:`~voiceguide.mix.mixer.Mixer`: renders any span of a session on demand
(the breath cues, bells and chime it places come from :mod:`voiceguide.dsp.tones`)
"""
