"""Stage 6: where a mixed session goes: a file (export) or an audio output (player)."""
