"""Stage 1: parse. Script text in, a frozen :class:`~voiceguide.parse.script.Script` out.

``script``     the .vg format: front matter, paragraphs, markers; every error with its line and column
``exercises``  the built-in exercises and the lookup from a NAME or FILE to a parsed Script
"""
