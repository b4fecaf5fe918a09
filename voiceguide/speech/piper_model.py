"""Piper voice models on disk: a model file and its config, checked, found by
name or path, and known by their content (see :mod:`voiceguide.speech.piper`)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError, os_reason
from ..folders import voices_dir
from ..i18n import N_, _, format_decimal
from ..inputs import JSONInputError, load_json, read_limited, regular_file_problem
from ..rules import MAX_CONFIG_BYTES, MAX_MODEL_BYTES, MAX_PHONEME_ID, MAX_SCALE, MAX_SPEAKERS
from .cache import read_json_cache, write_json_cache

log = logging.getLogger(__name__)

PREFIX = "piper:"
"""Voice ids of Piper voices start with this: ``piper:NAME`` or ``piper:PATH``."""
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def is_piper_voice(voice_id: str | None) -> bool:
    """Whether ``voice_id`` names a Piper voice (``piper:...``)."""
    return bool(voice_id) and str(voice_id).startswith(PREFIX)


@dataclass(frozen=True)
class PiperModel:
    """A Piper voice model file and what its config says."""

    path: Path
    """The network, ``NAME.onnx``."""
    config_path: Path
    """Its config, ``NAME.onnx.json``."""
    name: str
    """The file name without ``.onnx``, e.g. ``nl_NL-mls-medium``."""
    language: str
    """What it speaks, e.g. ``nl-NL`` (the config's language code, else its espeak voice)."""
    espeak_voice: str
    """The espeak-ng voice its phonemes come from, e.g. ``nl`` or ``en-us``."""
    sample_rate: int
    """Hz."""
    phoneme_ids: Mapping[str, tuple[int, ...]]
    phoneme_map: Mapping[str, tuple[str, ...]]
    """Phonemes the model was trained to read as others."""
    speaker: int | None
    """The speaker of a multi-speaker model (its default), None for one speaker."""
    noise_scale: float
    noise_w: float
    description: str
    """Dataset and quality, for listings: ``mls, medium``."""
    in_voices_dir: bool = False

    @property
    def voice_id(self) -> str:
        """``piper:NAME`` for a model in the voices folder, else ``piper:PATH``."""
        return PREFIX + (self.name if self.in_voices_dir else str(self.path))

    @property
    def base_language(self) -> str:
        """``nl`` for ``nl-BE``."""
        return re.split(r"[-_]", self.language, maxsplit=1)[0].lower()


def read_model(path: Path, *, in_voices_dir: bool = False) -> PiperModel:
    """Read the config of the Piper model at ``path`` (the ``.onnx`` file, or
    its ``.onnx.json``). Raises UsageError, one line, when it is missing or
    not a Piper config. The network itself is checked when it is loaded."""
    path = Path(path).expanduser()
    if path.name.endswith(".onnx.json"):
        path = path.with_name(path.name[: -len(".json")])
    if not os.path.lexists(path):
        raise UsageError(_("no Piper voice model at {path}").format(path=path))
    if problem := regular_file_problem(path):
        raise UsageError(_("{path}: {problem}; a Piper voice model is a file NAME.onnx").format(path=path, problem=problem))
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise UsageError(
            _("{path} is {size} bytes; Piper voice models are at most {limit} bytes, so this is not one").format(
                path=path, size=size, limit=MAX_MODEL_BYTES
            )
        )
    config_path = path.with_name(path.name + ".json")
    if not os.path.lexists(config_path):
        raise UsageError(
            _("{name} has no {name2} beside it; a Piper voice is two files: NAME.onnx and NAME.onnx.json").format(
                name=path.name, name2=config_path.name
            )
        )
    try:
        config = load_json(read_limited(config_path, MAX_CONFIG_BYTES, N_("Piper voice config")))
        return _model_from_config(path, config_path, config, in_voices_dir)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        if isinstance(exc, OSError):
            reason = os_reason(exc)
        elif isinstance(exc, KeyError):
            reason = _("no {key}").format(key=exc)
        elif isinstance(exc, JSONInputError) and exc.line:
            reason = _("{reason} (line {line}, column {col})").format(reason=exc.reason, line=exc.line, col=exc.col)
        elif isinstance(exc, (TypeError, AttributeError)):  # Python's own words ('NoneType' object ...) help nobody
            reason = _("its fields are not laid out as a Piper config's")
        else:
            reason = str(exc)
        raise UsageError(
            _("{config_path} is not a Piper voice config ({one_line})").format(
                config_path=config_path, one_line=_one_line(reason)
            )
        ) from None


def _model_from_config(path: Path, config_path: Path, config: dict, in_voices_dir: bool) -> PiperModel:
    if not isinstance(config, dict):
        raise ValueError(_("not a JSON object"))
    phoneme_type = config.get("phoneme_type", "espeak")
    if phoneme_type != "espeak":
        raise ValueError(
            _("phonemes of type {kind}; voiceguide speaks models phonemised by espeak-ng").format(kind=repr(phoneme_type))
        )
    espeak_voice = config["espeak"]["voice"]
    sample_rate = config["audio"]["sample_rate"]
    if (
        not isinstance(espeak_voice, str)
        or not espeak_voice
        or not isinstance(sample_rate, int)
        or not 8000 <= sample_rate <= 96000
    ):
        raise ValueError(_("its espeak voice or sample rate is not valid"))
    phoneme_ids = {
        str(phoneme): tuple(_whole(i, MAX_PHONEME_ID, "phoneme_id_map") for i in ids)
        for phoneme, ids in dict(config["phoneme_id_map"]).items()
        if isinstance(ids, list)
    }
    if not all(key in phoneme_ids for key in "^_$"):
        raise ValueError(_("its phoneme_id_map lacks ^, _ or $"))
    phoneme_map = {str(k): tuple(str(p) for p in v) for k, v in dict(config.get("phoneme_map") or {}).items()}
    speakers = _whole(config.get("num_speakers", 1), MAX_SPEAKERS, "num_speakers")
    inference = dict(config.get("inference") or {})
    language = dict(config.get("language") or {}).get("code") or espeak_voice
    dataset = config.get("dataset") or ""
    quality = dict(config.get("audio") or {}).get("quality") or ""
    return PiperModel(
        path=path,
        config_path=config_path,
        name=path.name[: -len(".onnx")] if path.name.endswith(".onnx") else path.name,
        language=str(language).replace("_", "-"),
        espeak_voice=espeak_voice,
        sample_rate=sample_rate,
        phoneme_ids=phoneme_ids,
        phoneme_map=phoneme_map,
        speaker=_whole(config.get("default_speaker_id", 0), speakers - 1, "default_speaker_id") if speakers > 1 else None,
        noise_scale=_scale(inference.get("noise_scale", 0.667), "noise_scale"),
        noise_w=_scale(inference.get("noise_w", 0.8), "noise_w"),
        description=", ".join(str(part) for part in (dataset, quality) if part),
        in_voices_dir=in_voices_dir,
    )


def _whole(value: object, highest: int, key: str) -> int:
    """``value`` as a whole number from 0 to ``highest`` (ValueError else:
    a huge one would overflow the network's int64 input)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= highest:
        raise ValueError(
            _("'{key}' holds {value}; whole numbers from 0 to {highest} are read").format(
                key=key, value=_shown(value), highest=highest
            )
        )
    return value


def _scale(value: object, key: str) -> float:
    """``value`` as a noise scale: a number from 0 to MAX_SCALE (ValueError else, NaN too)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_SCALE:
        raise ValueError(
            _("'{key}' holds {value}; numbers from 0 to {highest} are read").format(
                key=key, value=_shown(value), highest=format_decimal(MAX_SCALE)
            )
        )
    return float(value)


def _shown(value: object) -> str:
    """``value`` for a message: short, and a huge number by its size (it may not even convert to text)."""
    if isinstance(value, int) and value.bit_length() > 64:
        return _("a number of about {digits} digits").format(digits=int(value.bit_length() * 0.30103) + 1)
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def find_models(folder: Path | None = None) -> list[PiperModel]:
    """The Piper models in ``folder`` (default :func:`voices_dir`) and its
    subfolders, by name; a model without a readable config is skipped with a
    warning, and of two with one name the first path wins."""
    folder = voices_dir() if folder is None else folder
    found: dict[str, PiperModel] = {}
    for path in sorted(folder.rglob("*.onnx")) if folder.is_dir() else ():
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue  # a hidden folder: a voice still being put in place
        try:
            model = read_model(path, in_voices_dir=True)
        except UsageError as exc:
            log.warning(N_("skipping a voice in %s: %s"), folder, exc)
            continue
        if model.name in found:
            log.warning(N_("two Piper voices are named %s; using %s"), model.name, found[model.name].path)
            continue
        found[model.name] = model
    return [found[name] for name in sorted(found)]


def find_model(spec: str, language: str | None = None) -> PiperModel:
    """The model a voice id names: ``piper:NAME`` (in the voices folder),
    ``piper:PATH`` (a file; contains a folder separator or ends in ``.onnx``)
    or ``piper:auto`` (the first voice in the folder for ``language``).
    Raises UsageError, one line, when there is no such model or it speaks
    another language than ``language``."""
    name = spec[len(PREFIX) :] if spec.startswith(PREFIX) else spec
    if "/" in name or os.sep in name or name.endswith((".onnx", ".json")):
        model = read_model(Path(name))
    elif name == "auto":
        models = [m for m in find_models() if language is None or m.base_language == language]
        if not models:
            raise UsageError(
                _("no Piper voice for language '{language}' in {voices_dir}; put NAME.onnx and NAME.onnx.json there").format(
                    language=language, voices_dir=voices_dir()
                )
            )
        return models[0]
    else:
        if not _NAME.fullmatch(name):
            raise UsageError(_("'{spec}' is not a Piper voice name; see 'voiceguide voices'").format(spec=spec))
        models = {m.name: m for m in find_models()}
        if name not in models:
            raise UsageError(
                _("no Piper voice '{name}' in {voices_dir}; see 'voiceguide voices'").format(name=name, voices_dir=voices_dir())
            )
        model = models[name]
    if language is not None and model.base_language != language:
        raise UsageError(
            _(
                "{voice_id} speaks {language}, but the script is in '{language2}'; choose a voice for it (voiceguide voices --lang {language2})"
            ).format(voice_id=model.voice_id, language=model.language, language2=language)
        )
    return model


def model_identity(model: PiperModel) -> str:
    """What the phrase cache and the pace calibration key on: the size and
    SHA-256 of the network and its config. Hashing 60 MB takes a few tenths
    of a second, so it is remembered by path, size and modification time."""
    stats = [model.path.stat(), model.config_path.stat()]
    stamp = [[s.st_size, s.st_mtime_ns] for s in stats]
    key = "piper-model-" + hashlib.sha256(str(model.path.resolve()).encode()).hexdigest()[:24]
    remembered = read_json_cache(key)
    if isinstance(remembered, dict) and remembered.get("stamp") == stamp and isinstance(remembered.get("identity"), str):
        return remembered["identity"]
    digest = hashlib.sha256()
    for path in (model.path, model.config_path):
        with open(path, "rb") as file:
            while chunk := file.read(1 << 20):
                digest.update(chunk)
    identity = f"{stats[0].st_size}-{digest.hexdigest()[:32]}"
    write_json_cache(key, {"stamp": stamp, "identity": identity})
    return identity


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
