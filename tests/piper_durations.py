"""Where a Piper voice puts each phoneme of a word: the network's own durations.

A Piper (VITS) model predicts how many frames each phoneme id lasts and
rounds them up (its one ``Ceil`` node) before it makes the audio; exposing
that node's output gives each phoneme's start in the audio, independent of
any measurement on the audio (as espeak-ng's phoneme events are for espeak).
"""

from __future__ import annotations

import numpy as np

from voiceguide.speech import piper

VOWELS = set("aeiouæɐɑɒɔəɛɜɪʊʌʏøœɨʉɵɤɯ")


def vowel_s(engine: piper.PiperEngine, voice_id: str, word: str, rate: int) -> tuple[float, np.ndarray]:
    """(seconds from the start of the word's audio to its first vowel, the audio).

    The network gives time to the blanks between phonemes too (the
    transitions); the vowel is taken to start with the blank (and stress
    mark) just before its id: the earliest a listener could hear it."""
    import onnx
    import onnxruntime

    model = engine.model(voice_id)
    scale = engine.length_scale(voice_id, rate)
    (sentence,) = piper._phonemizer().sentences(word, model.espeak_voice)
    (run,) = piper.model_runs(sentence, 10_000)
    graph_model = onnx.load(str(model.path))
    piper.fix_noise(graph_model)
    ceil = next(node for node in graph_model.graph.node if node.op_type == "Ceil")
    graph_model.graph.output.append(onnx.helper.make_tensor_value_info(ceil.output[0], onnx.TensorProto.FLOAT, None))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(graph_model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    ids = piper.phoneme_ids(model, run)
    feed = {
        "input": np.array([ids], dtype=np.int64),
        "input_lengths": np.array([len(ids)], dtype=np.int64),
        "scales": np.array([model.noise_scale, scale, model.noise_w], dtype=np.float32),
    }
    audio, frames = session.run(None, feed)
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    frames = np.asarray(frames).reshape(-1)
    hop = len(audio) / frames.sum()
    # ids: ^ _ (phoneme _)* $ ; the symbol of each id, in order
    symbols = ["^", "_"]
    for phoneme in run:
        for mapped in model.phoneme_map.get(phoneme, (phoneme,)):
            if model.phoneme_ids.get(mapped):
                symbols += [mapped, "_"]
    symbols.append("$")
    assert len(symbols) == len(ids) == len(frames)
    first = next(index for index, symbol in enumerate(symbols) if symbol in VOWELS)
    while first > 0 and symbols[first - 1] in ("_", "ˈ", "ˌ"):
        first -= 1
    return float(frames[:first].sum() * hop / model.sample_rate), audio
