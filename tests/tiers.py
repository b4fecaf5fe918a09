"""Which test tier runs (see conftest.py): property tests try fewer cases in the fast tier."""

from __future__ import annotations

import os

FAST = os.environ.get("VOICEGUIDE_TEST_TIER") == "fast"


def examples(full: int) -> int:
    """How many cases a property test tries: ``full`` in the whole suite, a tenth in the fast tier."""
    return max(20, full // 10) if FAST else full
