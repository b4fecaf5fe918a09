"""Built-in exercises and the lookup from a NAME or FILE to a Script."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import UsageError
from ..i18n import _
from ..inputs import is_regular_file
from ..rules import LANGUAGES
from .script import Script, parse_script, read_script_text, script_clip_dirs

EXERCISES = ("herinnering", "veilige-plek", "zelfkalmering")
SCRIPT_SUFFIX = ".vg"

# Other names people will type, and the language each implies (None: any).
ALIASES: dict[str, tuple[str, str | None]] = {
    "herinneringsoefening": ("herinnering", "nl"),
    "veilige-plek-visualisatie": ("veilige-plek", "nl"),
    "veiligeplek": ("veilige-plek", "nl"),
    "zelfkalmeringsoefening": ("zelfkalmering", "nl"),
    "memory": ("herinnering", "en"),
    "safe-memory": ("herinnering", "en"),
    "safe-place": ("veilige-plek", "en"),
    "self-soothing": ("zelfkalmering", "en"),
    "breathing": ("zelfkalmering", "en"),
}


@dataclass(frozen=True)
class BuiltIn:
    name: str
    language: str

    @property
    def resource_name(self) -> str:
        return f"{self.name}.{self.language}{SCRIPT_SUFFIX}"

    def text(self) -> str:
        return resources.files("voiceguide.builtin").joinpath(self.resource_name).read_text(encoding="utf-8")


def builtins() -> list[BuiltIn]:
    return [BuiltIn(name, language) for name in EXERCISES for language in LANGUAGES]


def asset_dirs() -> tuple[Path, ...]:
    """Folders that ``[clip NAME]`` may use besides the script's own folder:
    ``$VOICEGUIDE_ASSETS``, ``./audio_assets`` and the project's audio_assets/."""
    folders = [Path(p) for p in os.environ.get("VOICEGUIDE_ASSETS", "").split(os.pathsep) if p]
    folders += [Path.cwd() / "audio_assets", Path(__file__).resolve().parents[2] / "audio_assets"]
    seen: dict[Path, None] = {}
    for folder in folders:
        if folder.is_dir():
            seen.setdefault(folder.resolve(), None)
    return tuple(seen)


def find_builtin(name: str, language: str | None = None) -> BuiltIn | None:
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    implied = None
    if "." in key and key.rsplit(".", 1)[1] in LANGUAGES:
        key, implied = key.rsplit(".", 1)
    if key in ALIASES:
        key, alias_language = ALIASES[key]
        implied = implied or alias_language
    if key not in EXERCISES:
        return None
    return BuiltIn(key, language or implied or "nl")


@dataclass(frozen=True)
class ScriptSource:
    """A script's text before parsing, with the name errors use and where its clips are."""

    text: str
    name: str
    """``<built-in zelfkalmering.nl.vg>`` or the file's path."""
    clip_dirs: tuple[Path, ...]


def script_source(name_or_path: str | Path, language: str | None = None) -> ScriptSource:
    """The text of a built-in exercise by name (``zelfkalmering``, ``safe-place``...)
    in ``language``, or of a script file by path.

    Raises UsageError for a name that is neither (suggesting a built-in
    when it looks like a typo of one), ScriptError for a file that cannot be read.
    """
    if language is not None and language not in LANGUAGES:
        raise UsageError(
            _("language '{language}' is not supported; use one of: {items}").format(language=language, items=", ".join(LANGUAGES))
        )
    text = str(name_or_path)
    path = Path(text)
    builtin = None if is_regular_file(path) else find_builtin(text, language)
    if builtin is not None:
        return ScriptSource(builtin.text(), f"<built-in {builtin.resource_name}>", asset_dirs())
    if is_regular_file(path) or path.suffix or "/" in text or os.sep in text:
        return ScriptSource(read_script_text(path), str(path), script_clip_dirs(path, asset_dirs()))
    raise UsageError(
        _("'{name}' is neither a built-in exercise ({items}) nor a script file").format(name=text, items=", ".join(EXERCISES))
        + did_you_mean(text, "; ")
    )


def did_you_mean(name: str, before: str = "") -> str:
    """``did you mean veilige-plek?`` for a name close to a built-in's (or an
    alias's), after ``before``; empty when none is close."""
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    close = difflib.get_close_matches(key, [*EXERCISES, *ALIASES], n=1, cutoff=0.6)
    return before + _("did you mean {name}?").format(name=close[0]) if close else ""


def load_script(name_or_path: str | Path, language: str | None = None) -> Script:
    """A built-in exercise by name (``zelfkalmering``, ``safe-place``...) in
    ``language``, or a script file by path."""
    source = script_source(name_or_path, language)
    return parse_script(source.text, source.name, clip_dirs=source.clip_dirs)


def load_builtin(name: str, language: str | None = None) -> Script:
    """A built-in exercise by name, never a file of that name (a manifest's
    ``exercise = "zelfkalmering"`` means the built-in, whatever the current folder holds)."""
    builtin = find_builtin(name, language)
    if builtin is None:
        raise UsageError(
            _("'{name}' is not a built-in exercise ({items})").format(name=name, items=", ".join(EXERCISES))
            + did_you_mean(name, "; ")
        )
    return parse_script(builtin.text(), f"<built-in {builtin.resource_name}>", clip_dirs=asset_dirs())
