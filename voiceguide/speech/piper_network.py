"""A Piper network in onnxruntime: the runtime, its noise fixed, its phoneme
durations exposed, and the fixed model kept in the cache (see
:mod:`voiceguide.speech.piper`)."""

from __future__ import annotations

import ctypes
import logging
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..atomic import write_atomically
from ..errors import EngineError, UsageError
from ..folders import UntrustedCacheError, cache_problem, cache_root, private_folder
from ..i18n import N_, _
from .piper_model import PiperModel, _one_line

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install 'voiceguide[piper]'"
NOISE_SEED = 20261126
NOISE_TABLE_SIZE = 1 << 20
"""Values in each fixed noise table; longer draws repeat the table."""
_PIPER_INPUTS = {"input", "input_lengths", "scales"}


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


def durations_model(graph_model):
    """The part of a Piper model that makes its phoneme durations, as a model
    of its own (or None for a model not built that way): the same inputs,
    and as output the durations before the length scale multiplies them
    and :func:`expose_durations`' ``Ceil`` rounds them up. It is the text
    encoder and the duration predictor, without the decoder that makes the
    audio: 6-18 % of a run's time. Since the graph computes
    ``ceil(durations x length_scale)``, one run at any scale gives every
    scale's frames exactly (:meth:`PiperNetwork.frames_at`), so a phrase's
    length is known before its audio is made."""
    from onnx.utils import Extractor

    graph = graph_model.graph
    made_by = {output: node for node in graph.node for output in node.output}
    ceils = [node for node in graph.node if node.op_type == "Ceil"]
    scaled = made_by.get(ceils[0].input[0]) if len(ceils) == 1 else None
    if scaled is None or scaled.op_type != "Mul" or len(scaled.input) != 2:
        return None
    # one factor is the length scale (a Gather from the scales input), the other the durations
    unscaled = [name for name in scaled.input if not _reads_scales(made_by.get(name))]
    if len(unscaled) != 1:
        return None
    inputs = sorted(_PIPER_INPUTS | ({"sid"} & {i.name for i in graph.input}))  # a model of several speakers: which one
    try:
        return Extractor(graph_model).extract_model(inputs, unscaled)
    except Exception:  # noqa: BLE001 - onnx raises many kinds; a model it cannot cut has no durations part
        return None


def _reads_scales(node) -> bool:
    return node is not None and node.op_type == "Gather" and "scales" in node.input


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
        if os.environ.get(LOW_MEMORY_ENV) == "1":
            _hand_memory_back()
        fixed = fixed_model_path(identity) if identity else None
        optimised = optimised_model_path(identity, onnxruntime.__version__) if identity else None
        self._fixed = fixed
        self._durations_session = None
        self._durations_lock = threading.Lock()
        self.session = None
        if optimised is not None:
            self.session = self._load_kept(onnxruntime, optimised)
        if self.session is None and fixed is not None:
            self.session = self._load_kept(onnxruntime, fixed, optimised)
        if self.session is None:
            self.session = self._load_and_fix(onnxruntime, fixed, optimised)
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

    def _load_kept(self, onnxruntime, path: Path, optimised: Path | None = None):
        """A session on a model kept in the cache (None when it is not there,
        damaged or was kept by an older voiceguide, without the durations),
        keeping its optimised copy at ``optimised`` when given."""
        session = _kept_session(onnxruntime, path, self.model.name, optimised)
        return session if session is not None and len(session.get_outputs()) >= 2 else None

    def _load_and_fix(self, onnxruntime, fixed: Path | None, optimised: Path | None):
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
        if fixed is not None:
            _keep_durations_model(graph_model, durations_model_path(fixed))
        expose_durations(graph_model)
        serialized = graph_model.SerializeToString()
        del graph_model  # the parsed model is as large as the file: free it before onnxruntime makes its own copy
        source: str | bytes = serialized
        if fixed is not None and _keep_fixed_model(fixed, serialized):
            del serialized
            source = str(fixed)
        else:
            optimised = None  # kept only beside the fixed model
        try:
            return _session(onnxruntime, source, optimised)
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

    def unscaled_durations(self, ids: Sequence[int]) -> np.ndarray | None:
        """Each id's duration in frames at length scale 1, before rounding
        (see :func:`durations_model`); None for a model without that part, or
        without a cache folder to keep it in."""
        session = self._durations()
        if session is None:
            return None
        feed = {
            "input": np.array([ids], dtype=np.int64),
            "input_lengths": np.array([len(ids)], dtype=np.int64),
            "scales": np.array([self.model.noise_scale, 1.0, self.model.noise_w], dtype=np.float32),
        }
        if "sid" in {i.name for i in session.get_inputs()}:
            feed["sid"] = np.array([self.model.speaker or 0], dtype=np.int64)
        try:
            (durations,) = session.run(None, feed)
        except Exception as exc:  # noqa: BLE001 - not fatal: the phrase's audio is measured instead
            log.info("the durations part of %s failed (%s); phrases are measured instead", self.model.name, exc)
            return None
        durations = np.asarray(durations, dtype=np.float32).reshape(-1)
        return durations if len(durations) == len(ids) and np.all(np.isfinite(durations)) else None

    @staticmethod
    def frames_at(unscaled: np.ndarray, length_scale: float) -> np.ndarray:
        """The frames each id lasts at ``length_scale``: what the network's
        ``Ceil`` gives (the same float32 product, rounded up; tested equal)."""
        return np.ceil(unscaled * np.float32(length_scale))

    def release_durations(self) -> None:
        """Free the durations part (about 30 MB) until it is needed again: it
        is used before a batch of phrases is made, not while (the peak of a
        Piper export's memory, see PiperEngine.speech_seconds)."""
        with self._durations_lock:
            self._durations_session = None

    def _durations(self):
        """The durations part's session, loaded on first use from the cache
        (made there from the fixed model the first time: onnx parses it once)."""
        with self._durations_lock:
            if self._durations_session is None and self._fixed is not None:
                self._durations_session = _load_durations(self._fixed, self.model.name) or False
            return self._durations_session or None


def _options(onnxruntime):
    """The session options every Piper network is loaded with."""
    options = onnxruntime.SessionOptions()
    # One thread per call: calls run side by side (see PiperEngine), and
    # one thread gives the same samples on any machine.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if os.environ.get(LOW_MEMORY_ENV) == "1":
        options.enable_cpu_mem_arena = False
    return options


def _session(onnxruntime, source: str | bytes, optimised: Path | None = None, *, arena: bool = True):
    """An onnxruntime session on ``source`` (a path or the model's bytes).

    With ``optimised``, the graph onnxruntime optimises it into is kept
    there as well, to load next time: the optimising is most of a model's
    load (0.28-0.37 s of CPU for en_US-joe-medium, against 0.13-0.16 s from
    the optimised copy). It is kept at the extended level, whose rewrites
    do not depend on the processor (the layout ones, made for the processor
    at hand, are made again at every load); a session at that level and one
    from the copy give the very samples of the full level (tested)."""
    options = _options(onnxruntime)
    if not arena:
        options.enable_cpu_mem_arena = False
    if optimised is None:
        return onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    partial = optimised.with_name(f"{optimised.name}.{os.getpid()}.partial")
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(partial)
    try:
        session = onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        try:
            os.replace(partial, optimised)
        except OSError as exc:
            log.info("the optimised model is not kept in the cache (%s)", exc.strerror or exc)
        return session
    finally:
        partial.unlink(missing_ok=True)


def _kept_session(onnxruntime, path: Path, name: str, optimised: Path | None = None, *, arena: bool = True):
    """A session on a file kept in the cache folder (see :func:`_session`), or
    None when it is not there, not in a folder only this user can write, or
    damaged (said in a warning: the caller makes it again)."""
    if not _usable_cache_file(path):
        return None
    try:
        return _session(onnxruntime, str(path), optimised, arena=arena)
    except Exception:  # noqa: BLE001 - onnxruntime's errors have no common base
        log.warning(N_("the cached copy of %s is damaged; making it again"), name)
        return None


def durations_model_path(fixed: Path) -> Path:
    """Where the durations part (:func:`durations_model`) of a fixed model is kept: beside it."""
    return fixed.with_suffix(".durations.onnx")


def _keep_durations_model(graph_model, path: Path) -> bool:
    """Cut the durations part out of a (noise-fixed) model and keep it at ``path``."""
    part = durations_model(graph_model)
    if part is None:
        return False
    return _keep_fixed_model(path, part.SerializeToString())


def _load_durations(fixed: Path, name: str):
    """A session on the durations part kept beside ``fixed`` (made from it
    when missing or damaged), or None where there is none to be had."""
    onnxruntime = _runtime()
    path = durations_model_path(fixed)
    optimised = _optimised_copy(path, onnxruntime.__version__)
    session = _kept_session(onnxruntime, optimised, name, arena=False) or _kept_session(
        onnxruntime, path, name, optimised, arena=False
    )
    if session is not None:
        return session
    if not _usable_cache_file(fixed):
        return None
    onnx, _onnxruntime = _runtime(onnx_too=True)
    try:
        graph_model = onnx.load(str(fixed), load_external_data=False)
    except Exception:  # noqa: BLE001 - the fixed model is made again at the next load
        return None
    if not _keep_durations_model(graph_model, path):
        return None
    del graph_model
    try:
        return _session(onnxruntime, str(path), optimised, arena=False)
    except Exception:  # noqa: BLE001
        return None


def _version_tag(runtime_version: str) -> str:
    return re.sub(r"[^0-9a-z.]", "", runtime_version.lower()).strip(".") or "0"


def optimised_model_path(identity: str, runtime_version: str) -> Path:
    """Where onnxruntime's optimised graph of the fixed model of ``identity``
    is kept (beside it): the graph may use operators of that runtime's
    version only, so the version names it."""
    return _optimised_copy(fixed_model_path(identity), runtime_version)


def _optimised_copy(path: Path, runtime_version: str) -> Path:
    """Where onnxruntime's optimised graph of the model kept at ``path`` is kept, beside it."""
    return path.with_suffix(f".ort-{_version_tag(runtime_version)}.onnx")


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
