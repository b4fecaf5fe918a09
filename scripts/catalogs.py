"""The message catalogs: extract the template, update the translations, compile, check.

Usage: python scripts/catalogs.py update | compile | check

``update``  extracts every message from the sources into
            voiceguide/locale/voiceguide.pot and merges it into each
            language's .po (new or changed messages empty, gone ones
            dropped); then translate what is empty or fuzzy.
``compile`` writes each .po's .mo beside it (scripts/setup does this).
``check``   fails (exit 1) on any message without a translation, a fuzzy
            one, one that no longer exists, or placeholders that differ.

What is extracted (an AST walk rather than Babel's Python extractor, because
click's help lives in docstrings and ``help=`` arguments that carry no
``_()``): ``_("...")``, ``N_("...")``, ``ngettext("...", "...", n)`` and
``<translation>.gettext("...")`` calls anywhere in voiceguide/; in
voiceguide/cli/ also every ``help="..."`` and the docstring of every click
command; and click's own messages (``Usage:``, ``Missing argument...``),
which voiceguide's catalog carries too (see voiceguide/cli/app.py).
Babel keeps the catalogs: reading and writing .po, merging, compiling.
"""

from __future__ import annotations

import ast
import string
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from babel.messages.catalog import Catalog  # noqa: E402
from babel.messages.pofile import read_po, write_po  # noqa: E402

from voiceguide import i18n  # noqa: E402
from voiceguide._catalogs import compile_catalogs  # noqa: E402

PACKAGE = ROOT / "voiceguide"
TEMPLATE = i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot"
TRANSLATED = [language for language in i18n.UI_LANGUAGES if language != i18n.SOURCE_LANGUAGE]
CLICK_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils")
GETTEXT_NAMES = {"_", "N_", "gettext"}
NGETTEXT_NAMES = {"ngettext"}


@dataclass(frozen=True)
class Message:
    id: str | tuple[str, str]
    where: str
    """``path:line``"""


class ExtractionError(ValueError):
    """A call that cannot be extracted, e.g. ``_(f"...")``: the catalog could never hold it."""


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def messages_in(path: Path, *, click_help: bool, relative_to: Path) -> Iterator[Message]:
    """Every message in one Python file, in source order."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    shown = path.relative_to(relative_to).as_posix()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            where = f"{shown}:{node.lineno}"
            if name in GETTEXT_NAMES and node.args:
                text = _literal(node.args[0])
                if text is None:
                    if _built(node.args[0]):
                        raise ExtractionError(f"{where}: {name}() needs a plain string literal (use named placeholders)")
                    continue  # a variable translated where it is shown: its texts are marked with N_() where written
                yield Message(text, where)
            elif name in NGETTEXT_NAMES and len(node.args) >= 2:
                singular, plural = _literal(node.args[0]), _literal(node.args[1])
                if singular is None or plural is None:
                    if _built(node.args[0]) or _built(node.args[1]):
                        raise ExtractionError(f"{where}: ngettext() needs plain string literals")
                    continue
                yield Message((singular, plural), where)
            if click_help:
                for keyword in node.keywords:
                    if keyword.arg == "help" and (text := _literal(keyword.value)):
                        yield Message(i18n.help_msgid(text), where)
        elif click_help and isinstance(node, ast.FunctionDef) and _is_click_command(node):
            docstring = ast.get_docstring(node, clean=True)
            if docstring:
                yield Message(i18n.help_msgid(docstring), f"{shown}:{node.lineno}")


def _built(node: ast.expr) -> bool:
    """An f-string or a string put together: its text can never be in the catalog."""
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.BinOp) and any(map(_built_part, (node.left, node.right))))


def _built_part(node: ast.expr) -> bool:
    return _built(node) or _literal(node) is not None


def _is_click_command(node: ast.FunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if _name(target) in ("command", "group"):
            return True
    return False


def extract() -> Catalog:
    """The template: every message of voiceguide and click's own, without translations."""
    import click

    catalog = Catalog(domain=i18n.DOMAIN, project="voiceguide", charset="utf-8", fuzzy=False)
    sources = [(path, path.is_relative_to(PACKAGE / "cli"), ROOT) for path in sorted(PACKAGE.rglob("*.py"))]
    click_folder = Path(click.__file__).parent
    sources += [(click_folder / f"{name}.py", False, click_folder.parent) for name in CLICK_MODULES]
    for path, click_help, relative_to in sources:
        for message in messages_in(path, click_help=click_help, relative_to=relative_to):
            file, _, line = message.where.rpartition(":")
            catalog.add(message.id, locations=[(file, int(line))], flags=_flags(message.id))
    return catalog


def _flags(msgid: str | tuple[str, str]) -> tuple[str, ...]:
    text = msgid if isinstance(msgid, str) else msgid[0]
    return ("python-brace-format",) if placeholders(text) else ()


def placeholders(text: str) -> set[str]:
    """The named fields of a ``str.format`` text (``{path}``, ``{n:.1f}`` -> ``n``); click's %-style ones too."""
    found: set[str] = set()
    try:
        found = {field.split(".")[0].split("[")[0] for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError:
        pass
    import re

    found |= set(re.findall(r"%\((\w+)\)[sdr]|%[sdr]", text))
    return found


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        # no line numbers: they would change with every edit of the code
        write_po(handle, catalog, width=100, include_lineno=False, omit_header=False, ignore_obsolete=True)


def read(language: str) -> Catalog:
    with open(i18n.catalog_path(language), "rb") as handle:
        return read_po(handle, locale=language, domain=i18n.DOMAIN)


def update() -> None:
    template = extract()
    _write(template, TEMPLATE)
    for language in TRANSLATED:
        path = i18n.catalog_path(language)
        if path.exists():
            catalog = read(language)
        else:
            catalog = Catalog(locale=language, domain=i18n.DOMAIN, project="voiceguide", charset="utf-8", fuzzy=False)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False, update_creation_date=False)
        _write(catalog, path)
        print(f"updated {path.relative_to(ROOT)}: {len(problems(language, template))} to translate")


def problems(language: str, template: Catalog | None = None) -> list[str]:
    """What keeps ``language``'s catalog from being complete, one line each."""
    template = template if template is not None else extract()
    catalog = read(language)
    found = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        key = message.id if isinstance(message.id, str) else message.id[0]
        if translated is None:
            found.append(f"{language}: not in the catalog: {key!r}")
            continue
        if translated.fuzzy:
            found.append(f"{language}: fuzzy: {key!r}")
        strings = translated.string if isinstance(translated.string, tuple) else (translated.string,)
        if not all(strings):
            found.append(f"{language}: not translated: {key!r}")
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set().union(*(placeholders(text) for text in ids))
        for text in strings:
            if placeholders(text) - wanted or (placeholders(text) != wanted and len(ids) == 1):
                found.append(f"{language}: placeholders {sorted(placeholders(text))} instead of {sorted(wanted)}: {key!r}")
    known = {m.id for m in template if m.id}
    found += [f"{language}: no longer used: {m.id!r}" for m in catalog if m.id and m.id not in known]
    return found


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "update":
        update()
    elif command == "compile":
        for path in compile_catalogs(i18n.LOCALE_DIR):
            print(f"wrote {path.relative_to(ROOT)}")
    elif command == "check":
        found = [line for language in TRANSLATED for line in problems(language)]
        for line in found:
            print(line)
        return 1 if found else 0
    else:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
