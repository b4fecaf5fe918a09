"""The interface in Dutch and English: catalogs, language choice, the CLI
under LANG=nl_NL.UTF-8, session words in the session's language, numbers
and dates per language."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
import sys
import warnings
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_play import alsa_home, capture, terminal, wait_for  # noqa: F401  (fixtures: the player in a pseudo-terminal)

from voiceguide import i18n
from voiceguide._catalogs import compile_catalog
from voiceguide.cli import cli
from voiceguide.cli import practice as cli_practice
from voiceguide.cli.terminal import format_status
from voiceguide.parse.exercises import load_script
from voiceguide.parse.script import read_script
from voiceguide.practice import diary
from voiceguide.practice import log as practice_log
from voiceguide.session import prepare_session
from voiceguide.sinks.transport import Navigator, State, Status

ROOT = Path(__file__).resolve().parent.parent
DUTCH = {"LANG": "nl_NL.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""}
ENGLISH = {"LANG": "en_US.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": ""}


def catalogs_module():
    spec = importlib.util.spec_from_file_location("catalogs", ROOT / "scripts" / "catalogs.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["catalogs"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    return CliRunner().invoke(cli, list(args), env=env, input=input, catch_exceptions=False)


def voiceguide(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The real command in a child process, with ``env`` over this one's."""
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- the catalogs ------------------------------------------------------------------------


@pytest.mark.slow
def test_every_message_has_a_dutch_translation():
    """The template extracted from the sources now (every _(), N_(), ngettext,
    click help and docstring, and click's own words) against the Dutch
    catalog: nothing missing, empty, fuzzy or stale, placeholders alike."""
    catalogs = catalogs_module()
    template = catalogs.extract()
    assert len([m for m in template if m.id]) > 400
    assert catalogs.problems("nl", template) == []


@pytest.mark.slow
def test_a_missing_translation_is_found(tmp_path, monkeypatch):
    """The check above can fail: a message added to the code without a translation."""
    catalogs = catalogs_module()
    source = tmp_path / "voiceguide" / "cli" / "new.py"
    source.parent.mkdir(parents=True)
    source.write_text('from ..i18n import _\nMESSAGE = _("a brand-new message")\n')
    extra = list(catalogs.messages_in(source, click_help=True, relative_to=tmp_path))
    template = catalogs.extract()
    template.add(extra[0].id)
    assert catalogs.problems("nl", template) == ["nl: not in the catalog: 'a brand-new message'"]


def test_placeholders_must_match():
    catalogs = catalogs_module()
    assert catalogs.placeholders("{path}: cannot write in {folder} ({reason})") == {"path", "folder", "reason"}
    assert catalogs.placeholders("{length_s:.1f} s, {value!r}") == {"length_s", "value"}
    assert catalogs.placeholders("%(prog)s, version %(version)s") == {"prog", "version"}


def test_an_f_string_in_gettext_cannot_be_extracted(tmp_path):
    catalogs = catalogs_module()
    source = tmp_path / "bad.py"
    source.write_text('from voiceguide.i18n import _\nname = "x"\nprint(_(f"hello {name}"))\n')
    with pytest.raises(catalogs.ExtractionError, match=r"bad.py:3: _\(\) needs a plain string literal"):
        list(catalogs.messages_in(source, click_help=False, relative_to=tmp_path))


def test_catalogs_compile_without_warnings_and_pass_babels_checks():
    from babel.messages.pofile import read_po

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = compile_catalog(i18n.catalog_path("nl"))
    assert data[:4] in (b"\xde\x12\x04\x95", b"\x95\x04\x12\xde")  # a GNU .mo file
    with open(i18n.catalog_path("nl"), "rb") as handle:
        catalog = read_po(handle, locale="nl")
    assert [(message.id, errors) for message, errors in catalog.check()] == []


def test_the_compiled_catalog_is_the_one_its_po_makes():
    """The .mo voiceguide reads (compiled by scripts/setup here, by the build
    in a wheel) is exactly what the .po compiles to: no stale translations."""
    assert i18n.catalog_path("nl", ".mo").read_bytes() == compile_catalog(i18n.catalog_path("nl"))


def test_nothing_is_compiled_or_read_outside_the_package(tmp_path, monkeypatch, caplog):
    """Without a compiled catalog in the package, or with a damaged one, the
    interface speaks English with one warning: nothing is compiled at run
    time, and a catalog planted in the cache folder is never read."""
    locale = tmp_path / "locale" / "nl" / "LC_MESSAGES"
    locale.mkdir(parents=True)
    (locale / "voiceguide.po").write_bytes(i18n.catalog_path("nl").read_bytes())
    cache = tmp_path / "cache"
    planted = cache / "locale" / "nl"
    planted.mkdir(parents=True)
    (planted / "voiceguide.mo").write_bytes(i18n.catalog_path("nl", ".mo").read_bytes())
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    monkeypatch.setenv("VOICEGUIDE_CACHE_DIR", str(cache))
    i18n.translation.cache_clear()
    try:
        assert i18n.translation("nl").gettext("cancelled") == "cancelled"
        assert "no compiled nl catalog" in caplog.text
        assert sorted(p.name for p in tmp_path.rglob("*.mo")) == ["voiceguide.mo"]  # only the planted one
        (locale / "voiceguide.mo").write_bytes(b"not a catalog at all, just bytes")
        i18n.translation.cache_clear()
        assert i18n.translation("nl").gettext("cancelled") == "cancelled"
        assert "damaged" in caplog.text
    finally:
        i18n.translation.cache_clear()


def test_no_english_is_left_outside_gettext_in_the_cli(tmp_path):
    """What the commands print, raise or ask is wrapped in _()/ngettext (or
    comes from the library, already translated): no English literal in a
    click.echo, prompt, error, status line or table header."""
    assert english_literals(sorted((ROOT / "voiceguide" / "cli").glob("*.py"))) == []
    bad = tmp_path / "bad.py"
    bad.write_text('import click\nclick.echo(f"wrote {path}")\ntable(("NAME", _("LANG")), rows)\nclick.echo(_("fine"))\n')
    assert english_literals([bad]) == ["bad.py:2: 'wrote '", "bad.py:3: 'NAME'"]


def english_literals(paths: list[Path]) -> list[str]:
    shown = {"echo", "prompt", "confirm", "UsageError", "VoiceguideError", "BadParameter", "message", "show", "write", "table"}
    allowed = {"voiceguide", "kbps", "Hz", "LUFS", "dBTP", "Enter"}
    found = []
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name not in shown:
                continue
            for text in _bare_literals(node.args[0]):
                words = set(re.findall(r"[A-Za-z]{2,}", text)) - allowed
                if words and not text.startswith(("\x1b", "\r")):
                    found.append(f"{path.name}:{node.lineno}: {text!r}")
    return found


def _bare_literals(node: ast.expr):
    """String literals in ``node`` that are not inside a _()/ngettext() call."""
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in ("_", "ngettext", "format", "join"):
            if name == "format" and isinstance(node.func, ast.Attribute):
                yield from _bare_literals(node.func.value)
            return
        return
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        yield "".join(part.value for part in node.values if isinstance(part, ast.Constant))
    elif isinstance(node, ast.BinOp):
        yield from _bare_literals(node.left)
        yield from _bare_literals(node.right)
    elif isinstance(node, ast.Tuple):
        for element in node.elts:
            yield from _bare_literals(element)


# --- choosing the language ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "en"),
        ({"LANG": "nl_NL.UTF-8"}, "nl"),
        ({"LANG": "nl_BE.UTF-8"}, "nl"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LANG": "en_GB.UTF-8", "LC_MESSAGES": "nl_NL.UTF-8"}, "nl"),
        ({"LANG": "nl_NL.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),
        ({"LANGUAGE": "fr:nl:en", "LANG": "en_US.UTF-8"}, "nl"),
        ({"LANGUAGE": "", "LANG": "nl_NL"}, "nl"),
    ],
)
def test_the_environment_chooses_the_interface_language(environ, expected):
    assert i18n.language_from_environment(environ) == expected


def test_ui_lang_overrides_the_environment_and_is_restored_after():
    assert "Voorbeeld:" in run("--ui-lang", "nl", "list", "--help", env=ENGLISH).output
    assert "Example:" in run("--ui-lang", "en", "list", "--help", env=DUTCH).output
    assert run("--ui-lang=nl", "--help", env=ENGLISH).output.startswith("Gebruik: cli [OPTIES] OPDRACHT [ARGUMENTEN]...")
    assert i18n.ui_language() == i18n.language_from_environment()  # an in-process run leaves no language behind
    bad = run("--ui-lang", "de", "list", env=ENGLISH)
    assert bad.exit_code == 2 and "'--ui-lang'" in bad.output


def test_a_language_without_a_system_locale_still_speaks_dutch():
    """nl_NL need not be installed: the catalogs ship with voiceguide."""
    result = voiceguide("check", "no-such-script.vg", env={**DUTCH, "LOCPATH": "/nonexistent"})
    assert result.returncode == 2
    assert "scriptbestand bestaat niet" in result.stderr


# --- the CLI in Dutch -------------------------------------------------------------------------


def test_help_in_dutch_has_its_example():
    result = voiceguide("export", "--help", env=DUTCH)
    assert result.returncode == 0
    out = result.stdout
    assert out.startswith("Gebruik: voiceguide export [OPTIES] SCRIPT")
    assert "Zet een sessie in een audiobestand" in out
    assert "Voorbeeld:\n    voiceguide export zelfkalmering -o zelfkalmering.mp3" in out
    assert "Opties:" in out and "Toon dit bericht en stop." in out and "[standaard:" in out and "-19.0;" in out
    for english in ("Usage:", "Example:", "Options:", "Show this message", "Render a session", "default:"):
        assert english not in out


def test_every_command_has_dutch_help_with_an_example():
    for command in ("list", "show", "check", "export", "play", "devices", "log", "next", "diary", "batch", "voices", "record"):
        result = run("--ui-lang", "nl", command, "--help")
        assert result.exit_code == 0
        assert "Voorbeeld:" in result.output and f"voiceguide {command}" in result.output, command
        assert "Example:" not in result.output


@pytest.mark.slow
def test_a_usage_error_in_dutch_is_one_line_with_exit_2():
    result = voiceguide("export", "zelfkalmering", "--rate", "5", env=DUTCH)
    assert result.returncode == 2
    assert result.stderr == (
        "voiceguide: ongeldige waarde voor '--rate': 5 ligt niet in het bereik 60<=x<=400 (zie 'voiceguide export --help')\n"
    )
    missing = voiceguide("export", env=DUTCH)
    assert missing.returncode == 2
    assert missing.stderr == "voiceguide: argument ontbreekt 'SCRIPT' (zie 'voiceguide export --help')\n"


@pytest.mark.slow
def test_a_script_error_in_dutch_names_file_line_and_column(write_script):
    script = write_script("# Begin\nAdem rustig in. [breathe 4-2-6 x0]\nEn weer uit. [pauze 2s]\n")
    result = voiceguide("check", str(script), env=DUTCH)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{script}:7:32: fout: aantal cycli 'x0' moet tussen 1 en 500 liggen, kleinste getal eerst",
        f"{script}:8:14: fout: onbekende marker [pauze]; gebruik een van: pause, at, breathe, bell, chime, clip",
    ]
    export = voiceguide("export", str(script), "-o", str(script.with_suffix(".mp3")), env=DUTCH)
    assert export.returncode == 2
    assert (
        export.stderr.splitlines()[0]
        == f"voiceguide: {script}:7:32: aantal cycli 'x0' moet tussen 1 en 500 liggen, kleinste getal eerst"
    )


def test_the_diary_questions_in_dutch(monkeypatch, tmp_path):
    """After a played session, at a terminal: the offer with [j/N] and the
    five questions, in Dutch; 'j' accepts, the need is stored in English."""
    monkeypatch.setenv("VOICEGUIDE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cli_practice, "is_terminal", lambda stream: True)
    import click

    from voiceguide.cli.terminal import PlayOutcome

    @click.command()
    def played() -> None:
        cli_practice.after_play("zelfkalmering", "nl", PlayOutcome(180, 180, True))

    previous = i18n.set_ui_language("nl")
    try:
        result = CliRunner().invoke(played, [], input="j\ndrukke straat\nveiligheid\n\n6\n12\n2\n", catch_exceptions=False)
    finally:
        i18n.set_ui_language(previous)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Een dagboekaantekening toevoegen voor deze sessie? [j/N]:" in out
    for question in (
        "Wat lokte het uit, in een paar woorden:",
        "De behoefte eronder (veiligheid, verbinding, waardering, of je eigen woorden):",
        "De oefening die hielp [zelfkalmering]:",
        "Spanning ervoor (0 rustig - 10):",
        "Spanning erna (0 rustig - 10):",
    ):
        assert question in out
    assert "spanning erna moet een geheel getal zijn van 0 (rustig) tot 10, niet '12'" in out  # asked again
    assert out.splitlines()[-1] == "toegevoegd: drukke straat (veiligheid); zelfkalmering bracht de spanning van 6 naar 2"
    assert [e.need for e in diary.diary_entries(data_dir=tmp_path)] == ["safety"]


def test_confirm_in_dutch_asks_again_on_a_wrong_answer():
    import click

    from voiceguide.cli.terminal import confirm

    @click.command()
    def ask() -> None:
        click.echo(f"answer={confirm('Doorgaan?')}")

    previous = i18n.set_ui_language("nl")
    try:
        result = CliRunner().invoke(ask, [], input="misschien\nja\n")
        default = CliRunner().invoke(ask, [], input="\n")
    finally:
        i18n.set_ui_language(previous)
    assert "Fout: antwoord j of n" in result.output and result.output.endswith("answer=True\n")
    assert default.output.endswith("answer=False\n")


def test_log_and_diary_write_dates_and_numbers_the_dutch_way(tmp_path):
    when = datetime(2026, 11, 26, 14, 5)
    practice_log.record_played(
        "zelfkalmering", language="nl", planned_s=360, played_s=345, completed=False, when=when, data_dir=tmp_path
    )
    diary.add_diary_entry("ruzie", "verbinding", "veilige-plek", 7, 4, when=when, data_dir=tmp_path)
    diary.add_diary_entry("drukte", "safety", "veilige-plek", 6, 4, when=when, data_dir=tmp_path)
    dutch = run("log", "--data-dir", str(tmp_path), env=DUTCH).output
    assert "26-11-2026 14:05" in dutch and "vroeg gestopt" in dutch
    assert re.search(r"zelfkalmering\s+1\s+0\s+5,8\n", dutch)
    assert "WANNEER" in dutch and "MINUTEN" in dutch
    english = run("log", "--data-dir", str(tmp_path), env=ENGLISH).output
    assert "2026-11-26 14:05" in english and re.search(r"zelfkalmering\s+1\s+0\s+5\.8\n", english)
    notes = run("diary", "--data-dir", str(tmp_path), env=DUTCH).output
    assert "26-11-2026 14:05  7 -> 4    verbinding" in notes and "veiligheid" in notes
    assert re.search(r"veilige-plek\s+2\s+2,5\n", notes)
    suggested = run("next", "zelfkalmering", "--data-dir", str(tmp_path), env=DUTCH).output
    assert suggested == "zelfkalmering: 2 minuten; 0 van 3 voltooide sessies op deze lengte, daarna 3\n"


def test_numbers_and_dates_per_language():
    assert i18n.format_decimal(1234.5, "nl") == "1.234,5" and i18n.format_decimal(1234.5, "en") == "1,234.5"
    assert i18n.format_decimal(2.5, "nl", decimals=2, trim=True) == "2,5"
    assert i18n.format_decimal(2.0, "nl", decimals=2, trim=True) == "2"


@pytest.mark.parametrize("language", ["en", "nl"])
def test_numbers_are_written_as_babel_writes_them(language):
    from babel.numbers import format_decimal as babel_decimal

    assert set(i18n.NUMBER_SYMBOLS) == set(i18n.UI_LANGUAGES)
    for value in (0.0, 0.5, 2.0, 2.25, 6.04, 12.5, 999.95, 1234.5, 1234567.891, -16.0, -0.4):
        for decimals, trim in ((1, False), (2, True), (0, False)):
            pattern = "#,##0" + (f".{('#' if trim else '0') * decimals}" if decimals else "")
            assert i18n.format_decimal(value, language, decimals=decimals, trim=trim) == babel_decimal(
                value, format=pattern, locale=language
            ), (value, decimals, trim)
    assert i18n.format_datetime(datetime(2026, 3, 4, 9, 7), "nl") == "04-03-2026 09:07"
    assert i18n.format_datetime(datetime(2026, 3, 4, 9, 7), "en") == "2026-03-04 09:07"
    if language != "en":  # English is ISO on purpose; Dutch is CLDR's short date
        from babel.dates import format_date

        moment = datetime(2026, 11, 26, 14, 5)
        assert i18n.format_datetime(moment, language) == f"{format_date(moment, 'short', locale=language)} 14:05"


# --- what belongs to a session follows the session --------------------------------------------

DUTCH_BREATHING = """---
title: Rustig ademen
language: nl
---
# Ademen
Adem met de tonen mee.
[breathe 4-2-6 x3]
"""


def test_the_status_line_of_a_dutch_session_speaks_dutch_under_an_english_interface(tmp_path, fake_engine):
    script = tmp_path / "adem.vg"
    script.write_text(DUTCH_BREATHING, encoding="utf-8")
    session = prepare_session(read_script(script), engine=fake_engine)
    navigator = Navigator(session.timeline)
    previous = i18n.set_ui_language("en")
    try:
        phases = []
        for event in session.timeline.events:
            if event.kind.value in ("inhale", "hold", "exhale"):
                chapter, phase, cycle, cycles = navigator.describe(event.start_s + 0.1)
                status = Status(
                    State.PAUSED, event.start_s + 0.1, session.duration_s, "Rustig ademen", chapter, phase, cycle, cycles
                )
                phases.append(format_status(status, width=120))
    finally:
        i18n.set_ui_language(previous)
    assert "Rustig ademen  \u00b7  Ademen  \u00b7  inademen 1/3  \u00b7  paused" in phases[0]
    assert "vasthouden 1/3" in phases[1] and "uitademen 3/3" in phases[-1]
    assert not any("breathe" in line for line in phases)


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text: list[str] = []
        self.lang = None
        self._skip = False

    def handle_starttag(self, tag, attrs):
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        self._skip = tag in ("style", "title", "script")

    def handle_endtag(self, tag):
        self._skip = False

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.text.append(data.strip())


def test_a_dutch_bundle_page_has_lang_nl_and_no_english_words(tmp_path):
    """Rendered under an English interface: the page's own words are Dutch;
    everything else on it is the bundle's (titles, what is said, file names)."""
    (tmp_path / "kort.vg").write_text(
        "---\ntitle: Even landen\nlanguage: nl\n---\n# Begin\nWelkom.\n[pause 2s]\n", encoding="utf-8"
    )
    manifest = tmp_path / "groep.toml"
    manifest.write_text(
        '[bundle]\ntitle = "Groep rust"\nformat = "mp3"\ntranscript = "vtt"\n[[track]]\nscript = "kort.vg"\n',
        encoding="utf-8",
    )
    result = run("--ui-lang", "en", "batch", str(manifest), "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {tmp_path / 'out'}: 1 tracks")  # the interface stays English
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    parsed = _Text()
    parsed.feed(page)
    assert parsed.lang == "nl"
    bundle_words = {"Groep", "rust", "Even", "landen", "Begin", "Welkom.", "1.", "VTT", "WEBVTT"}
    words = {word for text in parsed.text for word in text.split()}
    page_words = {w for w in words if not re.fullmatch(r"[\d:.\-]+|[\w\-.]+\.(mp3|vtt)|\(VTT\)", w)} - bundle_words
    assert page_words == {"Afspeellijst", "(M3U8)", "Lengte:", "downloaden", "Uitgeschreven", "tekst", "De", "uitgeschreven"}
    for english in ("Playlist", "Length", "Download", "Transcript", "the"):
        assert english not in words


def test_an_english_track_keeps_its_own_words(tmp_path):
    from voiceguide.batch.marks import TrackMarks
    from voiceguide.batch.page import _track_html

    class Track:
        number, title, language, file, artist = 1, "Arriving", "en", "01.mp3", ""

    class Result:
        track, duration_s, transcript, lines, marks = Track(), 61.0, "vtt", ("Welcome.",), TrackMarks()

    class Manifest:
        format = "mp3"

    text = _track_html(Manifest(), Result(), "nl")
    assert ' lang="en"' in text and "Length:" in text and "Download 01.mp3" in text and "Lengte" not in text


def test_builtin_sessions_in_both_languages_name_their_phases(fake_engine):
    english = Navigator(prepare_session(load_script("zelfkalmering", "en"), engine=fake_engine).timeline)
    dutch = Navigator(prepare_session(load_script("zelfkalmering", "nl"), engine=fake_engine).timeline)
    english_phases = {english.describe(b.start_s + 0.01)[1] for b in english.breaths}
    dutch_phases = {dutch.describe(b.start_s + 0.01)[1] for b in dutch.breaths}
    assert english_phases <= {"breathe in", "hold", "breathe out"} and "breathe in" in english_phases
    assert dutch_phases <= {"inademen", "vasthouden", "uitademen"} and "inademen" in dutch_phases


@pytest.mark.device  # its fixture is asked for by name, so conftest cannot see it
def test_play_in_a_terminal_shows_dutch_phases_for_a_dutch_session_under_an_english_interface(request, tmp_path):
    """The real player in a pseudo-terminal: the status line says
    ``inademen``/``uitademen`` (the session's words) and ``space
    pause/resume`` (the interface's), and the diary offer is English."""
    script = tmp_path / "lang-ademen.vg"
    script.write_text(DUTCH_BREATHING.replace("x3", "x300"), encoding="utf-8")
    term = request.getfixturevalue("terminal")(str(script))
    wait_for(lambda: "inademen" in term.output.decode("utf-8", "replace"), what="a Dutch phase on the status line")
    term.type(b"q")
    wait_for(lambda: b"Add a diary entry for this session? [y/N]" in term.output, what="the diary offer")
    term.type(b"n\r")
    assert term.wait() == 0
    shown = term.output.decode("utf-8", "replace")
    assert re.search(r"Rustig ademen  \S  Ademen  \S  (inademen|vasthouden|uitademen) \d+/300", shown)
    assert "space pause/resume" in shown and "stopped at" in shown
    assert "breathe in" not in shown and "breathe out" not in shown
