#!/usr/bin/env python3
"""Give the base's dead embedding units something to carry: retrain them on the teachers' scores.

Usage::

    python scripts/revive_embedding_units.py CORPUS --output DIR [--class-weight 0.3] [--seed 0]
    MOODTUI_BASE_MODEL=DIR/moodtui-base.onnx python scripts/fit_base_head.py CORPUS --install

Why: 27 of the 64 embedding units of ``base-20261201-1237`` are zero on every slice of every
corpus track (ReLU units that died in training). The embedding is what every personal head
adapts, and a ridge probe on the network's 768-d flatten layer ranks VibeNet's energy at 0.92 on
the held-out packages against 0.865 from the embedding: the trunk hears more than the embedding
passes on.

What: the trunk (the five convolution blocks) and the live units stay exactly as they are. Each
dead unit gets new weights from the flatten layer, trained with the trunk frozen on the base's own
training slices (the 370 training tracks' labelled 30-s windows, never the held-out packages) and
the base's own targets (``train_base.training_targets``): the 64 teacher outputs as percentiles
(MSE, total weight 8 as in base training) and the mood class (cross-entropy, ``--class-weight``),
with the live units as fixed inputs of the same heads. Early stopping on a fifth of the tracks.
The revived units get no weight in the graph's mood and energy heads (their rows are zero), so the
graph's outputs are the old base's; ``fit_base_head.py`` then fits the teacher scores on every
unit and keeps the mood head on the live ones (``revived_units`` in the metadata), so the base's
own moods do not move. The new network has a new ``embedding_id``: caches are re-analysed.

TensorFlow runs here (a build-time tool, like ``train_base.py``), never in the player.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.fspath(REPO))
sys.path.insert(0, os.fspath(REPO / "scripts"))

from train_base import training_targets  # noqa: E402

from moodtui import CLASSES  # noqa: E402

FLATTEN_OUTPUT = "moodtui_serving_1/flatten_1/Reshape:0"
EMBEDDING_KERNEL = "moodtui_serving_1/embedding_1/Cast/ReadVariableOp:0"
EMBEDDING_BIAS = "moodtui_serving_1/embedding_1/BiasAdd/ReadVariableOp:0"
HEAD_KERNELS = {  # Keras layer -> its kernel in the ONNX graph: the revived units' rows are zeroed
    "probs": "moodtui_serving_1/probs_1/Cast/ReadVariableOp:0",
    "aux_energy": "moodtui_serving_1/aux_energy_1/Cast/ReadVariableOp:0",
}
AUX_TOTAL_WEIGHT = 8.0  # as base training (scripts/train_base.py)
_SESSION = None


def _session(onnx_path: str):
    """The base graph with its flatten layer as one more output."""
    import onnx
    import onnxruntime

    graph = onnx.load(onnx_path)
    graph.graph.output.append(onnx.helper.make_tensor_value_info(FLATTEN_OUTPUT, onnx.TensorProto.FLOAT, None))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(graph.SerializeToString(), options, providers=["CPUExecutionProvider"])


def _track_slices(job: tuple[str, str]):
    """(flatten float16, embedding, slice starts) of every slice of one track."""
    global _SESSION
    onnx_path, path = job
    from moodtui.audio.decode import decode_blocks
    from moodtui.mood.analysis import BLOCK_SLICES
    from moodtui.mood.features import SLICE_SAMPLES, track_slices

    if _SESSION is None:
        _SESSION = _session(onnx_path)
    flats, embeddings, starts = [], [], []
    for batch in track_slices(decode_blocks(path, BLOCK_SLICES * SLICE_SAMPLES)):
        for i in range(0, len(batch.features), 8):
            flat, embedding = _SESSION.run([FLATTEN_OUTPUT, "embedding"], {"mel": batch.features[i : i + 8]})
            flats.append(flat.astype(np.float16))
            embeddings.append(embedding)
        starts.append(batch.starts_s)
    if not flats:
        return None
    return np.concatenate(flats), np.concatenate(embeddings), np.concatenate(starts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--class-weight", type=float, default=0.3, help="loss weight of the mood class")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    from multiprocessing import Pool

    from moodtui.mood.model import MoodModel
    from moodtui.mood.pool import worker_count
    from moodtui.paths import shipped_model_path

    base_path = shipped_model_path()
    base = MoodModel.load(base_path)
    _, windows, train_pool, _, mapping, aux_names, aux_values = training_targets(args.corpus)
    jobs = [(os.fspath(base_path), os.fspath(args.corpus / rel)) for rel in train_pool]
    with Pool(worker_count(playing=False)) as pool:
        analysed = dict(zip(train_pool, pool.map(_track_slices, jobs, chunksize=4)))

    flats, lives, labels, aux, groups = [], [], [], [], []
    everything = []
    for number, rel in enumerate(train_pool):
        if analysed[rel] is None:
            continue
        flat, embedding, starts = analysed[rel]
        everything.append(embedding)
        for window in windows[rel]:
            label = mapping.label(window)
            inside = (starts >= window["start_s"] - 0.01) & (starts + 3 <= window["end_s"] + 0.01)
            if label is None or not inside.any():
                continue
            values = aux_values(window)
            flats.append(flat[inside])
            lives.append(embedding[inside])
            labels.append(np.full(inside.sum(), CLASSES.index(label)))
            aux.append(np.tile([values.get(k, np.nan) for k in aux_names], (inside.sum(), 1)))
            groups.append(np.full(inside.sum(), number))
    dead = np.concatenate(everything).max(axis=0) <= 0
    x = np.concatenate(flats).astype(np.float32)
    live = np.concatenate(lives)[:, ~dead]
    y = np.concatenate(labels)
    t = np.clip(np.concatenate(aux), 0.0, 1.0).astype(np.float32)
    group = np.concatenate(groups)
    print(f"{len(x)} labelled slices of {len(train_pool)} tracks; dead units: {int(dead.sum())} of {len(dead)}")
    if not dead.any():
        print("no dead unit: nothing to revive")
        return 1

    rng = np.random.default_rng(args.seed)
    tracks = np.unique(group)
    val = np.isin(group, rng.choice(tracks, len(tracks) // 5, replace=False))
    import keras
    from keras import layers

    keras.utils.set_random_seed(args.seed)
    flat_in, live_in = keras.Input((x.shape[1],)), keras.Input((live.shape[1],))
    new = layers.Dense(
        int(dead.sum()), activation="relu", bias_initializer=keras.initializers.Constant(0.1), name="revived"
    )(layers.Dropout(0.5)(flat_in))
    embedding = layers.Concatenate()([live_in, new])
    heads = {"probs": layers.Dense(3, activation="softmax", name="probs")(layers.Dropout(0.5)(embedding))}
    aux_layers = [f"aux_{i}" for i in range(len(aux_names))]
    for name in aux_layers:
        heads[name] = layers.Dense(1, activation="sigmoid", name=name)(embedding)
    model = keras.Model([flat_in, live_in], heads)
    per_aux = AUX_TOTAL_WEIGHT / len(aux_names)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss={"probs": "sparse_categorical_crossentropy", **{n: "mse" for n in aux_layers}},
        loss_weights={"probs": args.class_weight, **{n: per_aux for n in aux_layers}},
    )
    class_weight = len(y) / (3 * np.bincount(y[~val], minlength=3))

    def data(mask: np.ndarray):
        targets, weights = {"probs": y[mask]}, {"probs": class_weight[y[mask]]}
        for i, name in enumerate(aux_layers):
            values = t[mask, i]
            targets[name] = np.nan_to_num(values, nan=0.5)[:, None]
            weights[name] = (~np.isnan(values)).astype(np.float32)
        return [x[mask], live[mask]], targets, weights

    train_data, val_data = data(~val), data(val)
    best = (np.inf, None, 0)
    for epoch in range(1, args.epochs + 1):
        model.fit(*train_data[:2], sample_weight=train_data[2], batch_size=64, epochs=1, verbose=0)
        scores = model.evaluate(*val_data[:2], sample_weight=val_data[2], verbose=0, return_dict=True)
        loss = float(scores["loss"])
        print(f"epoch {epoch}: validation loss {loss:.4f}", flush=True)
        if loss < best[0]:
            best = (loss, [w.copy() for w in model.get_layer("revived").get_weights()], epoch)
    kernel, bias = best[1]
    write_candidate(args, base_path, base, dead, kernel, bias, best[2], len(x))
    return 0


def write_candidate(args, base_path: Path, base, dead: np.ndarray, kernel, bias, epoch: int, slices: int) -> None:
    import keras
    import onnx
    from onnx import numpy_helper

    from moodtui.fileio import atomic_write_bytes
    from moodtui.mood.model import MoodModel

    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    graph = onnx.load(os.fspath(base_path))
    inits = {t.name: t for t in graph.graph.initializer}

    def get(name: str) -> np.ndarray:
        return numpy_helper.to_array(inits[name]).copy()

    def put(name: str, value: np.ndarray) -> None:
        inits[name].CopyFrom(numpy_helper.from_array(value.astype(np.float32), name))

    network = keras.saving.load_model(os.fspath(base_path.with_suffix(".keras")), compile=False)
    embedding_kernel, embedding_bias = get(EMBEDDING_KERNEL), get(EMBEDDING_BIAS)
    keras_kernel, keras_bias = network.get_layer("embedding").get_weights()
    if not (np.array_equal(keras_kernel, embedding_kernel) and np.array_equal(keras_bias, embedding_bias)):
        raise SystemExit(f"{base_path}: the ONNX and Keras embedding weights differ")
    embedding_kernel[:, dead] = kernel
    embedding_bias[dead] = bias
    put(EMBEDDING_KERNEL, embedding_kernel)
    put(EMBEDDING_BIAS, embedding_bias)
    network.get_layer("embedding").set_weights([embedding_kernel, embedding_bias])
    for layer, name in HEAD_KERNELS.items():
        rows = get(name)
        rows[dead] = 0.0
        put(name, rows)
        weights = network.get_layer(layer).get_weights()
        weights[0][dead] = 0.0
        network.get_layer(layer).set_weights(weights)
    atomic_write_bytes(out / "moodtui-base.onnx", graph.SerializeToString())
    network.save(os.fspath(out / "moodtui-base.keras"))

    meta = json.loads(base_path.with_suffix(".json").read_text(encoding="utf-8"))
    now = dt.datetime.now(dt.UTC)
    units = [int(i) for i in np.flatnonzero(dead)]
    meta["version"] = meta["embedding_id"] = f"base-{now:%Y%m%d-%H%M}"
    meta["created"] = now.isoformat(timespec="seconds")
    for key in ("head", "energy_head"):  # the revived units have no weight in them
        if isinstance(meta.get(key), dict):
            rows = np.asarray(meta[key]["kernel"], np.float64)
            flat_rows = rows.reshape(len(dead), -1)
            flat_rows[dead] = 0.0
            meta[key]["kernel"] = flat_rows.reshape(rows.shape).tolist()
    meta["revived_units"] = {
        "units": units,
        "network": base.embedding_id,
        "method": "dead ReLU units retrained from the frozen trunk's flatten layer on the teacher scores and the mood class",
        "class_weight": args.class_weight,
        "aux_total_weight": AUX_TOTAL_WEIGHT,
        "best_epoch": epoch,
        "epochs": args.epochs,
        "seed": args.seed,
        "slices": slices,
        "script": "scripts/revive_embedding_units.py",
    }
    check = np.random.default_rng(0).normal(size=(8, 128, 146, 1)).astype(np.float32)
    meta.pop("export_check", None)
    atomic_write_bytes(out / "moodtui-base.json", json.dumps(meta, indent=1).encode("utf-8"))
    for name in ("moodtui-base-replay.npz", "moodtui-base-training.json"):
        shutil.copy2(base_path.with_name(name), out / name)
    candidate = MoodModel.load(out / "moodtui-base.onnx")
    keras_embedding = keras.Model(network.input, network.get_layer("embedding").output).predict(check, verbose=0)
    onnx_out = candidate.run(check)
    difference = float(np.abs(onnx_out.embeddings - keras_embedding).max())
    same_probs = float(np.abs(onnx_out.probs - base.run(check).probs).max())
    print(
        f"candidate {candidate.version} in {out}: {len(units)} units revived (best epoch {epoch}); "
        f"ONNX vs Keras embedding {difference:.1e}; graph probs vs the old base {same_probs:.1e}"
    )


if __name__ == "__main__":
    sys.exit(main())
