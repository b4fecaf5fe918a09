"""Piper voices: natural neural speech from a voice model file (VITS, ONNX).

A Piper voice is two files: ``NAME.onnx`` (the network) and
``NAME.onnx.json`` (its config: sample rate, language, espeak-ng voice,
phoneme ids). The user downloads both (see docs/natural-voice.md) into the
voices folder, :func:`voices_dir` (``~/.local/share/voiceguide/voices`` on
Linux), and speaks with ``--voice piper:NAME`` or ``voice: piper:NAME`` in a
script; ``--voice piper:PATH/NAME.onnx`` names a file anywhere (on the
command line only: a shared script or manifest cannot name a file, see
:data:`voiceguide.rules.VOICE_ID`).

How a phrase is made (what Piper's own runtime does, checked against it):

1. **phonemes**: libespeak-ng, the library the espeak engine drives, turns
   the text into IPA one clause at a time in the model's espeak voice
   (``espeak_TextToPhonemes``). The clause's punctuation is kept, because the
   model was trained with it (a comma gives a pause, a question mark a rise),
   and sentences end at ``.``, ``?`` and ``!``. espeak-ng 1.51 does not report
   which punctuation ended a clause, so it is read from the text espeak
   consumed. Piper's own runtime bundles a newer espeak-ng: on the 38 pace
   sentences 27 gave the same phoneme ids, the rest differ in a vowel or a
   glide where espeak-ng's English rules changed between versions.
2. **ids**: ``^`` + (phoneme id, pad id)... + ``$`` through the config's
   ``phoneme_id_map``.
3. **audio**: onnxruntime runs the network once per sentence with the
   scales (noise, length, noise width); the sentences are joined as they
   come, as Piper does: the model ends each with its own pause (0.2-0.3 s at
   its own pace, 0.4-0.8 s at a calm one, with the start of the next). A sentence longer than about 20 s of
   speech is spoken in several runs, cut at its clauses (or between words),
   so memory stays bounded (:func:`model_runs`).

Determinism: the network draws Gaussian noise inside the graph (two
``RandomNormalLike`` nodes, for the durations and the voice), from a
generator that runs on from one call to the next, so the same phrase came
out a different length each time. When a model is loaded those nodes are
replaced, in memory, by slices of a fixed table of Gaussian noise (a seeded
draw): every call starts from the same noise, so the same text, model and
settings give the same samples in any order, in any process. The noise keeps
its distribution, so the voice sounds as it does in Piper.

Pace: the script's rate (words per minute as heard) becomes Piper's length
scale through a calibration measured once per model and remembered
(:mod:`voiceguide.speech.piper_pace`).

Why this runtime: Piper's own ``piper-tts`` is GPL-3.0; of the permissive
ones, ``piper-onnx`` phonemises every model as American English (and needs
the GPL ``phonemizer-fork``), ``sherpa-onnx`` only loads models re-exported
with its own metadata (a downloaded Piper model fails with "'sample_rate'
does not exist in the metadata"), and ``pipersynth`` (Apache-2.0) speaks
well (the same phonemes as here) but runs the espeak-ng command line per
phrase on espeak-ng 1.51, pulls in six young packages and gives no hold on
the graph's noise. A Piper model is one onnxruntime call, so voiceguide runs
it with onnxruntime (MIT) directly and uses ``onnx`` (Apache-2.0) to fix the
noise; both come with ``pip install 'voiceguide[piper]'``.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..atomic import write_atomically
from ..audio import Audio, to_pcm16
from ..errors import EngineError, UsageError, os_reason
from ..folders import UntrustedCacheError, cache_problem, cache_root, private_folder, voices_dir
from ..i18n import N_, _, format_decimal
from ..inputs import JSONInputError, load_json, read_limited, regular_file_problem
from ..rules import MAX_CONFIG_BYTES, MAX_MODEL_BYTES, MAX_PHONEME_ID, MAX_SCALE, MAX_SPEAKERS
from .cache import read_json_cache, write_json_cache
from .engine import VoiceInfo, VoiceSettings
from .libespeak import AUDIO_OUTPUT_SYNCHRONOUS, INITIALIZE_DONT_EXIT, PHONEMES_IPA, bind
from .libespeak import INSTALL_HINT as ESPEAK_HINT
from .pace_texts import count_words
from .voices import espeak_data_dir

log = logging.getLogger(__name__)

PREFIX = "piper:"
"""Voice ids of Piper voices start with this: ``piper:NAME`` or ``piper:PATH``."""
INSTALL_HINT = "pip install 'voiceguide[piper]'"
ENGINE_VERSION = 2
"""Bump when the way a phrase is made changes (phonemes, runs, joins): the
phrase cache keys on it, so cached phrases are then made again."""
NOISE_SEED = 20261126
NOISE_TABLE_SIZE = 1 << 20
"""Values in each fixed noise table; longer draws repeat the table."""
RUN_PHONEMES_AT_SCALE_1 = 400
"""Phonemes the model speaks in one run at length scale 1 (about 20 s of
speech; fewer at larger scales, so a run stays about that long)."""
MIN_RUN_PHONEMES = 40
NATURAL_SCALE_LIMIT = 1.15
"""The most a voice is stretched to reach a slow rate (1 is its own pace);
the rest comes from pauses between clauses (see :func:`paced`)."""
MAX_PAUSE_S = 1.0
"""The longest pause put between two clauses or sentences of a phrase to slow it down."""
DEFAULT_JOBS = 2
"""Sentences synthesised at once, one onnxruntime thread each."""
SIDE_BY_SIDE_COST = 180.0
"""Runs of the model are made side by side only while their ids times their
length scales add up to at most this; a longer run is made alone. A run's
working memory grows with the audio it makes (about 23 MB per second with
en_US-joe-medium, 1.3 MB per unit here): two of the English default
session's longest runs side by side peaked at 412-449 MB, one at a time at
319 MB."""
PITCH_NEUTRAL = 50
_TERMINATOR = re.compile(r"([.,?!:;])[\"'\u201d\u2019)\]\s]*\S?$")
_SENTENCE_ENDS = ".?!"
_LANGUAGE_SWITCH = re.compile(r"\([^)]*\)")
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_PIPER_INPUTS = {"input", "input_lengths", "scales"}


def is_piper_voice(voice_id: str | None) -> bool:
    """Whether ``voice_id`` names a Piper voice (``piper:...``)."""
    return bool(voice_id) and str(voice_id).startswith(PREFIX)


# --- models on disk ---------------------------------------------------------------------------


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


# --- phonemes -----------------------------------------------------------------------------------


class _Phonemizer:
    """libespeak-ng's text to IPA, in this process.

    Only ``espeak_TextToPhonemes`` runs here, never synthesis; its output
    does not depend on what was phonemised before (checked: 68 sentences in
    two orders gave the same phonemes), unlike espeak's audio.
    """

    def __init__(self) -> None:
        # the espeak client (and the server's protocol) is imported when Piper
        # phonemises: 1.4 ms of every start of voiceguide otherwise (python -X importtime).
        from .espeak_client import find_library

        library = find_library()
        try:
            if library is None:
                raise OSError("libespeak-ng not found")
            lib = bind(library)
        except OSError as exc:
            raise EngineError(
                _("Piper voices read text with espeak-ng, which is missing ({reason}); {hint}").format(
                    reason=exc, hint=ESPEAK_HINT
                )
            ) from None
        if lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None, INITIALIZE_DONT_EXIT) <= 0:
            raise EngineError(_("espeak-ng could not start; {ESPEAK_HINT}").format(ESPEAK_HINT=ESPEAK_HINT))
        self.lib = lib
        self.version = (lib.espeak_Info(None) or b"").decode(errors="replace")
        self.lock = threading.Lock()

    def sentences(self, text: str, voice: str) -> list[list[list[str]]]:
        """``text`` as phonemes (one string per Unicode code point, as Piper
        splits them): per sentence, its clauses, each ending in the
        punctuation that ended it."""
        data = text.replace("\0", " ").encode("utf-8")
        buffer = ctypes.create_string_buffer(data)
        start = ctypes.addressof(buffer)
        pointer = ctypes.c_void_p(start)
        sentences: list[list[list[str]]] = []
        current: list[list[str]] = []
        with self.lock:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
                raise EngineError(_("espeak-ng has no voice '{voice}', which this Piper model reads with").format(voice=voice))
            while pointer.value:
                before = pointer.value - start
                phonemes = (self.lib.espeak_TextToPhonemes(ctypes.byref(pointer), 1, PHONEMES_IPA) or b"").decode(
                    errors="replace"
                )
                consumed = data[before : (pointer.value - start) if pointer.value else len(data)]
                # espeak reads one character past the clause: the punctuation
                # that ended it is the last one followed by at most that.
                found = _TERMINATOR.search(consumed.decode("utf-8", errors="replace"))
                terminator = found.group(1) if found else ""
                # A clause that goes on (comma, or a long clause espeak cut
                # without punctuation) is followed by a space, as words are.
                ends = terminator and terminator in _SENTENCE_ENDS
                clause = _LANGUAGE_SWITCH.sub("", phonemes) + terminator + ("" if ends else " ")
                if clause.strip():
                    current.append(list(unicodedata.normalize("NFD", clause)))
                if ends and current:
                    sentences.append(current)
                    current = []
        if current:
            sentences.append(current)
        for sentence in sentences:
            while sentence[-1] and sentence[-1][-1] == " ":
                sentence[-1].pop()  # the last clause of the text, ended by no punctuation
        return sentences


def model_runs(clauses: Sequence[Sequence[str]], limit: int) -> list[list[str]]:
    """One sentence's clauses grouped into runs of the model of at most
    ``limit`` phonemes: whole clauses where they fit, a longer clause cut
    between words. A run's memory and time grow with its length (about 20 MB
    per second of speech), and a 1000-character sentence would otherwise be
    a minute of speech in one run."""
    runs: list[list[str]] = []
    current: list[str] = []
    for clause in clauses:
        pieces = [list(clause)]
        if len(clause) > limit:
            pieces, words = [], "".join(clause).split(" ")
            for word in words:
                if pieces and len(pieces[-1]) + 1 + len(word) <= limit:
                    pieces[-1] += [" ", *word]
                else:
                    pieces += [list(word[i : i + limit]) for i in range(0, max(len(word), 1), limit)]
        for piece in pieces:
            if current and len(current) + len(piece) > limit:
                runs.append(current)
                current = []
            current += piece
    if current:
        runs.append(current)
    return [run for run in runs if any(not p.isspace() for p in run)]


@cache
def _phonemizer() -> _Phonemizer:
    """One espeak-ng per process."""
    return _Phonemizer()


def phoneme_ids(model: PiperModel, phonemes: Sequence[str]) -> list[int]:
    """Piper's ids for one sentence: ``^`` ``_`` then each phoneme and ``_``, then ``$``.
    Phonemes the model does not know are left out (as Piper does)."""
    ids = [*model.phoneme_ids["^"], *model.phoneme_ids["_"]]
    pad = model.phoneme_ids["_"]
    for phoneme in phonemes:
        for mapped in model.phoneme_map.get(phoneme, (phoneme,)):
            known = model.phoneme_ids.get(mapped)
            if known:
                ids.extend(known)
                ids.extend(pad)
    ids.extend(model.phoneme_ids["$"])
    return ids


VOWELS = frozenset("aeiouyæɐɑɒɔəɘɛɜɞɪʊʌʏøœɨʉɵɤɯɶ")
"""IPA vowel letters: a phoneme starting with one of these is a vowel."""
STRESS_MARKS = frozenset("ˈˌ")


def vowel_index(model: PiperModel, phonemes: Sequence[str]) -> int | None:
    """The position, among the ids :func:`phoneme_ids` gives for
    ``phonemes``, where the first vowel begins as a listener hears it; None
    without a vowel.

    A Piper network gives time to the blank (pad) ids between phonemes and
    to stress marks, and its audio for a stressed vowel starts with the
    stress mark's frames: on the English test voice's ten count words at
    length scales 1.0 and 2.17, the start of the stress mark before the
    vowel lay within 36 ms of the vowel's onset measured in the audio
    (voicing after t, f, s; F2 rising after w; F3 rising after [θɹ]), the
    blank before the consonant's end up to 105 ms early, the vowel's own id
    up to 169 ms late. So a vowel begins at its stress mark, else at the
    blank just before it."""
    symbols = ["^"] * len(model.phoneme_ids["^"]) + ["_"] * len(model.phoneme_ids["_"])
    pad = ["_"] * len(model.phoneme_ids["_"])
    for phoneme in phonemes:
        for mapped in model.phoneme_map.get(phoneme, (phoneme,)):
            known = model.phoneme_ids.get(mapped)
            if known:
                symbols += [mapped] * len(known) + pad
    vowel = next((i for i, symbol in enumerate(symbols) if symbol[:1] in VOWELS), None)
    if vowel is None:
        return None
    start = vowel
    if start > 0 and symbols[start - 1] == "_":
        start -= 1
    if start > 0 and symbols[start - 1] in STRESS_MARKS:
        start -= 1
    return start


# --- the network --------------------------------------------------------------------------------


RUNTIME_MISSING = N_("Piper voices need onnxruntime and onnx, which are not installed: {hint}")


def _runtime_missing() -> str:
    return _(RUNTIME_MISSING).format(hint=INSTALL_HINT)


def check_runtime() -> None:
    """Raise EngineError with the pip command (exit 1) unless the runtime is
    installed; cheap: nothing is imported."""
    import importlib.util

    for name in ("onnxruntime", "onnx"):
        try:
            found = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            found = None
        if found is None:
            raise EngineError(_runtime_missing())


def _runtime(*, onnx_too: bool = False):
    """onnxruntime (and ``onnx``, which only making the fixed model needs:
    importing it costs 0.6 s of CPU, 0.8 s on the clock, at every start of
    a Piper voice otherwise), or EngineError with the pip command (exit 1)."""
    try:
        import onnxruntime

        if onnx_too:
            import onnx
    except ImportError:
        raise EngineError(_runtime_missing()) from None
    return (onnx, onnxruntime) if onnx_too else onnxruntime


def fix_noise(graph_model) -> int:
    """Replace the random-noise nodes of an ONNX model (in place) by slices of
    fixed Gaussian tables, so every call draws the same noise. Returns how
    many were replaced. See the module notes."""
    graph = graph_model.graph
    nodes = []
    replaced = 0
    for node in graph.node:
        if node.op_type in ("RandomNormalLike", "RandomNormal"):
            nodes += _fixed_noise(graph, node, f"voiceguide_noise_{replaced}_", NOISE_SEED + replaced)
            replaced += 1
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    return replaced


def _fixed_noise(graph, node, prefix: str, seed: int) -> list:
    """Nodes that make what ``node`` (a RandomNormal[Like]) made, from a fixed
    table added to ``graph``: the first N values of the table, repeated as
    often as needed, shaped like the noise asked for."""
    from onnx import helper, numpy_helper

    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    table = np.random.default_rng(seed).standard_normal(NOISE_TABLE_SIZE).astype(np.float32)
    table = table * np.float32(attributes.get("scale", 1.0)) + np.float32(attributes.get("mean", 0.0))
    constants = {"table": table, "size": [NOISE_TABLE_SIZE], "one": [1], "zero": [0]}
    nodes = []
    if node.op_type == "RandomNormal":
        constants["shape"] = [int(d) for d in attributes["shape"]]
    else:
        nodes.append(helper.make_node("Shape", [node.input[0]], [prefix + "shape"]))
    for name, values in constants.items():
        array = values if isinstance(values, np.ndarray) else np.array(values, dtype=np.int64)
        graph.initializer.append(numpy_helper.from_array(array, prefix + name))
    p = prefix
    dtype = attributes.get("dtype", 1)  # 1 is float
    nodes += [
        helper.make_node("ReduceProd", [p + "shape"], [p + "count"], keepdims=1),
        # repeats = (count - 1) // size + 1: enough copies of the table for any length
        helper.make_node("Sub", [p + "count", p + "one"], [p + "count_1"]),
        helper.make_node("Div", [p + "count_1", p + "size"], [p + "whole"]),
        helper.make_node("Add", [p + "whole", p + "one"], [p + "repeats"]),
        helper.make_node("Tile", [p + "table", p + "repeats"], [p + "tiled"]),
        helper.make_node("Slice", [p + "tiled", p + "zero", p + "count"], [p + "flat"]),
        helper.make_node("Reshape", [p + "flat", p + "shape"], [node.output[0] if dtype == 1 else p + "noise"]),
    ]
    if dtype != 1:
        nodes.append(helper.make_node("Cast", [p + "noise"], [node.output[0]], to=dtype))
    return nodes


def expose_durations(graph_model) -> bool:
    """Add the network's phoneme durations as a second output of the ONNX
    model (in place): the output of its one ``Ceil`` node, the frames each
    phoneme id lasts, rounded up before the audio is made. The audio does
    not change (the node runs anyway); the durations say where each sound
    of a phrase lies (:func:`vowel_index`). False for a model without one
    such node (its phrases then have no reported vowel onset)."""
    from onnx import TensorProto, helper

    ceils = [node for node in graph_model.graph.node if node.op_type == "Ceil"]
    if len(ceils) != 1:
        return False
    graph_model.graph.output.append(helper.make_tensor_value_info(ceils[0].output[0], TensorProto.FLOAT, None))
    return True


class PiperNetwork:
    """One Piper model loaded into onnxruntime, its noise fixed.

    The model with its noise fixed is kept in the cache folder
    (``models/IDENTITY.onnx``, see :func:`fixed_model_path`) when
    ``identity`` is given: later loads hand that file to onnxruntime
    directly, without ``onnx`` (0.4 s and about 100 MB instead of 1.5-2 s
    and 235 MB for en_US-joe-medium: parsing the model in Python and
    serialising it again is what cost the time and the memory).

    Raises UsageError (exit 2) when the file is not a Piper model.
    ``run`` may be called from several threads at once.
    """

    def __init__(self, model: PiperModel, identity: str | None = None):
        onnxruntime = _runtime()
        self.model = model
        self.what = f"{model.path} is not a Piper voice model"
        options = onnxruntime.SessionOptions()
        # One thread per call: calls run side by side (see PiperEngine), and
        # one thread gives the same samples on any machine.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        if os.environ.get(LOW_MEMORY_ENV) == "1":
            _hand_memory_back()
            options.enable_cpu_mem_arena = False
        fixed = fixed_model_path(identity) if identity else None
        self.session = None
        if fixed is not None and _usable_cache_file(fixed):
            try:
                self.session = onnxruntime.InferenceSession(str(fixed), options, providers=["CPUExecutionProvider"])
            except Exception:  # noqa: BLE001 - a damaged cache entry: made again below
                log.warning(N_("the cached copy of %s is damaged; making it again"), model.name)
            else:
                if len(self.session.get_outputs()) < 2:  # kept by an older voiceguide, without the durations
                    self.session = None
        if self.session is None:
            self.session = self._load_and_fix(onnxruntime, options, fixed)
        inputs = {i.name for i in self.session.get_inputs()}
        if not _PIPER_INPUTS <= inputs:
            shown = ", ".join(sorted(inputs)) or "none"
            raise UsageError(
                _("{what} (its inputs are {shown}; a Piper model takes input, input_lengths and scales)").format(
                    what=self.what, shown=shown
                )
            )
        self.takes_speaker = "sid" in inputs
        self.gives_durations = len(self.session.get_outputs()) >= 2

    def _load_and_fix(self, onnxruntime, options, fixed: Path | None):
        """Read the model with ``onnx``, fix its noise, keep that in the cache
        (when it can be written) and load it into onnxruntime."""
        onnx, _onnxruntime = _runtime(onnx_too=True)
        model = self.model
        try:
            graph_model = onnx.load(str(model.path), load_external_data=False)
        except Exception as exc:  # noqa: BLE001 - protobuf and onnx raise many kinds; all mean "unreadable"
            raise UsageError(
                _("{what} (onnx cannot read it: {reason})").format(
                    what=self.what, reason=_one_line(str(exc)) or type(exc).__name__
                )
            ) from None
        inputs = {i.name for i in graph_model.graph.input}
        if not _PIPER_INPUTS <= inputs:
            shown = ", ".join(sorted(inputs)) or "none"
            raise UsageError(
                _("{what} (its inputs are {shown}; a Piper model takes input, input_lengths and scales)").format(
                    what=self.what, shown=shown
                )
            )
        if fix_noise(graph_model) == 0:
            log.warning(N_("%s draws no noise that voiceguide knows of; its output may vary from run to run"), model.path.name)
        expose_durations(graph_model)
        serialized = graph_model.SerializeToString()
        del graph_model  # the parsed model is as large as the file: free it before onnxruntime makes its own copy
        source: str | bytes = serialized
        if fixed is not None and _keep_fixed_model(fixed, serialized):
            del serialized
            source = str(fixed)
        try:
            return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime's errors have no common base
            raise UsageError(
                _("{what} (onnxruntime cannot load it: {one_line})").format(what=self.what, one_line=_one_line(str(exc))[:200])
            ) from None

    def run(self, ids: Sequence[int], length_scale: float) -> np.ndarray:
        """Float32 samples at the model's sample rate for one sentence's ids."""
        return self.timed_run(ids, length_scale)[0]

    def timed_run(self, ids: Sequence[int], length_scale: float) -> tuple[np.ndarray, np.ndarray | None]:
        """(samples, frames each id lasts) for one sentence's ids; None for
        the frames of a model that does not give them (:func:`expose_durations`)."""
        model = self.model
        feed = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array([model.noise_scale, length_scale, model.noise_w], dtype=np.float32),
        }
        if self.takes_speaker:
            feed["sid"] = np.array([model.speaker or 0], dtype=np.int64)
        try:
            outputs = self.session.run(None, feed)
        except Exception as exc:  # noqa: BLE001
            raise EngineError(
                _("the Piper voice {name} failed: {one_line}").format(name=model.name, one_line=_one_line(str(exc))[:200])
            ) from None
        samples = np.asarray(outputs[0], dtype=np.float32).reshape(-1)
        if not np.all(np.isfinite(samples)):
            raise EngineError(_("the Piper voice {name} made no usable audio (not finite)").format(name=model.name))
        frames = np.asarray(outputs[1]).reshape(-1) if self.gives_durations else None
        if frames is not None and (len(frames) != len(ids) or not np.all(np.isfinite(frames)) or frames.sum() <= 0):
            frames = None
        return samples, frames


LOW_MEMORY_ENV = "VOICEGUIDE_PIPER_LOW_MEMORY"
"""Set to 1 to trade time for memory: onnxruntime without its memory arena,
and the C library handing large blocks back at once (a cold export of the
2:41 English default session peaked at 273 MB instead of 373-416 MB, for
about 1.5x the CPU time)."""


def _hand_memory_back() -> None:
    """Make glibc map blocks of 128 kB and more separately, so that freeing
    them returns them to the system (its default threshold grows with use,
    and onnxruntime's working tensors then stay in the heap)."""
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 128 * 1024)  # M_MMAP_THRESHOLD
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


def fixed_model_path(identity: str) -> Path:
    """Where the model of ``identity`` with its noise fixed is kept: ``models`` in the cache folder."""
    return cache_root() / "models" / f"piper-{NOISE_SEED}-{identity}.onnx"


def _usable_cache_file(path: Path) -> bool:
    """A kept model that exists in a cache folder only this user can write (see cache.cache_problem)."""
    return path.is_file() and cache_problem(path.parent) is None


def _keep_fixed_model(path: Path, data: bytes) -> bool:
    """Write the fixed model into the cache; False (nothing lost but time) when it cannot be written."""
    try:
        private_folder(path.parent)
        write_atomically(path, data, durable=False)
    except UntrustedCacheError:
        return False
    except OSError as exc:
        log.info("the fixed model is not kept in the cache (%s)", exc.strerror or exc)
        return False
    return True


# --- the engine ---------------------------------------------------------------------------------


class PiperEngine:
    """Implements :class:`~voiceguide.speech.engine.SpeechEngine` with Piper models.

    Voice ids are ``piper:NAME`` (a model in :func:`voices_dir`) or
    ``piper:PATH``; :meth:`resolve_voice` turns a script's or the user's
    request into one and checks its language. Models are loaded on first use
    and kept until :meth:`close`.

    Parameters
    ----------
    jobs:
        Sentences synthesised at once (threads; onnxruntime releases the GIL).
    """

    name = "piper"

    def __init__(self, *, jobs: int = DEFAULT_JOBS):
        self.jobs = max(1, jobs)
        self._models: dict[str, PiperModel] = {}
        self._identities: dict[str, str] = {}
        self._networks: dict[str, PiperNetwork] = {}
        self._scales: dict[tuple[str, int], float] = {}
        self._points: dict[str, list[tuple[float, float]]] = {}
        self._vowels: dict[tuple[str, str, float, float], float | None] = {}
        self._lock = threading.Lock()

    # which voice

    def resolve_voice(self, requested: str, language: str) -> str:
        """The id to speak ``requested`` with for a script in ``language``
        (``auto`` is the first Piper voice for it in the voices folder).
        Raises UsageError for an unknown voice or a language mismatch."""
        if requested != "auto" and not is_piper_voice(requested):
            raise UsageError(
                _(
                    "'{requested}' is not a Piper voice; the piper engine speaks piper:NAME or piper:PATH (see 'voiceguide voices')"
                ).format(requested=requested)
            )
        model = find_model(PREFIX + "auto" if requested == "auto" else requested, language)
        check_runtime()  # before hashing the model: a missing runtime is the first thing to fix
        self._models[model.voice_id] = model
        self._identities[model.voice_id] = model_identity(model)
        return model.voice_id

    def model(self, voice_id: str) -> PiperModel:
        """The model behind a voice id (resolving it if it was not yet)."""
        if voice_id not in self._models:
            model = find_model(voice_id)
            self._models[voice_id] = model
            self._identities[voice_id] = model_identity(model)
        return self._models[voice_id]

    def voices(self) -> list[VoiceInfo]:
        """The Piper voices in the voices folder (the network files are not read)."""
        return [VoiceInfo(m.voice_id, m.description or m.name, (m.language,)) for m in find_models()]

    def voice_key(self, voice_id: str) -> str:
        """A voice as the phrase cache knows it: its model's content (size and
        hash), so ``piper:NAME`` and ``piper:PATH`` of one model share phrases."""
        self.model(voice_id)
        return "piper-model:" + self._identities[voice_id]

    def describe(self) -> str:
        """Engine identity for cache keys: this engine's version, the
        runtime's, espeak-ng's library and data, the noise and the pace
        calibration. The model is in the key by its content (:meth:`voice_key`)."""
        from importlib.metadata import PackageNotFoundError, version

        # imported when Piper speaks, not at every start of voiceguide (python -X importtime):
        # espeak's binding 1.4 ms (see PiperPhonemizer), the pace calibration 0.4 ms
        from .espeak_client import find_library
        from .piper_pace import PACE_VERSION

        try:
            runtime = version("onnxruntime")
        except PackageNotFoundError:
            runtime = "?"
        library = find_library()
        data = espeak_data_dir()
        espeak = f"{Path(os.path.realpath(library)).name if library else '?'}@{int(data.stat().st_mtime) if data else 0}"
        return f"piper {ENGINE_VERSION}|onnxruntime {runtime}|{espeak}|noise {NOISE_SEED}|pace {PACE_VERSION}"

    # speech

    def network(self, voice_id: str) -> PiperNetwork:
        """The loaded network of a voice (loaded on first use)."""
        model = self.model(voice_id)
        with self._lock:
            if voice_id not in self._networks:
                self._networks[voice_id] = PiperNetwork(model, self._identities.get(voice_id))
            return self._networks[voice_id]

    def pace_line(self, voice_id: str) -> list[tuple[float, float]]:
        """The voice's measured (length scale, seconds per word) points (measured once per model)."""
        from .piper_pace import pace_points  # 0.4 ms at every start otherwise: see describe

        if voice_id not in self._points:
            model = self.model(voice_id)
            self._points[voice_id] = pace_points(
                model, self._identities[voice_id], lambda texts, scale: self._speak_all(voice_id, texts, scale)
            )
        return self._points[voice_id]

    def length_scale(self, voice_id: str, wpm: float) -> float:
        """Piper's length scale that speaks ``wpm`` words per minute over
        speech time with this voice by stretching alone (calibrated once per
        model; :meth:`synthesize_many` stretches less and pauses instead)."""
        from .piper_pace import length_scale_for  # 0.4 ms at every start otherwise: see describe

        key = (voice_id, round(wpm))
        if key not in self._scales:
            self._scales[key] = length_scale_for(self.pace_line(voice_id), wpm)
        return self._scales[key]

    def speak(self, voice_id: str, text: str, length_scale: float) -> Audio:
        """One phrase at a given length scale (no pace calibration)."""
        return self._speak_all(voice_id, [text], length_scale)[0]

    def synthesize(self, text: str, settings: VoiceSettings) -> Audio:
        return self.synthesize_many([text], settings)[0]

    def synthesize_many(self, texts: list[str], settings: VoiceSettings) -> list[Audio]:
        """Several phrases, their sentences ``jobs`` at a time; the result does not depend on ``jobs``.

        Slow rates are reached with pauses rather than stretching (see
        :func:`paced`): up to :data:`NATURAL_SCALE_LIMIT` the voice is
        stretched, the rest of the time goes into pauses between the
        phrase's clauses and sentences."""
        if settings.pitch != PITCH_NEUTRAL:  # 'voiceguide check' warns about it (lint.voice_warnings)
            log.info("pitch %d is ignored: Piper voices have no pitch setting", settings.pitch)
        made = self._speak_all(settings.voice_id, texts, *self._plan(texts, settings))
        if settings.volume != 1.0:
            made = [Audio(on_pcm16_grid(audio.samples * np.float32(settings.volume)), audio.sample_rate) for audio in made]
        return made

    def vowel_onsets_s(self, texts: list[str], settings: VoiceSettings) -> list[float | None]:
        """Where the first vowel of each text begins in what :meth:`synthesize_many`
        makes of it (seconds from its first sample), from the network's own
        durations (:func:`vowel_index`); None where the model does not tell.
        Phrases this engine made already are not made again."""
        scales, pauses = self._plan(texts, settings)
        keys = [
            (settings.voice_id, text, scale, pauses[index] if pauses else 0.0)
            for index, (text, scale) in enumerate(zip(texts, scales))
        ]
        todo = [index for index, key in enumerate(keys) if key not in self._vowels]
        if todo:
            self._speak_all(
                settings.voice_id,
                [texts[i] for i in todo],
                [scales[i] for i in todo],
                [pauses[i] for i in todo] if pauses else None,
            )
        return [self._vowels.get(key) for key in keys]

    def _plan(self, texts: Sequence[str], settings: VoiceSettings) -> tuple[list[float], list[float] | None]:
        """The length scale of each text and, for a slow rate, the pause put
        between its clauses (None: no pauses; see :func:`paced`)."""
        voice_id = settings.voice_id
        scale = self.length_scale(voice_id, settings.rate)
        if scale <= NATURAL_SCALE_LIMIT:
            return [scale] * len(texts), None
        model, phonemizer = self.model(voice_id), _phonemizer()
        plans = [
            paced(
                count_words(text),
                boundaries(phonemizer.sentences(text, model.espeak_voice)),
                settings.rate,
                self.pace_line(voice_id),
            )
            for text in texts
        ]
        return [plan[0] for plan in plans], [plan[1] for plan in plans]

    def _speak_all(
        self,
        voice_id: str,
        texts: Sequence[str],
        length_scale: float | Sequence[float],
        pauses_s: Sequence[float] | None = None,
    ) -> list[Audio]:
        """Each text at its length scale (one for all, or one each). With
        ``pauses_s`` (one per text), every clause is a run of its own and
        that much silence goes between its clauses and sentences."""
        model = self.model(voice_id)
        network = self.network(voice_id)
        phonemizer = _phonemizer()
        scales = [float(length_scale)] * len(texts) if isinstance(length_scale, int | float) else list(length_scale)
        # per phrase, per sentence: the runs of the model (with the scale each is spoken at)
        plan = []
        firsts: list[list[str]] = []  # each phrase's first run (its phonemes)
        for text, scale in zip(texts, scales):
            limit = max(MIN_RUN_PHONEMES, int(RUN_PHONEMES_AT_SCALE_1 / max(1.0, scale)))
            sentences = phonemizer.sentences(text, model.espeak_voice)
            if pauses_s is None:
                runs = [model_runs(sentence, limit) for sentence in sentences]
            else:
                runs = [[run for clause in sentence for run in model_runs([_trimmed(clause)], limit)] for sentence in sentences]
            plan.append([[(phoneme_ids(model, run), scale) for run in sentence] for sentence in runs])
            firsts.append(next((run for sentence in runs for run in sentence), []))
        flat = [item for phrase in plan for sentence in phrase for item in sentence]
        if self.jobs > 1 and len(flat) > 1:
            # longest runs first, so the threads finish together (the order of the results is kept)
            order = sorted(range(len(flat)), key=lambda i: -len(flat[i][0]) * flat[i][1])
            budget = _Budget(SIDE_BY_SIDE_COST)
            with ThreadPoolExecutor(min(self.jobs, len(flat))) as pool:
                made = dict(
                    zip(
                        order,
                        pool.map(lambda i: budget.run(len(flat[i][0]) * flat[i][1], network.timed_run, *flat[i]), order),
                    )
                )
            spoken = iter([made[i] for i in range(len(flat))])
        else:
            spoken = iter([network.timed_run(*item) for item in flat])
        result = []
        for index, phrase in enumerate(plan):
            timed = [next(spoken) for sentence in phrase for _ in sentence]
            parts = [samples for samples, _frames in timed]
            key = (voice_id, texts[index], scales[index], float(pauses_s[index]) if pauses_s is not None else 0.0)
            self._vowels[key] = _vowel_s(model, firsts[index], *timed[0]) if timed else None
            if pauses_s is not None and pauses_s[index] > 0 and len(parts) > 1:
                gap = np.zeros(int(round(pauses_s[index] * model.sample_rate)), dtype=np.float32)
                parts = [piece for part in parts for piece in (gap, part)][1:]
            samples = np.concatenate(parts) if parts else np.zeros(model.sample_rate // 10, dtype=np.float32)
            result.append(Audio(on_pcm16_grid(samples), model.sample_rate))
        return result

    def close(self) -> None:
        self._networks.clear()

    def __enter__(self) -> PiperEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Budget:
    """Lets work run side by side while its costs add up to at most ``limit``
    (one piece at a time is always let through)."""

    def __init__(self, limit: float):
        self.limit = limit
        self.used = 0.0
        self.ready = threading.Condition()

    def run(self, cost: float, work, *args):
        with self.ready:
            self.ready.wait_for(lambda: self.used == 0 or self.used + cost <= self.limit)
            self.used += cost
        try:
            return work(*args)
        finally:
            with self.ready:
                self.used -= cost
                self.ready.notify_all()


def _vowel_s(model: PiperModel, phonemes: Sequence[str], samples: np.ndarray, frames: np.ndarray | None) -> float | None:
    """Seconds from the start of a run's audio to its first vowel, by the network's durations."""
    index = vowel_index(model, phonemes) if frames is not None else None
    if index is None or frames is None:
        return None
    seconds_per_frame = len(samples) / float(frames.sum()) / model.sample_rate
    return float(frames[:index].sum()) * seconds_per_frame


def boundaries(sentences: Sequence[Sequence[Sequence[str]]]) -> int:
    """Places a speaker may pause inside a phrase: between its clauses and between its sentences."""
    return max(0, sum(len(sentence) for sentence in sentences) - 1)


def paced(words: int, pauses: int, wpm: float, points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(length scale, seconds of pause at each of ``pauses`` places) that
    speak ``words`` words at ``wpm`` words per minute of speech time, on
    the measured line ``points`` (length scale, seconds per word).

    Slow speech should pause more rather than stretch every sound (stretched
    speech is what listeners of recorded mindfulness instructions liked
    least, and Piper sounds drawn out when stretched): the voice is
    stretched up to :data:`NATURAL_SCALE_LIMIT`, and the time still missing
    goes into the pauses, at most :data:`MAX_PAUSE_S` each. Only what those
    cannot hold (a phrase of one clause has no place to pause) is stretched further."""
    from .piper_pace import length_scale_for  # 0.4 ms at every start otherwise: see PiperEngine.describe

    target = length_scale_for(list(points), wpm)
    if target <= NATURAL_SCALE_LIMIT:
        return target, 0.0
    (scale_a, seconds_a), (scale_b, seconds_b) = points[0], points[-1]
    slope = (seconds_b - seconds_a) / (scale_b - scale_a)
    missing_s = max(1, words) * slope * (target - NATURAL_SCALE_LIMIT)
    room_s = pauses * MAX_PAUSE_S
    if missing_s <= room_s:
        return NATURAL_SCALE_LIMIT, missing_s / pauses
    return target - room_s / (max(1, words) * slope), MAX_PAUSE_S if pauses else 0.0


def _trimmed(clause: Sequence[str]) -> list[str]:
    """A clause spoken as a run of its own, without the space that joined it to the next."""
    phonemes = list(clause)
    while phonemes and phonemes[-1] == " ":
        phonemes.pop()
    return phonemes


def on_pcm16_grid(samples: np.ndarray) -> np.ndarray:
    """``samples`` (float32) rounded to the 16-bit values the phrase cache
    keeps, so a phrase from the cache is the very phrase the network made;
    a phrase peaking above full scale is first scaled down to it (Piper's
    output peaks near 0.7; the level is set later, see dsp.level)."""
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak > 1.0:
        samples = samples / np.float32(peak)
    return to_pcm16(samples).astype(np.float32) / np.float32(32768.0)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
