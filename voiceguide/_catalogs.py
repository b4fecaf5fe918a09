"""Compiling the interface's message catalogs (``.po`` -> ``.mo``) with Babel.

A build step, never run by voiceguide itself: ``setup.py`` compiles the
catalogs into every wheel (so Babel is needed to build voiceguide, not to
run it), and ``scripts/setup`` compiles them beside their ``.po`` in a
working tree. This module imports nothing of voiceguide, so that the build
can load it from the source tree before any dependency is installed.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

DOMAIN = "voiceguide"


def compile_catalog(po_path: Path) -> bytes:
    """The ``.mo`` bytes for a ``.po`` file (fuzzy entries are left out, as msgfmt does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with open(po_path, "rb") as handle:
        catalog = read_po(handle, locale=po_path.parent.parent.name, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile_catalogs(source_dir: Path, target_dir: Path | None = None) -> list[Path]:
    """Compile every ``<language>/LC_MESSAGES/voiceguide.po`` under
    ``source_dir`` (a ``locale`` folder) into the ``.mo`` at the same place
    under ``target_dir`` (default: beside the ``.po``); each file is written
    whole or not at all. Returns the files written."""
    target_dir = source_dir if target_dir is None else target_dir
    written = []
    for po_path in sorted(source_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo_path = target_dir / po_path.relative_to(source_dir).with_suffix(".mo")
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        data = compile_catalog(po_path)
        handle, temporary = tempfile.mkstemp(dir=mo_path.parent, prefix=".", suffix=".mo")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temporary, 0o644)
            os.replace(temporary, mo_path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        written.append(mo_path)
    return written
