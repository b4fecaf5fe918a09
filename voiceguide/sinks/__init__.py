"""Stage 5: where a mixed session goes: a file (export) or an audio output (player)."""
