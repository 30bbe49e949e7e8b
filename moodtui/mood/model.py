"""Serving a mood model with onnxruntime.

A model is two files side by side: ``<name>.onnx`` and ``<name>.json`` (its metadata: version,
class order, feature parameters, training data counts and validation figures). Loading refuses a
model whose metadata does not match this code's feature function or class order: a model fed
features it was not trained on would give confident nonsense.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from moodtui import CLASSES
from moodtui.errors import ModelError, display_path
from moodtui.mood.descriptors import DESCRIPTOR_NAMES, DESCRIPTORS_VERSION, SongCues, descriptor_rows, slice_descriptors
from moodtui.mood.features import FEATURE_PARAMS, INPUT_SHAPE

INPUT_NAME = "mel"
PROBS_OUTPUT = "probs"
EMBEDDING_OUTPUT = "embedding"
# Optional: models exported since base-2026-12 also give each slice's energy (0 calm .. 1
# energetic, a sigmoid head on the embedding trained on the teachers' energy). Older models lack it.
ENERGY_OUTPUT = "energy"
METADATA_FORMAT = 1
# Slices per onnxruntime call. Small batches keep the first block's activations (8 x 128 x 146
# floats a slice) in the CPU cache: on 83 slices, batches of 4 took 19 ms, of 20 (one analysis
# block) 29 ms, of 83 33 ms (one thread, measured on the shipped base). More calls cost less than
# the cache misses.
INFERENCE_BATCH = 4
# A song whose calibrated confidence is below this is shown as "unsure" (models may set their own
# in ``calibration.unsure_below``): with three classes, below one half the model is more often
# wrong than right about it.
UNSURE_BELOW = 0.5


def calibrate(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature scaling of probabilities (last axis): softmax(log(p) / T).

    The model's softmax outputs, averaged over a song's slices, are over-confident on music it
    never heard; T > 1 (fitted on held-out songs by the training job) softens them so that
    "80 %" is right about 80 % of the time. T = 1 returns ``probs`` unchanged; the argmax never
    changes.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if temperature == 1.0 or not probs.size:
        return probs
    logits = np.log(np.clip(probs, 1e-12, 1.0)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=-1, keepdims=True)


def metadata_path(onnx_path: Path) -> Path:
    return onnx_path.with_suffix(".json")


def read_metadata(onnx_path: Path) -> dict[str, Any]:
    meta_path = metadata_path(onnx_path)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{display_path(meta_path)}: model metadata missing") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{display_path(meta_path)}: unreadable model metadata ({exc})") from None
    if not isinstance(meta, dict):
        raise ModelError(f"{display_path(meta_path)}: model metadata is not a JSON object")
    return meta


def check_metadata(meta: dict[str, Any], where: Path) -> None:
    """Refuse metadata that does not describe this code's features and classes."""
    if meta.get("format") != METADATA_FORMAT:
        raise ModelError(
            f"{display_path(where)}: metadata format {meta.get('format')!r}, "
            f"this moodtui reads format {METADATA_FORMAT}"
        )
    if list(meta.get("classes", [])) != list(CLASSES):
        raise ModelError(f"{display_path(where)}: class order {meta.get('classes')!r} does not match {list(CLASSES)!r}")
    feature = meta.get("feature")
    if not isinstance(feature, dict):
        raise ModelError(f"{display_path(where)}: metadata has no feature parameters")
    mismatched = sorted(k for k in set(FEATURE_PARAMS) | set(feature) if feature.get(k) != FEATURE_PARAMS.get(k))
    if mismatched:
        details = ", ".join(f"{k}: model {feature.get(k)!r} vs code {FEATURE_PARAMS.get(k)!r}" for k in mismatched[:3])
        raise ModelError(f"{display_path(where)}: model was trained on other features ({details})")


def descriptor_part(head: dict[str, Any]) -> dict[str, Any] | None:
    """The descriptor weights of a last layer's metadata, or None (none, or another definition's:
    other names, or weights fitted to another ``DESCRIPTORS_VERSION``, whose values mean something
    else; such a head scores at the mean descriptors, its ``bias``, until it is retrained)."""
    part = head.get("descriptors")
    if not isinstance(part, dict) or list(part.get("names", [])) != list(DESCRIPTOR_NAMES):
        return None
    if older_descriptors(head) is not None:
        return None
    return part


def older_descriptors(head: dict[str, Any]) -> str | None:
    """The ``DESCRIPTORS_VERSION`` a last layer's descriptor weights were fitted to, when it is
    not this moodtui's; else None (the same, or no descriptor weights)."""
    part = head.get("descriptors")
    if not isinstance(part, dict):
        return None
    fitted = str(part.get("version", DESCRIPTORS_VERSION))
    return fitted if fitted != DESCRIPTORS_VERSION else None


def apply_head(head: dict[str, Any], embeddings: np.ndarray, descriptors: np.ndarray | None = None) -> np.ndarray:
    """Softmax probabilities of a last layer given as metadata (``kernel``, ``bias``, and for a
    personal head that reads the slices' musical descriptors, ``descriptors``: ``names``,
    ``kernel``, ``mean``).

    A descriptor head adds ``(descriptors - mean) @ kernel`` to the logits; its ``bias`` is the
    logit at the mean descriptors, which is what the ONNX graph's ``probs`` computes and what a
    slice without descriptors (``descriptors`` None: an analysis cached before they existed) gets.
    """
    logits = embeddings.astype(np.float32) @ np.asarray(head["kernel"], np.float32) + np.asarray(
        head["bias"], np.float32
    )
    part = descriptor_part(head)
    if part is not None and descriptors is not None and descriptors.shape == (len(logits), len(DESCRIPTOR_NAMES)):
        logits += (descriptors.astype(np.float32) - np.asarray(part["mean"], np.float32)) @ np.asarray(
            part["kernel"], np.float32
        )
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class SlicePredictions:
    probs: np.ndarray  # (n, 3) float32, CLASSES order
    embeddings: np.ndarray  # (n, E) float32
    energy: np.ndarray | None = None  # (n,) float32 in 0..1, when the model has the output
    descriptors: np.ndarray | None = None  # (n, D) float32 musical descriptors (moodtui.mood.descriptors)


@dataclass
class MoodModel:
    """A loaded ONNX mood model; ``predict`` is safe to call from several threads."""

    path: Path
    metadata: dict[str, Any]
    _session: Any = field(repr=False)
    _outputs: list[str] = field(default_factory=lambda: [PROBS_OUTPUT, EMBEDDING_OUTPUT], repr=False)

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unknown"))

    @property
    def embedding_id(self) -> str:
        """Identifies the network up to the embedding: equal ids give equal embeddings."""
        return str(self.metadata.get("embedding_id", self.version))

    @property
    def temperature(self) -> float:
        """Calibration temperature for song-level probabilities (1.0: uncalibrated model)."""
        calibration = self.metadata.get("calibration")
        try:
            value = float(calibration["temperature"]) if isinstance(calibration, dict) else 1.0
        except (KeyError, TypeError, ValueError):
            return 1.0
        return value if np.isfinite(value) and value > 0 else 1.0

    @property
    def unsure_below(self) -> float:
        calibration = self.metadata.get("calibration")
        try:
            return float(calibration["unsure_below"]) if isinstance(calibration, dict) else UNSURE_BELOW
        except (KeyError, TypeError, ValueError):
            return UNSURE_BELOW

    @property
    def has_energy(self) -> bool:
        head = self.metadata.get("energy_head")
        return isinstance(head, dict) and "kernel" in head and "bias" in head

    def energy_from_embeddings(self, embeddings: np.ndarray) -> np.ndarray | None:
        """Per-slice energy from cached embeddings (the energy head's weights are in the metadata)."""
        if not self.has_energy or not embeddings.size:
            return None
        head = self.metadata["energy_head"]
        kernel = np.asarray(head["kernel"], np.float32)
        if kernel.shape[0] != embeddings.shape[1]:
            return None
        z = embeddings.astype(np.float32) @ kernel + np.asarray(head["bias"], np.float32)
        return (1.0 / (1.0 + np.exp(-z))).reshape(-1).astype(np.float32)

    @property
    def has_head(self) -> bool:
        head = self.metadata.get("head")
        return isinstance(head, dict) and "kernel" in head and "bias" in head

    @property
    def uses_descriptors(self) -> bool:
        """The last layer also reads the slices' musical descriptors (a personal head may)."""
        return self.has_head and descriptor_part(self.metadata["head"]) is not None

    def head_probs(self, embeddings: np.ndarray, descriptors: np.ndarray | None = None) -> np.ndarray:
        """The model's last layer (softmax) applied to embeddings, from the weights in its metadata.

        Lets the player re-score cached songs after a retrain without decoding them again; the
        training job checks these weights reproduce the ONNX output. See :func:`apply_head`.
        """
        return apply_head(self.metadata["head"], embeddings, descriptors)

    @classmethod
    def load(cls, onnx_path: str | os.PathLike[str], threads: int | None = None) -> MoodModel:
        onnx_path = Path(onnx_path)
        if not onnx_path.is_file():
            raise ModelError(f"{display_path(onnx_path)}: model file missing")
        meta = read_metadata(onnx_path)
        check_metadata(meta, metadata_path(onnx_path))
        import onnxruntime  # deferred: ~0.3 s to import, not needed for `moodtui --help`

        options = onnxruntime.SessionOptions()
        # One thread by default: measured faster than two on this 2-core machine while decoding runs
        # beside it, and it leaves a core for the UI.
        options.intra_op_num_threads = threads or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        try:
            session = onnxruntime.InferenceSession(os.fspath(onnx_path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise ModelError(f"{display_path(onnx_path)}: cannot load ONNX model ({reason})") from None
        inputs = {i.name: i for i in session.get_inputs()}
        outputs = {o.name for o in session.get_outputs()}
        if INPUT_NAME not in inputs or PROBS_OUTPUT not in outputs or EMBEDDING_OUTPUT not in outputs:
            raise ModelError(
                f"{display_path(onnx_path)}: ONNX graph lacks input '{INPUT_NAME}' or outputs "
                f"'{PROBS_OUTPUT}'/'{EMBEDDING_OUTPUT}'"
            )
        shape = list(inputs[INPUT_NAME].shape)[1:]
        if shape != list(INPUT_SHAPE):
            raise ModelError(
                f"{display_path(onnx_path)}: input shape {shape} does not match features {list(INPUT_SHAPE)}"
            )
        model = cls(onnx_path, meta, session)
        model._outputs = [PROBS_OUTPUT, EMBEDDING_OUTPUT] + ([ENERGY_OUTPUT] if ENERGY_OUTPUT in outputs else [])
        return model

    def predict(
        self,
        features: np.ndarray,
        song: SongCues | None = None,
        batch: int = INFERENCE_BATCH,
        *,
        live: bool = True,
    ) -> SlicePredictions:
        """Probabilities, embeddings and descriptors for a batch of slice features (n, 128, 146, 1).

        The descriptors are computed from the same features (a few ms per song), always, so the
        analysis cache holds them for the next personal retrain; a head that reads them gives
        the probabilities (the ONNX graph's ``probs`` hold only its embedding part). ``song``
        gathers the song descriptors over a song's batches (pass the same one for each batch of
        a song, in order); without it the batch is taken as the whole song. ``live=False``: the
        caller re-scores the whole song once it is done (``mood.analysis.analyse_file``), so a
        head that reads the descriptors is not applied here and the song descriptors so far are
        not worked out (the returned ``probs`` are then the graph's).
        """
        graph = self.run(features, batch)
        whole = song is None
        if song is None:
            song = SongCues()
        slice_part = slice_descriptors(features, song)  # gives the song the slices' onsets too
        scored = self.uses_descriptors and (live or whole)
        song_part = song.song() if whole or scored else song.placeholder()
        descriptors = descriptor_rows(slice_part, song_part)
        probs = self.head_probs(graph.embeddings, descriptors) if len(features) and scored else graph.probs
        return SlicePredictions(probs, graph.embeddings, graph.energy, descriptors)

    def run(self, features: np.ndarray, batch: int = INFERENCE_BATCH) -> SlicePredictions:
        """The ONNX graph's outputs alone (no descriptors) for a batch of slice features."""
        if features.shape[0] == 0:
            return SlicePredictions(np.zeros((0, len(CLASSES)), np.float32), np.zeros((0, 0), np.float32))
        probs, embeddings, energy = [], [], []
        for start in range(0, features.shape[0], batch):
            out = self._session.run(self._outputs, {INPUT_NAME: np.ascontiguousarray(features[start : start + batch])})
            probs.append(out[0])
            embeddings.append(out[1])
            if len(out) > 2:
                energy.append(np.asarray(out[2]).reshape(-1))
        return SlicePredictions(
            np.concatenate(probs).astype(np.float32),
            np.concatenate(embeddings).astype(np.float32),
            np.concatenate(energy).astype(np.float32) if energy else None,
        )
