"""Respellings: the built-in tables, a script's own lexicon, and check's warnings."""

from __future__ import annotations

import subprocess
import sys

import pytest

from voiceguide import load_script, prepare_session
from voiceguide.speech.lexicon import load_lexicon


def test_built_in_tables_respell_whole_words_in_any_case():
    nl = load_lexicon("nl")
    assert nl.apply("Tonen, tonen en TONEN.") == "Toonen, toonen en Toonen."  # a capital stays a capital
    assert nl.apply("Volg de tonen.") == "Volg de toonen."
    assert nl.apply("Het lichaam.") == "Het lichaem."
    assert "tonenrij" in nl.apply("De tonenrij.")  # only whole words
    assert load_lexicon("en").apply("Breathe in: one.") == "Breathe in: wun."


def test_a_scripts_own_lexicon_reaches_the_engine(tmp_path, fake_engine):
    (tmp_path / "woorden.tsv").write_text("# mine\nrustig\truustig\n", encoding="utf-8")
    script = tmp_path / "s.vg"
    script.write_text("---\ntitle: Test\nlexicon: woorden.tsv\n---\nAdem rustig door, langs de tonen.\n", encoding="utf-8")
    prepare_session(load_script(script), engine=fake_engine, cache=False)
    assert fake_engine.spoken == ["Adem ruustig door, langs de toonen."]  # its own entry and the built-in table


@pytest.mark.slow
def test_check_warns_about_words_no_entry_fixes(tmp_path):
    script = tmp_path / "s.vg"
    script.write_text("---\ntitle: Test\n---\nTel hardop mee.\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "voiceguide", "check", str(script)], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == (
        f"{script}:4:5: warning: espeak-ng is known to say 'hardop' wrong and no lexicon entry fixes it; "
        "reword it, or give a respelling in a lexicon (see docs/engines.md)"
    )
    (tmp_path / "fix.tsv").write_text("hardop\thart-op\n", encoding="utf-8")
    script.write_text("---\ntitle: Test\nlexicon: fix.tsv\n---\nTel hardop mee.\n", encoding="utf-8")
    fixed = subprocess.run([sys.executable, "-m", "voiceguide", "check", str(script)], capture_output=True, text=True)
    assert fixed.returncode == 0 and fixed.stdout.strip() == "ok: no errors, no warnings"


@pytest.mark.slow
def test_a_lexicon_must_be_a_file_beside_the_script(tmp_path):
    script = tmp_path / "s.vg"
    script.write_text("---\ntitle: Test\nlexicon: ../secret.tsv\n---\nHallo.\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "voiceguide", "check", str(script)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"{script}:3:10: error: lexicon must be the name of a .tsv file beside the script (no folders), not '../secret.tsv'"
    )
    script.write_text("---\ntitle: Test\nlexicon: missing.tsv\n---\nHallo.\n", encoding="utf-8")
    missing = subprocess.run(
        [sys.executable, "-m", "voiceguide", "export", str(script), "-o", str(tmp_path / "x.wav")], capture_output=True, text=True
    )
    assert missing.returncode == 2 and missing.stderr.strip() == f"voiceguide: {tmp_path / 'missing.tsv'}: no such lexicon file"
