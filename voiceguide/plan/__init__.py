"""Stage 4: plan. A Script and the length of every phrase in, a :class:`~voiceguide.plan.timeline.Timeline` out.

``timeline``  absolute times for every event, stretched to a target length when asked
``returns``   short spoken lines laid over long stretches without a voice
"""
