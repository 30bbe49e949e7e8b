"""``moodtui train``: train or fine-tune the mood CNN and swap the exported ONNX model in atomically.

Two modes:

* ``full`` trains the whole CNN on slice features (the base model, and the small model the tests
  build). It splits by song, never by slice.
* ``personal`` (the default when the listener's labels are the source) adapts the last layer to the
  listener: every slice of each labelled song, as embeddings from the base network, plus a
  class-balanced replay sample of the base training data so it does not forget. The conv trunk
  and the embedding stay those of the base model, which makes a retrain take seconds, keeps it
  stable with a handful of labels, and lets the player re-score its whole cached library at once.

Every step that can fail (reading data, training, exporting, checking the export) runs before
anything is moved into place; a failure exits non-zero with the reason and leaves the previous
model in use. Progress is printed on stdout as one JSON object per line (``{"event": ...}``),
which the player follows; everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import moodtui
from moodtui import CLASSES
from moodtui.errors import MoodtuiError, display_path
from moodtui.fileio import disk_full_in
from moodtui.listener.progress import (
    DataSplit,
    EpochEnded,
    FeaturesRead,
    GuardCompared,
    HeadTried,
    JobDone,
    JobFailed,
    JobStarted,
    ModelExported,
    ProgressEvent,
    SongSkipped,
    describe,
    to_line,
)
from moodtui.listener.retrain import MIN_LABELLED_SONGS
from moodtui.mood.descriptors import DESCRIPTOR_COUNT, DESCRIPTOR_NAMES, DESCRIPTORS_VERSION, song_descriptors
from moodtui.mood.features import FEATURE_PARAMS, INPUT_SHAPE
from moodtui.mood.model import (
    EMBEDDING_OUTPUT,
    ENERGY_OUTPUT,
    INPUT_NAME,
    METADATA_FORMAT,
    PROBS_OUTPUT,
    MoodModel,
    apply_head,
    descriptor_part,
)
from moodtui.mood.versions import STAGING_PREFIX, remove_staging
from moodtui.paths import data_home, shipped_model_path
from moodtui.train.data import (
    Song,
    read_manifest,
    song_features,
    song_folds,
    split_by_song,
)
from moodtui.train.heads import (
    BASE_SCORES,
    HEAD_DESCRIPTIONS,
    HEADS,
    Standardiser,
    choose_head,
    song_predictions,
    training_data,
)

PARITY_TOLERANCE = 1e-4


_AS_TEXT = False
"""A person at a terminal ran ``moodtui train`` without ``--json``: lines for people (main sets it)."""


def emit(event: ProgressEvent) -> None:
    """One progress line on stdout: machine-readable JSON (``moodtui.listener.progress``: the player reads
    it back), or, on a terminal without ``--json``, a sentence."""
    if _AS_TEXT:
        # A failure is also the process's one stderr line: say it once.
        text = None if isinstance(event, JobFailed) else describe(event)
        if text is not None:
            print(f"moodtui train: {text}", flush=True)
        return
    print(to_line(event), flush=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--manifest",
        type=Path,
        action="append",
        default=[],
        help="CSV of labelled audio: header with path,label (+ optional aux_* columns, group)",
    )
    parser.add_argument(
        "--json", action="store_true", help="progress as JSON lines (the default when stdout is not a terminal)"
    )
    parser.add_argument(
        "--listener", action="store_true", help="train on the listener's labels (the default when no manifest is given)"
    )
    parser.add_argument(
        "--mode",
        choices=("full", "personal"),
        default=None,
        help="full: train the whole CNN; personal: adapt the last layer (default with --listener)",
    )
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--val-fraction", type=float, default=0.2, help="share of songs held out (full mode)")
    parser.add_argument(
        "--max-slices-per-song",
        type=int,
        default=None,
        help="full mode: use at most this many slices per song, spread over it",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--base",
        type=Path,
        default=None,
        help="base ONNX model whose .keras weights and replay set the personal mode starts from",
    )
    parser.add_argument("--init", type=Path, default=None, help="full mode: start from these .keras weights")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="write <OUTPUT>.onnx/.json/.keras here instead of a new version in the data folder",
    )
    parser.add_argument("--version", default=None, help="version name (default: a timestamp)")
    parser.add_argument("--no-activate", action="store_true", help="install the version without making it current")
    parser.add_argument("--dropout", type=float, default=0.3, help="full mode: dropout before and after the embedding")
    parser.add_argument("--aux-weight", type=float, default=0.5, help="full mode: loss weight of each auxiliary head")
    parser.add_argument(
        "--no-spec-augment", action="store_true", help="full mode: no random frequency/time masks on training slices"
    )
    parser.add_argument(
        "--heads",
        nargs="+",
        choices=HEADS,
        default=list(HEADS),
        metavar="HEAD",
        help=f"personal mode: the candidate heads, chosen among by held-out songs ({', '.join(HEADS)})",
    )
    parser.add_argument(
        "--replay-size",
        type=int,
        default=3000,
        help="full mode: slices of training data kept (as embeddings) for personal replay",
    )


def main(args: argparse.Namespace) -> int:
    global _AS_TEXT
    _AS_TEXT = not args.json and sys.stdout.isatty()
    started = time.monotonic()
    # No GPU here; keep TensorFlow's start-up chatter out of the parent's progress view (and off
    # a person's terminal: TensorFlow 2.21 prints its oneDNN notice through absl whatever the log
    # level, with absl's own warning before it; the oneDNN ops speed up nothing this job does).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    try:
        from moodtui.listener.retrain import exit_with_parent, training_lock

        exit_with_parent()  # no orphan job when the player goes; cancel cleans up
        lock = training_lock(data_home())  # noqa: F841 (held until the process ends)
        remove_staging()  # left by a job that was killed (none can run: we hold the lock)
        if args.manifest:
            songs = [song for manifest in args.manifest for song in read_manifest(manifest)]
        else:
            songs = []
        if args.listener or not songs:
            songs += listener_songs()
        mode = args.mode or ("full" if args.manifest and not args.listener else "personal")
        if not songs:
            raise MoodtuiError("no labelled songs: label songs with p / n / x (or `moodtui label`) first")
        version = args.version or dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        emit(JobStarted(mode=mode, songs=len(songs), version=version))
        if mode == "full":
            result = train_full(songs, args, version)
        else:
            result = train_personal(songs, args, version)
        path = install(result, args, version)
        guard = result.metadata.get("guard")
        emit(
            JobDone(
                version=version,
                path=os.fsdecode(path),
                seconds=round(time.monotonic() - started, 1),
                validation=result.metadata.get("validation"),
                agreement=result.metadata.get("agreement"),
                head=result.metadata.get("personal", {}).get("head"),
                guard=guard,
                switched=bool(result.activate and not args.no_activate and args.output is None),
            )
        )
        if guard and args.output is None:
            from moodtui.listener.retrain import guard_message

            print(f"moodtui train: {guard_message(guard, version, f'`moodtui rollback {version}`')}", file=sys.stderr)
        return 0
    except MoodtuiError as exc:
        emit(JobFailed(str(exc)))
        print(f"moodtui train: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        emit(JobFailed("interrupted"))
        return 130
    except Exception as exc:  # an unexpected failure still must not touch the working model
        if disk_full_in(exc):  # whichever library wrote (Keras, tf2onnx, numpy): one line, no traceback
            message = (
                f"no space left on device while writing in {display_path(data_home())}; "
                "the previous model stays in use (free some space and retrain)"
            )
            emit(JobFailed(message))
            print(f"moodtui train: {message}", file=sys.stderr)
            return 1
        emit(JobFailed(f"{type(exc).__name__}: {exc}"))
        raise


def listener_songs() -> list[Song]:
    from moodtui.listener.labels import default_store

    songs = []
    for record in default_store().current_labels():
        path = Path(record.path)
        songs.append(
            Song(path, CLASSES.index(record.label), group=record.fingerprint or os.fsdecode(path), source="listener")
        )
    return songs


# --- full training -------------------------------------------------------------------------------


class Result:
    """A trained, exported and checked model in a staging folder, ready to install.

    ``activate``: make it the model in use (False when it is not at least as good as the current one:
    it is then installed as a version the listener can switch to)."""

    def __init__(self, staging: Path, metadata: dict[str, Any], activate: bool = True) -> None:
        self.staging = staging
        self.metadata = metadata
        self.activate = activate


def load_features(
    songs: list[Song], max_slices: int | None, workers: int | None = None
) -> tuple[list[Song], list[np.ndarray]]:
    """Features of every song, computed on the analysis pool (``moodtui.mood.pool``, one process per
    core); a song that cannot be read is reported and skipped."""
    from functools import partial

    from moodtui.mood.pool import AnalysisPool, worker_count
    from moodtui.train.data import song_slices_work

    cache_dir = data_home() / "cache" / "features"
    rows = [(os.fspath(s.path), s.start_s, s.end_s) for s in songs]
    unique = list(dict.fromkeys(rows))
    found: dict[tuple, np.ndarray] = {}
    failed: dict[tuple, str] = {}
    done = 0

    def finished(outcome) -> None:
        nonlocal done
        if outcome.ok:
            found[outcome.item] = outcome.value
        else:
            failed[outcome.item] = outcome.error
        done += 1
        if done % 10 == 0 or done == len(unique):
            emit(FeaturesRead(done=done, total=len(unique)))

    work = partial(song_slices_work, cache_dir=os.fspath(cache_dir), max_slices=max_slices)
    count = min(workers or worker_count(playing=False), max(1, len(unique)))
    if count <= 1:
        from moodtui.mood.pool import run_one

        for row in unique:
            finished(run_one(work, row))
    else:
        with AnalysisPool(count) as pool:
            pool.run(work, unique, on_outcome=finished)
    kept, features = [], []
    for song, row in zip(songs, rows):
        if row in found:
            kept.append(song)
            features.append(found[row])
        else:
            emit(SongSkipped(display_path(song.path), f"{display_path(song.path)}: {failed.get(row)}"))
    return kept, features


def train_full(songs: list[Song], args: argparse.Namespace, version: str) -> Result:
    songs, features = load_features(songs, args.max_slices_per_song)
    train_songs, val_songs = split_by_song(songs, args.val_fraction, args.seed)
    if not train_songs:
        raise MoodtuiError("no readable training songs")
    index = {id(s): i for i, s in enumerate(songs)}
    aux_names = tuple(sorted({k for s in train_songs for k in s.aux}))

    def stack(subset: list[Song]) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        if not subset:
            return (np.zeros((0, *INPUT_SHAPE), np.float16), np.zeros(0, int), np.zeros(0, int), {})
        x = np.concatenate([features[index[id(s)]] for s in subset])
        counts = [len(features[index[id(s)]]) for s in subset]
        y = np.repeat([s.label for s in subset], counts)
        song_of = np.repeat(np.arange(len(subset)), counts)
        aux = {
            name: np.repeat([s.aux.get(name, np.nan) for s in subset], counts).astype(np.float32) for name in aux_names
        }
        return x, y, song_of, aux

    x_train, y_train, song_train, aux_train = stack(train_songs)
    x_val, y_val, song_val, aux_val = stack(val_songs)
    emit(
        DataSplit(
            train_songs=len(train_songs),
            val_songs=len(val_songs),
            train_slices=len(x_train),
            val_slices=len(x_val),
            aux=list(aux_names),
        )
    )

    import keras  # TensorFlow enters here, in this process only

    from moodtui.train.network import build_network

    model = build_network(aux_names, dropout=args.dropout, seed=args.seed)
    if args.init is not None:
        model.load_weights(os.fsdecode(args.init)) if args.init.suffix == ".h5" else _copy_weights(
            keras.models.load_model(os.fsdecode(args.init), compile=False), model
        )
    epochs = args.epochs or 30
    lr = args.learning_rate or 1e-3
    losses = {"probs": "sparse_categorical_crossentropy"}
    loss_weights = {"probs": 1.0}
    for name in aux_names:
        losses[f"aux_{name}"] = "mse"
        loss_weights[f"aux_{name}"] = args.aux_weight
    model.compile(
        optimizer=keras.optimizers.Adam(lr), loss=losses, loss_weights=loss_weights, metrics={"probs": ["accuracy"]}
    )

    class_weight = _balanced_weights(y_train)
    rng = np.random.default_rng(args.seed)

    def batches(x: np.ndarray, y: np.ndarray, aux: dict[str, np.ndarray], shuffle: bool):
        order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
        for start in range(0, len(order), args.batch_size):
            idx = order[start : start + args.batch_size]
            xb = x[idx].astype(np.float32)
            if shuffle:
                # Gain augmentation: +-6 dB is a constant shift of the normalised log-mel.
                xb += rng.uniform(-0.3, 0.3, size=(len(idx), 1, 1, 1)).astype(np.float32)
                if not args.no_spec_augment:
                    _spec_augment(xb, rng)
            targets = {"probs": y[idx]}
            weights = {"probs": class_weight[y[idx]]}
            for name in aux_names:
                values = aux[name][idx]
                targets[f"aux_{name}"] = np.nan_to_num(values, nan=0.5)[:, None]
                weights[f"aux_{name}"] = (~np.isnan(values)).astype(np.float32)
            yield xb, targets, weights

    best = (-1.0, None)
    for epoch in range(1, epochs + 1):
        t0 = time.monotonic()
        stats = []
        for xb, targets, weights in batches(x_train, y_train, aux_train, shuffle=True):
            logs = model.train_on_batch(xb, targets, sample_weight=weights, return_dict=True)
            stats.append((logs.get("loss", np.nan), logs.get("probs_accuracy", logs.get("accuracy", np.nan))))
        line: dict[str, Any] = {
            "epoch": epoch,
            "epochs": epochs,
            "loss": round(float(np.mean([s[0] for s in stats])), 4),
            "accuracy": round(float(np.mean([s[1] for s in stats])), 4),
            "seconds": round(time.monotonic() - t0, 2),
        }
        if len(x_val):
            val_probs = _predict_probs(model, x_val)
            song_acc = _song_accuracy(val_probs, y_val, song_val)
            line.update(
                val_slice_accuracy=round(float((val_probs.argmax(1) == y_val).mean()), 4),
                val_song_accuracy=round(song_acc, 4),
            )
            # Keep the weights of the best epoch by song-level validation accuracy.
            if song_acc > best[0]:
                best = (song_acc, model.get_weights())
        emit(EpochEnded(**line))
    if best[1] is not None:
        model.set_weights(best[1])

    validation = _validation_report(model, x_val, y_val, song_val) if len(x_val) else None
    calibration = fit_calibration(*_song_level(_predict_probs(model, x_val), y_val, song_val)) if len(x_val) else None
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=_staging_parent(args)))
    try:
        from moodtui.train.network import serving_network

        serving = serving_network(model)
        metadata = _base_metadata(version, "full", songs, train_songs, val_songs, x_train, validation)
        metadata["embedding_id"] = version
        metadata["training"] = {
            "mode": "full",
            "epochs": epochs,
            "learning_rate": lr,
            "aux_targets": list(aux_names),
            "dropout": args.dropout,
            "aux_weight": args.aux_weight,
            "spec_augment": not args.no_spec_augment,
            "batch_size": args.batch_size,
            "max_slices_per_song": args.max_slices_per_song,
            "seed": args.seed,
        }
        if calibration is not None:
            metadata["calibration"] = calibration
        export_checked(serving, staging, metadata, x_val if len(x_val) else x_train[:64])
        # A replay sample of the training data, as embeddings, for personal retraining.
        _write_replay(serving, x_train, y_train, args.replay_size, staging / "replay.npz", rng)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Result(staging, metadata)


MIN_CALIBRATION_SONGS = 20
"""Fewer held-out songs than this give a temperature that is mostly noise: T stays 1."""


def fit_calibration(song_probs: np.ndarray, song_labels: np.ndarray) -> dict[str, Any]:
    """Temperature scaling of song-level probabilities, fitted on held-out songs.

    T minimises the negative log-likelihood of softmax(log(p) / T) over a grid (one parameter,
    so a grid is exact enough and cannot diverge). Returns the metadata block read by
    ``MoodModel.temperature``, with the expected calibration error before and after.
    """
    from moodtui.mood.model import UNSURE_BELOW, calibrate

    song_probs = np.asarray(song_probs, np.float64)
    song_labels = np.asarray(song_labels, int)
    block: dict[str, Any] = {
        "temperature": 1.0,
        "unsure_below": UNSURE_BELOW,
        "songs": int(len(song_labels)),
        "method": "temperature scaling of the mean slice probabilities, NLL on validation songs",
    }
    if len(song_labels) < MIN_CALIBRATION_SONGS:
        block["note"] = f"only {len(song_labels)} validation songs: not calibrated"
        return block
    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))

    def nll(t: float) -> float:
        p = calibrate(song_probs, t)[np.arange(len(song_labels)), song_labels]
        return float(-np.log(np.clip(p, 1e-12, 1)).mean())

    best = float(min(grid, key=nll))
    block.update(
        temperature=round(best, 4),
        nll_before=round(nll(1.0), 4),
        nll_after=round(nll(best), 4),
        ece_before=round(expected_calibration_error(song_probs, song_labels), 4),
        ece_after=round(expected_calibration_error(calibrate(song_probs, best), song_labels), 4),
    )
    return block


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by bin size."""
    probs = np.asarray(probs, np.float64)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == np.asarray(labels)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


def _spec_augment(batch: np.ndarray, rng: np.random.Generator) -> None:
    """SpecAugment-style masks, in place: one band of up to 16 mel bins and one span of up to 20
    frames per slice set to the batch's floor, so the network cannot lean on one narrow cue."""
    floor = float(batch.min())
    n, mels, frames, _ = batch.shape
    for i in range(n):
        width = rng.integers(0, 17)
        start = rng.integers(0, mels - width + 1)
        batch[i, start : start + width] = floor
        span = rng.integers(0, 21)
        start = rng.integers(0, frames - span + 1)
        batch[i, :, start : start + span] = floor


def _copy_weights(source, target) -> None:
    for layer in target.layers:
        try:
            layer.set_weights(source.get_layer(layer.name).get_weights())
        except ValueError:
            pass  # layers absent from the source (new auxiliary heads) keep their initial weights


def _balanced_weights(y: np.ndarray) -> np.ndarray:
    counts = np.bincount(y, minlength=len(CLASSES)).astype(np.float64)
    weights = np.where(counts > 0, len(y) / (len(CLASSES) * np.maximum(counts, 1)), 0.0)
    return weights.astype(np.float32)


def _predict_probs(model, x: np.ndarray) -> np.ndarray:
    out = []
    for start in range(0, len(x), 256):
        pred = model(x[start : start + 256].astype(np.float32), training=False)
        out.append(np.asarray(pred["probs"]))
    return np.concatenate(out)


def _song_level(probs: np.ndarray, y: np.ndarray, song_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per song: the mean of its slices' probabilities, and its label."""
    n = int(song_of.max()) + 1
    sums = np.zeros((n, probs.shape[1]))
    np.add.at(sums, song_of, probs)
    labels = np.zeros(n, int)
    labels[song_of] = y
    return sums / np.bincount(song_of, minlength=n)[:, None], labels


def _song_accuracy(probs: np.ndarray, y: np.ndarray, song_of: np.ndarray) -> float:
    song_probs, song_labels = _song_level(probs, y, song_of)
    return float((song_probs.argmax(1) == song_labels).mean())


def _confusion(true: np.ndarray, pred: np.ndarray) -> list[list[int]]:
    matrix = np.zeros((len(CLASSES), len(CLASSES)), int)
    np.add.at(matrix, (true, pred), 1)
    return matrix.tolist()


def _validation_report(model, x: np.ndarray, y: np.ndarray, song_of: np.ndarray) -> dict[str, Any]:
    probs = _predict_probs(model, x)
    song_probs, song_labels = _song_level(probs, y, song_of)
    return {
        "songs": int(len(song_probs)),
        "slices": int(len(x)),
        "song_accuracy": round(float((song_probs.argmax(1) == song_labels).mean()), 4),
        "slice_accuracy": round(float((probs.argmax(1) == y).mean()), 4),
        "confusion": _confusion(song_labels, song_probs.argmax(1)),
        "confusion_axes": "rows: true class, columns: predicted class, order positive/neutral/negative",
    }


def _base_metadata(
    version: str,
    kind: str,
    songs: list[Song],
    train_songs: list[Song],
    val_songs: list[Song],
    x_train: np.ndarray,
    validation: dict[str, Any] | None,
) -> dict[str, Any]:
    def per_class(subset: list[Song]) -> dict[str, int]:
        return {c: sum(1 for s in subset if s.label == i) for i, c in enumerate(CLASSES)}

    return {
        "format": METADATA_FORMAT,
        "version": version,
        "kind": kind,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "moodtui_version": moodtui.__version__,
        "classes": list(CLASSES),
        "feature": FEATURE_PARAMS,
        "inputs": {INPUT_NAME: [None, *INPUT_SHAPE]},
        "outputs": [PROBS_OUTPUT, EMBEDDING_OUTPUT],
        "data": {
            "songs": len(songs),
            "train_songs": len(train_songs),
            "val_songs": len(val_songs),
            "train_slices": int(len(x_train)),
            "songs_per_class": per_class(songs),
            "train_songs_per_class": per_class(train_songs),
            "val_songs_per_class": per_class(val_songs),
        },
        "validation": validation,
    }


def _write_replay(serving, x: np.ndarray, y: np.ndarray, size: int, path: Path, rng: np.random.Generator) -> None:
    """A class-balanced sample of training slices as (embedding, label), float16."""
    per_class = max(1, size // len(CLASSES))
    chosen = []
    for c in range(len(CLASSES)):
        idx = np.flatnonzero(y == c)
        if len(idx):
            chosen.append(rng.choice(idx, size=min(per_class, len(idx)), replace=False))
    idx = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, int)
    embeddings = []
    for start in range(0, len(idx), 256):
        out = serving(x[idx[start : start + 256]].astype(np.float32), training=False)
        embeddings.append(np.asarray(out["embedding"]))
    emb = np.concatenate(embeddings) if embeddings else np.zeros((0, 0), np.float32)
    np.savez_compressed(path, embeddings=emb.astype(np.float16), labels=y[idx].astype(np.int8))


# --- export ------------------------------------------------------------------------------------


def export_checked(
    serving,
    staging: Path,
    metadata: dict[str, Any],
    check_batch: np.ndarray,
    descriptor_head: dict[str, Any] | None = None,
) -> None:
    """Export to ONNX in ``staging``, check it loads and matches Keras, write metadata and weights.

    ``descriptor_head``: the descriptor part of a personal head that reads the slices' musical
    descriptors (``moodtui.mood.model.apply_head``); the graph's dense layer holds the rest.
    """
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((None, *INPUT_SHAPE), tf.float32, name=INPUT_NAME),)

    produced = serving(check_batch[:1].astype(np.float32), training=False)
    names = [PROBS_OUTPUT, EMBEDDING_OUTPUT] + ([ENERGY_OUTPUT] if ENERGY_OUTPUT in produced else [])

    @tf.function(input_signature=spec)
    def serve(mel):
        out = serving(mel, training=False)
        return {name: out[name] for name in names}

    onnx_path = staging / "model.onnx"
    tf2onnx.convert.from_function(serve, input_signature=spec, opset=17, output_path=os.fsdecode(onnx_path))
    head = serving.get_layer(PROBS_OUTPUT)
    kernel, bias = head.get_weights()
    metadata["head"] = {"kernel": kernel.astype(float).tolist(), "bias": bias.astype(float).tolist()}
    if descriptor_head is not None:
        metadata["head"]["descriptors"] = descriptor_head
    metadata["outputs"] = names
    if ENERGY_OUTPUT in names:
        from moodtui.train.network import ENERGY_LAYER

        e_kernel, e_bias = serving.get_layer(ENERGY_LAYER).get_weights()
        metadata["energy_head"] = {"kernel": e_kernel.astype(float).tolist(), "bias": e_bias.astype(float).tolist()}
    (staging / "model.json").write_text(json.dumps(metadata, indent=1), encoding="utf-8")
    serving.save(os.fsdecode(staging / "model.keras"))

    # The check: the exported file loads through the same code the player uses and agrees with Keras.
    loaded = MoodModel.load(onnx_path)
    batch = check_batch[:64].astype(np.float32)
    expected = serving(batch, training=False)
    got = loaded.predict(batch)
    graph = loaded.run(batch)
    expected_probs = np.asarray(expected[PROBS_OUTPUT])
    if descriptor_head is not None:
        # What the player shows: the head on Keras's embeddings and the batch's own descriptors.
        expected_probs = apply_head(metadata["head"], np.asarray(expected[EMBEDDING_OUTPUT]), song_descriptors(batch))
    diff = max(
        float(np.abs(got.probs - expected_probs).max()),
        float(np.abs(graph.probs - np.asarray(expected[PROBS_OUTPUT])).max()),
        float(np.abs(got.embeddings - np.asarray(expected[EMBEDDING_OUTPUT])).max()),
    )
    # The metadata's weights reproduce the graph (descriptors at their mean) and the prediction.
    head_diff = max(
        float(np.abs(loaded.head_probs(graph.embeddings) - graph.probs).max()),
        float(np.abs(loaded.head_probs(got.embeddings, got.descriptors) - got.probs).max()),
    )
    if ENERGY_OUTPUT in names:
        from_embeddings = loaded.energy_from_embeddings(got.embeddings)
        if got.energy is None or from_embeddings is None:
            raise MoodtuiError("exported ONNX model lost its energy output; previous model kept")
        diff = max(diff, float(np.abs(got.energy - np.asarray(expected[ENERGY_OUTPUT]).reshape(-1)).max()))
        head_diff = max(head_diff, float(np.abs(from_embeddings - got.energy).max()))
    if diff > PARITY_TOLERANCE or head_diff > PARITY_TOLERANCE:
        raise MoodtuiError(
            f"exported ONNX model disagrees with Keras (max abs diff {max(diff, head_diff):.2e} "
            f"> {PARITY_TOLERANCE}); previous model kept"
        )
    metadata["export_check"] = {"max_abs_diff": diff, "head_max_abs_diff": head_diff, "batch": int(len(batch))}
    (staging / "model.json").write_text(json.dumps(metadata, indent=1), encoding="utf-8")
    emit(ModelExported(max_abs_diff=diff))


def _staging_parent(args: argparse.Namespace) -> Path:
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        return args.output.parent
    from moodtui.mood.versions import models_root

    return models_root()


def install(result: Result, args: argparse.Namespace, version: str) -> Path:
    """Move the checked model into place (atomically) and clean the staging folder."""
    try:
        if args.output is not None:
            # A named output (the shipped base model): each file is replaced atomically, the ONNX
            # file last, so a reader never pairs a new ONNX file with old metadata it cannot load.
            out = args.output
            for suffix, name in (
                (".keras", "model.keras"),
                ("-replay.npz", "replay.npz"),
                (".json", "model.json"),
                (".onnx", "model.onnx"),
            ):
                source = result.staging / name
                if source.exists():
                    os.replace(source, out.parent / f"{out.name}{suffix}")
            return out.parent / f"{out.name}.onnx"
        from moodtui.mood.versions import install_version

        return install_version(result.staging, version, make_current=result.activate and not args.no_activate)
    finally:
        shutil.rmtree(result.staging, ignore_errors=True)


# --- personal training -------------------------------------------------------------------------


def train_personal(songs: list[Song], args: argparse.Namespace, version: str) -> Result:
    from moodtui.mood.analysis import AnalysisCache, analyse_paths

    base_onnx = args.base or shipped_model_path()
    base_model = MoodModel.load(base_onnx)
    base_keras = base_onnx.with_suffix(".keras")
    replay_path = base_onnx.with_name(base_onnx.stem + "-replay.npz")
    if not base_keras.is_file():
        base_keras = base_onnx.parent / "model.keras"
    if not replay_path.is_file():
        replay_path = base_onnx.parent / "replay.npz"
    for needed in (base_keras, replay_path):
        if not needed.is_file():
            raise MoodtuiError(f"{display_path(needed)}: missing; the base model cannot be fine-tuned")

    distinct = {s.group for s in songs}
    if len(distinct) < MIN_LABELLED_SONGS:
        raise MoodtuiError(
            f"only {len(distinct)} labelled song(s): label at least {MIN_LABELLED_SONGS} songs before retraining"
        )

    # Embeddings of every slice of every labelled song under the base network: from the analysis
    # cache (the player's background analysis fills it, under whichever personal model was in use:
    # they share the base's embedding_id), else analysed here on the pool.
    from moodtui.mood.pool import worker_count

    cache = AnalysisCache()
    paths = list(dict.fromkeys(os.fspath(s.path) for s in songs))
    # Each song's slice embeddings and musical descriptors; a song cached before descriptors
    # existed is analysed again (once: the result is cached).
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    failed: dict[str, str] = {}
    for path in paths:
        cached_embeddings = cache.embeddings(path, base_model.embedding_id)
        cached_descriptors = cache.descriptors(path)
        if (
            cached_embeddings is not None
            and len(cached_embeddings)
            and cached_descriptors is not None
            and len(cached_descriptors) == len(cached_embeddings)
        ):
            found[path] = (cached_embeddings, cached_descriptors)
    if found:
        emit(FeaturesRead(done=len(found), total=len(paths)))

    def analysed(result) -> None:
        if result.mood is not None and result.mood.descriptors is not None:
            found[result.path] = (result.mood.embeddings, result.mood.descriptors)
        elif result.mood is not None:
            failed[result.path] = "no musical descriptors"
        else:
            failed[result.path] = result.error
        done = len(found) + len(failed)
        if done % 10 == 0 or done == len(paths):
            emit(FeaturesRead(done=done, total=len(paths)))

    analyse_paths(
        [p for p in paths if p not in found],
        base_model,
        cache,
        workers=worker_count(playing=args.listener),
        on_result=analysed,
        need_embeddings=True,
        known_errors=False,
    )
    kept, embeddings, descriptors = [], [], []
    for song in songs:
        key = os.fspath(song.path)
        if key in found:
            kept.append(song)
            embeddings.append(found[key][0])
            descriptors.append(found[key][1])
        else:
            emit(SongSkipped(display_path(song.path), f"{display_path(song.path)}: {failed.get(key)}"))
    if len({s.group for s in kept}) < MIN_LABELLED_SONGS:
        raise MoodtuiError(f"only {len(kept)} labelled song(s) could be read: at least {MIN_LABELLED_SONGS} needed")
    replay = np.load(replay_path)
    replay_x = replay["embeddings"].astype(np.float32)
    replay_y = replay["labels"].astype(int)

    base_kernel, base_bias = (np.asarray(base_model.metadata["head"][k], np.float32) for k in ("kernel", "bias"))
    base_descriptors = descriptor_part(base_model.metadata["head"])
    labels = [s.label for s in kept]
    prior = imac_prior_songs(kept, base_model, cache)
    folds = song_folds(kept, min(5, len(kept)), args.seed)
    fit = fit_personal_head(
        embeddings,
        labels,
        replay_x,
        replay_y,
        base_kernel,
        base_bias,
        folds,
        descriptors=descriptors,
        prior_embeddings=[e for _, e, _ in prior],
        prior_descriptors=[d for _, _, d in prior],
        prior_labels=[s.label for s, _, _ in prior],
        candidates=tuple(h for h in HEADS if h in args.heads),
        base_descriptors=base_descriptors,
        base_scores=base_scores_of(base_model),
        progress=lambda done, total: emit(HeadTried(done=done, total=total)),
        temperature=base_model.temperature,
    )
    base_agreement = float(
        np.mean(_base_song_predictions(embeddings, base_kernel, base_bias, descriptors, base_descriptors) == labels)
    )
    guard = {**compare_with_current(kept, fit.held_out, cache), "head": fit.head}
    emit(GuardCompared(**guard))

    import keras  # TensorFlow enters here, in this process only

    serving = keras.models.load_model(os.fsdecode(base_keras), compile=False)
    serving.get_layer(PROBS_OUTPUT).set_weights([fit.kernel, fit.bias])

    train_x = np.concatenate(embeddings)
    metadata = _base_metadata(version, "personal", kept, kept, [], train_x, None)
    metadata["embedding_id"] = base_model.embedding_id
    metadata["base_version"] = base_model.version
    if isinstance(base_model.metadata.get("calibration"), dict):
        # Too few labelled songs to fit a temperature of their own: the base's, said so.
        metadata["calibration"] = {**base_model.metadata["calibration"], "inherited_from": base_model.version}
    metadata["data"]["replay_slices"] = int(len(replay_x))
    metadata["data"]["replay_share"] = round(fit.replay_share, 3)
    metadata["data"]["imac_prior_songs"] = len(prior)
    metadata["data"]["imac_prior_weight"] = IMAC_PRIOR_WEIGHT
    metadata["agreement"] = {
        "song_agreement": round(fit.agreement, 4),
        "songs": len(kept),
        "method": f"{len(folds)}-fold cross-validation by song: each song scored by a model trained without it",
        "base_model_agreement": round(base_agreement, 4),
    }
    metadata["personal"] = {
        "head": fit.head,
        "head_description": HEAD_DESCRIPTIONS[fit.head],
        "candidates": fit.hits,
        "rule": "most held-out songs agreed with; a tie goes to the simpler head (order: " + ", ".join(HEADS) + ")",
        # Each song's held-out prediction, so that the next retrain can compare fairly with this model.
        "held_out": {s.group: CLASSES[int(p)] for s, p in zip(kept, fit.held_out)},
    }
    metadata["guard"] = guard
    metadata["training"] = {
        "mode": "personal",
        "trained_layer": PROBS_OUTPUT,
        "head": fit.head,
        "fit": "L-BFGS, numpy/scipy (moodtui.train.heads)",
        "seed": args.seed,
    }
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=_staging_parent(args)))
    try:
        # A check batch of real slice features: decode the first labelled song's opening slices.
        check = song_features(kept[0].path, None, 8).astype(np.float32)
        export_checked(serving, staging, metadata, check, fit.descriptor_head)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Result(staging, metadata, activate=guard["switched"])


IMAC_PRIOR_WEIGHT = 0.25
"""Weight of a song the listener owns and IMAC labels, relative to a song the listener labelled."""


def imac_prior_songs(
    labelled: list[Song], base_model: MoodModel, cache
) -> list[tuple[Song, np.ndarray, np.ndarray | None]]:
    """The listener's other songs that the IMAC table labels (a weak prior), with their cached
    embeddings and descriptors (None when cached before descriptors existed: taken as the mean).

    Songs of the library index (the player's scan) whose artist and title tags match an IMAC
    song with a clear label; songs the listener labelled themselves are left out (their own label
    wins), and so are songs without cached embeddings (not analysed yet: never decoded here).
    """
    from moodtui.library.imac import library_matches
    from moodtui.library.scan import LibraryIndex

    taken = {os.fsdecode(s.path) for s in labelled} | {s.group for s in labelled}
    try:
        tracks = LibraryIndex(cache.cache).entries_under("/").values()
        matches = library_matches(tracks)
    except MoodtuiError as exc:
        emit(SongSkipped("IMAC table", str(exc)))
        return []
    prior = []
    for match in matches:
        if match.label is None or os.fsdecode(match.path) in taken:
            continue
        embeddings = cache.embeddings(match.path, base_model.embedding_id)
        if embeddings is None or not len(embeddings):
            continue
        prior.append(
            (Song(match.path, CLASSES.index(match.label), source="imac"), embeddings, cache.descriptors(match.path))
        )
    return prior


def compare_with_current(songs: list[Song], new_held_out: np.ndarray, cache) -> dict[str, Any]:
    """Does the new model agree with at least as many of the listener's labelled songs as the model
    in use, each song held out of both? The current model's figure for a song it was trained on is
    the held-out prediction recorded when it was trained; for any other song its prediction."""
    from moodtui.mood.analysis import analyse_cached
    from moodtui.mood.versions import current_name, load_current_model

    name = current_name()
    model, _ = load_current_model()
    record = (
        model.metadata.get("personal", {}).get("held_out", {})
        if isinstance(model.metadata.get("personal"), dict)
        else {}
    )
    current_hits = 0
    for song in songs:
        recorded = record.get(song.group)
        if recorded in CLASSES:
            predicted = CLASSES.index(recorded)
        else:
            try:
                predicted = int(analyse_cached(song.path, model, cache).song_probs.argmax())
            except MoodtuiError:
                predicted = -1
        current_hits += int(predicted == song.label)
    new_hits = int(sum(int(p == s.label) for p, s in zip(new_held_out, songs)))
    return {
        "current_version": name,
        "current_model_version": model.version,
        "songs": len(songs),
        "new_agrees": new_hits,
        "current_agrees": current_hits,
        "switched": new_hits >= current_hits,
    }


@dataclass
class PersonalFit:
    """A listener's last layer (dense softmax weights) and how it was chosen."""

    kernel: np.ndarray  # on the embedding
    bias: np.ndarray  # the logits' bias at the mean descriptors
    agreement: float  # cross-validated song agreement of the chosen head
    replay_share: float
    head: str
    hits: dict[str, int]  # held-out songs agreed with, per candidate head
    held_out: np.ndarray  # the chosen head's held-out prediction of each song
    descriptor_head: dict[str, Any] | None = None  # the descriptor weights (moodtui.mood.model.apply_head)

    @property
    def metadata_head(self) -> dict[str, Any]:
        """The head as a model's metadata holds it (``moodtui.mood.model.apply_head`` reads it)."""
        head: dict[str, Any] = {"kernel": self.kernel.tolist(), "bias": self.bias.tolist()}
        if self.descriptor_head is not None:
            head["descriptors"] = self.descriptor_head
        return head


def fit_personal_head(
    embeddings: list[np.ndarray],
    labels: list[int],
    replay_x: np.ndarray,
    replay_y: np.ndarray,
    base_kernel: np.ndarray,
    base_bias: np.ndarray,
    folds: list[list[int]],
    *,
    descriptors: Sequence[np.ndarray | None] | None = None,
    replay_share: float | None = None,
    prior_embeddings: list[np.ndarray] | None = None,
    prior_descriptors: Sequence[np.ndarray | None] | None = None,
    prior_labels: list[int] | None = None,
    prior_weight: float = IMAC_PRIOR_WEIGHT,
    candidates: tuple[str, ...] = HEADS,
    base_descriptors: dict[str, Any] | None = None,
    base_scores: dict[str, dict[str, Any]] | None = None,
    progress=None,
    temperature: float = 1.0,
) -> PersonalFit:
    """The listener's last layer (``embeddings[i]``: slice embeddings of labelled song i;
    ``descriptors[i]``: its slices' musical descriptors).

    Every candidate head (``moodtui.train.heads``) is cross-validated by song (``folds``) on the
    listener's own labelled songs; the best wins, a tie goes to the simpler one. Weak-prior songs
    and the replay sample are training data only, never scored. Benchmarks call this on cached
    embeddings.

    The descriptors are standardised on the listener's own slices. The replay sample has none
    (it holds embeddings only), nor has a prior song cached before they existed: those slices
    get the listener's mean descriptors, i.e. zero once standardised, so they anchor the
    embedding weights and the cut points but leave the descriptor weights to the listener's own
    songs (the base's taste says nothing about how mode or tempo feel to this listener).
    Without any descriptors the heads that read them are not tried.

    ``base_descriptors``: the descriptor part of the base's own head (``mood.model.descriptor_part``)
    when the base reads them: every candidate then starts from the whole base layer (its
    descriptor weights too), so the ``base`` candidate is the base exactly. ``base_scores``:
    the base's own 1-d scores (``base_scores_of``: name -> embedding ``kernel`` and optionally a
    ``descriptors`` part), for the candidates that read them (``heads.BASE_SCORES``).
    ``temperature``: the calibration the new model inherits (the base's), with which the held-out
    songs are scored (``heads.choose_head``).
    """
    if replay_share is None:
        replay_share = personal_replay_share(embeddings, labels, base_kernel, base_bias, descriptors, base_descriptors)
    standardiser = Standardiser(replay_x if len(replay_x) else np.concatenate(embeddings))
    embedding_dim = embeddings[0].shape[1]
    known = [d for d in (descriptors or []) if d is not None and len(d)]
    inputs, prior_inputs, replay_inputs = list(embeddings), prior_embeddings, replay_x
    kernel, descriptor_std = base_kernel, None
    if known:
        descriptor_std = Standardiser(np.concatenate(known).astype(np.float64))
        standardiser = Standardiser.joined(standardiser, descriptor_std)
        mean = descriptor_std.mean.astype(np.float32)

        def joined(emb: np.ndarray, desc: np.ndarray | None) -> np.ndarray:
            if desc is None or desc.shape != (len(emb), DESCRIPTOR_COUNT):
                desc = np.broadcast_to(mean, (len(emb), DESCRIPTOR_COUNT))
            return np.hstack([emb.astype(np.float32), desc.astype(np.float32)])

        inputs = [joined(e, d) for e, d in zip(embeddings, descriptors or [])]
        prior_inputs = [
            joined(e, d)
            for e, d in zip(prior_embeddings or [], prior_descriptors or [None] * len(prior_embeddings or []))
        ]
        replay_inputs = joined(replay_x, None) if len(replay_x) else replay_x
        descriptor_rows = np.zeros((DESCRIPTOR_COUNT, base_kernel.shape[1]), base_kernel.dtype)
        if base_descriptors is not None:
            # The base's logit is bias + (d - its mean) @ K: on raw descriptors, K and bias - mean @ K.
            descriptor_rows = np.asarray(base_descriptors["kernel"], base_kernel.dtype)
            base_bias = (base_bias - np.asarray(base_descriptors["mean"]) @ descriptor_rows).astype(base_bias.dtype)
        kernel = np.vstack([base_kernel, descriptor_rows])
    data = training_data(
        inputs,
        labels,
        standardiser,
        replay_inputs,
        replay_y,
        replay_share,
        prior_inputs,
        prior_labels,
        prior_weight,
        embedding_dim=embedding_dim if known else -1,
    )
    for name, score in (base_scores or {}).items():
        if name in BASE_SCORES and len(np.asarray(score["kernel"]).reshape(-1)) == embedding_dim:
            data.score_axes[name] = _standardised_axis(score, standardiser, data.x.shape[1], embedding_dim, bool(known))
    choice = choose_head(
        inputs, labels, folds, kernel, base_bias, data, standardiser, candidates, progress, temperature
    )
    fit_kernel, fit_bias = choice.fit.kernel[:embedding_dim], choice.fit.bias
    descriptor_head = None
    if descriptor_std is not None and np.any(choice.fit.kernel[embedding_dim:] != 0):
        # A cue head's own weights, or the base's (kept, rescaled) when the base reads descriptors.
        weights = choice.fit.kernel[embedding_dim:].astype(np.float64)
        fit_bias = (fit_bias + descriptor_std.mean @ weights).astype(np.float32)
        descriptor_head = {
            "names": list(DESCRIPTOR_NAMES),
            "version": DESCRIPTORS_VERSION,
            "kernel": weights.tolist(),
            "mean": descriptor_std.mean.tolist(),
        }
    return PersonalFit(
        fit_kernel,
        fit_bias,
        choice.agreement,
        replay_share,
        choice.name,
        choice.hits,
        choice.held_out[choice.name],
        descriptor_head,
    )


FULL_REPLAY_AGREEMENT = 2 / 3
"""Base agreement with the listener's labelled songs from which replay gets its full share."""


def personal_replay_share(
    embeddings: list[np.ndarray],
    labels: list[int],
    base_kernel: np.ndarray,
    base_bias: np.ndarray,
    descriptors: Sequence[np.ndarray | None] | None = None,
    base_descriptors: dict[str, Any] | None = None,
) -> float:
    """The share of the training weight given to the base's replay sample.

    Replay anchors a listener with few labels, but it carries the base's taste: it helps a
    listener who feels like the base (+6 points at 3 songs per class) and hurts one who feels the
    opposite (-14 points), measured with scripts/bench_personalise.py's draws. So its share
    shrinks as labels grow (30 % up to 10 songs, 10 % at 30, 5 % at 60) and, below that, in
    proportion to how far above chance the base agrees with the listener's own labelled songs
    (full from FULL_REPLAY_AGREEMENT up): nothing for a listener the base gets wrong.
    """
    base_agreement = float(
        np.mean(_base_song_predictions(embeddings, base_kernel, base_bias, descriptors, base_descriptors) == labels)
    )
    chance = 1.0 / len(CLASSES)
    trust = float(np.clip((base_agreement - chance) / (FULL_REPLAY_AGREEMENT - chance), 0.0, 1.0))
    return min(0.3, 3.0 / len(embeddings)) * trust


_song_predictions = song_predictions


def _standardised_axis(
    score: dict[str, Any], standardiser: Standardiser, width: int, embedding_dim: int, with_descriptors: bool
) -> np.ndarray:
    """A base score's weights (metadata: ``kernel`` on the embedding, optionally a ``descriptors``
    part) as a direction on the standardised inputs, as ``Standardiser.to_standard`` maps a kernel."""
    axis = np.zeros(width)
    axis[:embedding_dim] = np.asarray(score["kernel"], np.float64).reshape(-1) * standardiser.scale[:embedding_dim]
    part = score.get("descriptors")
    if with_descriptors and isinstance(part, dict) and list(part.get("names", [])) == list(DESCRIPTOR_NAMES):
        axis[embedding_dim:] = np.asarray(part["kernel"], np.float64) * standardiser.scale[embedding_dim:]
    return axis


def base_scores_of(model: MoodModel) -> dict[str, dict[str, Any]]:
    """The base's own 1-d scores, for the personal heads that read them (``heads.BASE_SCORES``):
    its teacher scores (metadata ``score_heads``: VibeNet's valence and energy, and musicnn's tag
    scores, regressed on the embedding and descriptors), and, for a base without an energy score,
    its energy output's head (the arousal composite, on the embedding alone)."""
    scores: dict[str, dict[str, Any]] = {}
    head = model.metadata.get("energy_head")
    if isinstance(head, dict) and "kernel" in head:
        scores["energy"] = {"kernel": np.asarray(head["kernel"], np.float64).reshape(-1)}
    teacher = model.metadata.get("score_heads")
    if isinstance(teacher, dict):
        scores.update({name: score for name, score in teacher.items() if isinstance(score, dict) and "kernel" in score})
    return scores


def _base_song_predictions(
    embeddings: list[np.ndarray],
    base_kernel: np.ndarray,
    base_bias: np.ndarray,
    descriptors: Sequence[np.ndarray | None] | None,
    base_descriptors: dict[str, Any] | None,
) -> np.ndarray:
    """The base's class for each song, as the player shows it (with its descriptor part, if any)."""
    if base_descriptors is None:
        return _song_predictions(embeddings, base_kernel, base_bias)
    head = {"kernel": base_kernel, "bias": base_bias, "descriptors": base_descriptors}
    every = descriptors if descriptors is not None else [None] * len(embeddings)
    return np.array([int(apply_head(head, e, d).mean(axis=0).argmax()) for e, d in zip(embeddings, every)])
