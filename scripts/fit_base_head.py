#!/usr/bin/env python3
"""Refit the base model's mood head on its embedding and the musical descriptors, on the base targets.

Usage::

    python scripts/fit_base_head.py CORPUS [--work DIR] [--output DIR] [--c 0.1] [--install]

Why: the base targets (``moodtui.train.targets``) put mode and tonal clarity into valence, but
the CNN's embedding barely carries harmony (a probe on it finds major/minor at chance), so the
base could not follow them: calm major music came out sad. The descriptors
(``moodtui.mood.descriptors``: per slice, and the song's mode, key clarity and tempo heard at
2.7 Hz resolution) carry it. This keeps the base network (its embedding, so every cached
embedding stays valid) and fits only the last layer: a multinomial logistic regression (L2,
classes balanced) on the standardised embedding + descriptors of every slice of the training
packages' tracks, each slice labelled with its 30-s window's target class (the mapping refitted
on every training window, as ``train_base.py`` does).

Steps: analyse the whole corpus with the current base (``moodtui analyse``'s pool and cache, in
``--work``); fit the temperature on out-of-fold songs (each training track scored by a head
fitted without it, 5 folds by track), then the head on every training track; score the held-out packages (agreement with the targets, confusion,
recall, ECE) and the demo library (compared with, never trained on); write the new base to
``--output`` (default ``WORK/base``): the ONNX graph with the new ``probs`` weights (the head at
the mean descriptors), its metadata (the head with its descriptor part, the calibration, a new
version with the same ``embedding_id``), the Keras file with the same weights, a new replay
sample (the new targets), the training summary with the figures, and the teachers' own scores
(VibeNet's valence and energy as ridge regressions on the same inputs: ``score_heads``, which a
personal head may re-cut). ``--install`` copies it over ``models/moodtui-base.*``.
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

from train_base import DEMO_INTENDED, HELD_OUT_PACKAGES, corpus_tracks, track_scores, window_scores  # noqa: E402

from moodtui import CLASSES  # noqa: E402
from moodtui.train.targets import IMAC_TAG_GROUPS, tag_group_score  # noqa: E402

REPLAY_PER_CLASS = 1000
FOLDS = 5
SLICE_RIDGE = 1e-3  # L2 per slice on standardised inputs
SCORE_RIDGES = (0.3, 1.0, 3.0, 10.0, 30.0)  # L2 on standardised song means, chosen by cross-validation


def analyse_corpus(paths: list[Path], work: Path):
    """Every corpus track analysed under the current base (cached in WORK/home)."""
    os.environ["MOODTUI_HOME"] = os.fspath(work / "home")
    from moodtui.mood.analysis import AnalysisCache, analyse_paths
    from moodtui.mood.model import MoodModel
    from moodtui.mood.pool import worker_count
    from moodtui.paths import shipped_model_path
    from moodtui.sqlite_cache import Cache

    (work / "home").mkdir(parents=True, exist_ok=True)
    model = MoodModel.load(shipped_model_path())
    cache = AnalysisCache(Cache(work / "home" / "cache.sqlite"))
    failed: list[str] = []

    def seen(result) -> None:
        if result.mood is None:
            failed.append(f"{result.path}: {result.error}")

    analyse_paths(
        [os.fspath(p) for p in paths],
        model,
        cache,
        workers=worker_count(playing=False),
        on_result=seen,
        need_embeddings=True,
    )
    for line in failed:
        print(f"  not analysed: {line}", flush=True)
    moods = {}
    for p in paths:
        mood = cache.get(p, model)
        if mood is not None and mood.descriptors is not None and len(mood.embeddings):
            moods[os.fspath(p)] = mood
    return model, moods


def window_at(windows: list[dict[str, float]], start_s: float, key: str | None = None) -> dict[str, float] | None:
    """The 30-s teacher window a slice starting at ``start_s`` belongs to (the last that holds it:
    a track's final window overlaps the one before), with ``key`` among its scores if given."""
    inside = [w for w in windows if w["start_s"] - 0.5 <= start_s < w["end_s"] and (key is None or key in w)]
    return inside[-1] if inside else None


def slice_targets(mood, windows: list[dict[str, float]], mapping) -> np.ndarray:
    """Each slice's class index: its 30-s window's target (-1: no window, or no class)."""
    out = np.full(len(mood.starts_s), -1)
    for i, start in enumerate(mood.starts_s):
        window = window_at(windows, start)
        label = mapping.label(window) if window is not None else None
        if label is not None:
            out[i] = CLASSES.index(label)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--work", type=Path, default=Path("/tmp/moodtui-base-head"))
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--c", type=float, default=0.1, help="inverse L2 strength on standardised inputs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--descriptors",
        nargs="*",
        default=None,
        help="the descriptors the head reads (default: all; none for the embedding alone)",
    )
    parser.add_argument("--install", action="store_true", help="copy the new base over models/moodtui-base.*")
    args = parser.parse_args()
    corpus, work = args.corpus.resolve(), args.work.resolve()
    output = (args.output or work / "base").resolve()

    from sklearn.linear_model import LogisticRegression

    from moodtui.mood.analysis import analyse_file, song_probabilities
    from moodtui.mood.descriptors import DESCRIPTOR_NAMES, DESCRIPTORS_VERSION
    from moodtui.mood.model import MoodModel, apply_head, calibrate
    from moodtui.paths import shipped_model_path
    from moodtui.train.job import expected_calibration_error, fit_calibration
    from moodtui.train.targets import fit_mapping

    if args.descriptors is None:
        args.descriptors = list(DESCRIPTOR_NAMES)

    tracks = corpus_tracks(corpus)
    windows = window_scores(corpus)
    train = [t for t in tracks if t["package"] not in HELD_OUT_PACKAGES]
    held = [t for t in tracks if t["package"] in HELD_OUT_PACKAGES]
    mapping = fit_mapping([w for t in train for w in windows.get(str(t["rel"]), [])])
    print(
        f"{len(train)} training tracks, {len(held)} held out; target mapping: beta {mapping.beta:.3f}, "
        f"negative below {mapping.negative_cut:.3f}, calm below {mapping.calm_cut:.3f}",
        flush=True,
    )
    base, moods = analyse_corpus([Path(t["path"]) for t in tracks], work)
    print(f"analysed: {len(moods)} of {len(tracks)} tracks (model {base.version})", flush=True)

    fitting = [t for t in train if os.fspath(t["path"]) in moods]
    # Each fitting track's slice classes, once (every fold, the final fit and the replay use them).
    targets = {
        os.fspath(t["path"]): slice_targets(moods[os.fspath(t["path"])], windows[str(t["rel"])], mapping)
        for t in fitting
    }
    columns = [DESCRIPTOR_NAMES.index(n) for n in args.descriptors]
    # Units revived after the network was trained (scripts/revive_embedding_units.py) carry the
    # teachers' scores for the score heads and the personal heads; the mood head reads only the
    # units the network learnt the classes with, so the base's own moods do not move with them.
    revived = list(base.metadata.get("revived_units", {}).get("units", []))

    def inputs(mood) -> np.ndarray:
        embeddings = mood.embeddings.astype(np.float64)
        embeddings[:, revived] = 0.0
        return np.hstack([embeddings, mood.descriptors[:, columns]])

    def fit_head(tracks_: list[dict[str, object]]) -> dict[str, object]:
        """The head fitted on ``tracks_``' labelled slices, as metadata (raw inputs)."""
        xs, ys = [], []
        for t in tracks_:
            mood = moods[os.fspath(t["path"])]
            y = targets[os.fspath(t["path"])]
            xs.append(inputs(mood)[y >= 0])
            ys.append(y[y >= 0])
        x, y = np.concatenate(xs), np.concatenate(ys)
        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale < 1e-6] = 1.0
        fit = LogisticRegression(C=args.c, max_iter=5000, class_weight="balanced").fit((x - mean) / scale, y)
        # Back to raw inputs: logits = x @ kernel + bias, classes in CLASSES order (labels are indices).
        weights = fit.coef_.T / scale[:, None]
        weights[revived] = 0.0  # (L2 alone takes them within 1e-9 of it)
        raw_bias = fit.intercept_ - mean @ weights
        dim = x.shape[1] - len(columns)
        descriptor_kernel = np.zeros((len(DESCRIPTOR_NAMES), len(CLASSES)))
        descriptor_kernel[columns] = weights[dim:]
        descriptor_mean = np.zeros(len(DESCRIPTOR_NAMES))
        for t in tracks_:  # every descriptor's mean (those without weight too: the metadata holds all)
            descriptor_mean += moods[os.fspath(t["path"])].descriptors.sum(axis=0)
        descriptor_mean /= sum(len(moods[os.fspath(t["path"])].descriptors) for t in tracks_)
        return {
            "kernel": weights[:dim].astype(float).tolist(),
            # The logit at the mean descriptors: what the ONNX graph computes from the embedding alone.
            "bias": (raw_bias + descriptor_mean @ descriptor_kernel).astype(float).tolist(),
            "descriptors": {
                "names": list(DESCRIPTOR_NAMES),
                "version": DESCRIPTORS_VERSION,
                "kernel": descriptor_kernel.astype(float).tolist(),
                "mean": descriptor_mean.astype(float).tolist(),
            },
            "slices": len(x),
        }

    def song_raw(head_, mood) -> np.ndarray:
        return apply_head(head_, mood.embeddings, mood.descriptors).mean(axis=0)

    # The temperature from out-of-fold songs: each training track scored by a head fitted
    # without it (5 folds by track), then the head itself is fitted on every training track.
    rng = np.random.default_rng(args.seed)
    fold_of = rng.permutation(len(fitting)) % FOLDS
    val_probs, val_labels = [], []
    for k in range(FOLDS):
        head_k = fit_head([t for t, f in zip(fitting, fold_of) if f != k])
        for t in (t for t, f in zip(fitting, fold_of) if f == k):
            target = mapping.label(track_scores(windows[str(t["rel"])]))
            if target is not None:
                val_probs.append(song_raw(head_k, moods[os.fspath(t["path"])]))
                val_labels.append(CLASSES.index(target))
    head = fit_head(fitting)
    slices = int(head.pop("slices"))
    print(
        f"head fitted on {slices} slices of {len(fitting)} tracks (C {args.c}; descriptors {', '.join(args.descriptors) or 'none'})",
        flush=True,
    )
    calibration = fit_calibration(np.array(val_probs), np.array(val_labels))
    calibration["method"] = (
        f"temperature scaling of whole-track mean slice probabilities, NLL on the {len(val_labels)} "
        f"training tracks, each scored by a head fitted without it ({FOLDS} folds by track)"
    )
    temperature = float(calibration["temperature"])

    confusion = np.zeros((3, 3), int)
    raw, calibrated, truth = [], [], []
    for t in held:
        mood = moods.get(os.fspath(t["path"]))
        target = mapping.label(track_scores(windows[str(t["rel"])]))
        if mood is None or target is None:
            continue
        p = song_raw(head, mood)
        confusion[CLASSES.index(target), int(p.argmax())] += 1
        raw.append(p)
        calibrated.append(calibrate(p, temperature))
        truth.append(CLASSES.index(target))
    total = int(confusion.sum())
    truth_arr = np.array(truth)
    report = {
        "held_out_tracks_scored": total,
        "held_out_target_agreement": round(float(np.trace(confusion) / max(1, total)), 4),
        "held_out_confusion_rows_target_cols_predicted": confusion.tolist(),
        "held_out_recall": {
            c: round(float(confusion[i, i] / max(1, confusion[i].sum())), 3) for i, c in enumerate(CLASSES)
        },
        "held_out_target_distribution": dict(zip(CLASSES, confusion.sum(axis=1).tolist())),
        "held_out_ece_raw": round(expected_calibration_error(np.array(raw), truth_arr), 4),
        "held_out_ece_calibrated": round(expected_calibration_error(np.array(calibrated), truth_arr), 4),
    }
    # The base as shipped, on the same tracks and targets (the comparison).
    before = np.zeros((3, 3), int)
    for t in held:
        mood = moods.get(os.fspath(t["path"]))
        target = mapping.label(track_scores(windows[str(t["rel"])]))
        if mood is not None and target is not None:
            before[CLASSES.index(target), int(mood.slice_probs.mean(axis=0).argmax())] += 1
    report["previous_head_held_out_agreement"] = round(float(np.trace(before) / max(1, before.sum())), 4)
    report["previous_head_held_out_recall"] = {
        c: round(float(before[i, i] / max(1, before[i].sum())), 3) for i, c in enumerate(CLASSES)
    }

    demo = {}
    for name, intended in DEMO_INTENDED.items():
        mood = analyse_file(REPO / "library" / name, base)
        p = song_probabilities(apply_head(head, mood.embeddings, mood.descriptors), temperature)
        demo[name] = {"intended": intended, "label": CLASSES[int(p.argmax())], "confidence": round(float(p.max()), 3)}
    report["demo_library"] = demo
    report["demo_library_right"] = sum(v["label"] == v["intended"] for v in demo.values())
    print(json.dumps({k: v for k, v in report.items() if k != "demo_library"}, indent=1), flush=True)
    print(
        "demo: "
        + ", ".join(f"{n[:2]} {v['label']}{'' if v['label'] == v['intended'] else ' (WRONG)'}" for n, v in demo.items())
    )

    score_heads = {name: fit_teacher_score(moods, fitting, windows, held, name) for name in TEACHER_SCORES}
    report["teacher_scores"] = {name: score.pop("report") for name, score in score_heads.items()}
    print(f"teacher scores: {report['teacher_scores']}", flush=True)
    write_base(output, head, calibration, report, mapping, args, moods, targets, slices, score_heads)
    check = MoodModel.load(output / "moodtui-base.onnx")
    sample = next(iter(moods.values()))
    # The graph is the head at the mean descriptors; the metadata head with descriptors is what the player serves.
    graph_diff = float(np.abs(check.head_probs(sample.embeddings) - apply_head(head, sample.embeddings)).max())
    print(f"new base {check.version} in {output} (graph vs metadata head: {graph_diff:.2e})", flush=True)
    if args.install:
        for f in output.iterdir():
            shutil.copy2(f, shipped_model_path().parent / f.name)
        print(f"installed into {shipped_model_path().parent}", flush=True)
    return 0


TEACHER_SCORES = {
    # name in the metadata's ``score_heads``: (the score of a 30-s window's teacher scores, the
    # track's key in the corpus manifest's VibeNet scores or None for the mean of its windows,
    # fitted on "slices" or "songs", what it is)
    "valence": (lambda w: w.get("valence"), "valence", "slices", "VibeNet valence of the slice's 30-s window (0..1)"),
    "energy": (lambda w: w.get("vn_energy"), "energy", "songs", "VibeNet energy of the song (0..1)"),
    **{
        f"tags_{mood}": (
            lambda w, mood=mood: tag_group_score(w, mood),
            None,
            "songs",
            f"the song's mean musicnn probability of the Last.fm tags {', '.join(IMAC_TAG_GROUPS[mood])} "
            f"(IMAC's {mood} word list)",
        )
        for mood in CLASSES
    },
}
"""The teachers' own 1-d scores the base learns to give (``score_heads``): a personal head re-cuts
valence or energy for a listener whose moods follow it alone (the mood classes mix valence and
arousal, and the exported energy is the arousal composite of three teachers, rank correlation
0.78 with VibeNet's energy on the held-out recordings, against 0.88 for this score), and the
three tag scores make the ``tags`` head: moods as the Last.fm crowd's tags place them, the way
IMAC itself labelled its songs."""


def fit_teacher_score(moods, fitting, windows, held, name: str) -> dict[str, object]:
    """A teacher's score (``TEACHER_SCORES[name]``) as a linear score on the embedding and the
    descriptors, a ridge regression on standardised inputs; a song's score is the mean of its
    slices' (the score is linear).

    Fitted on "slices": every training slice against its 30-s window's score (L2
    ``SLICE_RIDGE`` per slice). On "songs": each training track's mean inputs against its mean
    score, the ridge strength the best of ``SCORE_RIDGES`` by leave-one-package-out rank
    correlation. Which, per score, was chosen on the held-out packages: the energy score ranks
    them at 0.862 fitted on slices, 0.884 on songs (and the energy listeners of
    ``bench_personalise.py --fast`` at k = 10 go from 62 to 71 %); the valence score 0.891 on
    slices, 0.887 on songs (the valence listeners 71 and 70 %).

    Scored on the held-out packages as the rank correlation of song means with the teacher's
    track score.
    """
    from scipy.stats import spearmanr
    from sklearn.linear_model import Ridge

    from moodtui.mood.descriptors import DESCRIPTOR_NAMES, DESCRIPTORS_VERSION

    value, track_key, by, target = TEACHER_SCORES[name]
    xs, ys, packages = [], [], []
    for t in fitting:
        mood = moods[os.fspath(t["path"])]
        wins = windows[str(t["rel"])]
        inputs = np.hstack([mood.embeddings, mood.descriptors])
        if by == "songs":
            values = [v for w in wins if (v := value(w)) is not None]
            if values:
                xs.append(inputs.mean(axis=0))
                ys.append(float(np.mean(values)))
                packages.append(t["package"])
            continue
        for i, start in enumerate(mood.starts_s):
            window = window_at(wins, start)
            if window is not None and (v := value(window)) is not None:
                xs.append(inputs[i])
                ys.append(v)
    x, y, package = np.asarray(xs, np.float64), np.asarray(ys, np.float64), np.asarray(packages)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    xz = (x - mean) / scale

    def cross_validated(alpha: float) -> float:
        predicted = np.zeros(len(y))
        for left_out in np.unique(package):
            out = package == left_out
            predicted[out] = Ridge(alpha=alpha).fit(xz[~out], y[~out]).predict(xz[out])
        return float(spearmanr(predicted, y)[0])

    if by == "songs":
        cv = {alpha: cross_validated(alpha) for alpha in SCORE_RIDGES}
        alpha = max(cv, key=lambda a: cv[a])
    else:
        alpha = SLICE_RIDGE * len(x)
    fit = Ridge(alpha=alpha).fit(xz, y)
    weights = fit.coef_ / scale
    bias = float(fit.intercept_ - mean @ weights)
    dim = x.shape[1] - len(DESCRIPTOR_NAMES)

    def truth(t) -> float | None:
        if track_key is not None:
            return (t["scores"] or {}).get(track_key)
        values = [v for w in windows.get(str(t["rel"]), []) if (v := value(w)) is not None]
        return float(np.mean(values)) if values else None

    scored = [
        (float((np.hstack([m.embeddings, m.descriptors]) @ weights + bias).mean()), float(known))
        for t in held
        if (m := moods.get(os.fspath(t["path"]))) is not None and (known := truth(t)) is not None
    ]
    rho = spearmanr([a for a, _ in scored], [b for _, b in scored])[0]
    descriptor_mean = mean[dim:]
    report = {"fitted_on": f"{len(y)} {by}", "ridge": round(float(alpha), 3)}
    if by == "songs":
        report["training_cv_rank_correlation"] = round(cv[alpha], 3)
    return {
        "kernel": weights[:dim].astype(float).tolist(),
        "bias": bias + float(descriptor_mean @ weights[dim:]),
        "descriptors": {
            "names": list(DESCRIPTOR_NAMES),
            "version": DESCRIPTORS_VERSION,
            "kernel": weights[dim:].astype(float).tolist(),
            "mean": descriptor_mean.astype(float).tolist(),
        },
        "target": target,
        "report": report | {"held_out_rank_correlation": round(float(rho), 3), "tracks": len(scored)},
    }


def write_base(
    output: Path, head, calibration, report, mapping, args, moods, targets, slices: int, score_heads
) -> None:
    """The new base files in ``output``: ONNX with the new probs weights, metadata, Keras, replay, summary."""
    import onnx
    from onnx import numpy_helper

    from moodtui.fileio import atomic_write_bytes
    from moodtui.paths import shipped_model_path

    shipped = shipped_model_path()
    output.mkdir(parents=True, exist_ok=True)
    kernel = np.asarray(head["kernel"], np.float32)
    bias = np.asarray(head["bias"], np.float32)

    graph = onnx.load(os.fspath(shipped))
    inits = {t.name: t for t in graph.graph.initializer}
    matmul = next(n for n in graph.graph.node if n.op_type == "MatMul" and "probs" in n.name)
    add = next(n for n in graph.graph.node if n.op_type == "Add" and "probs" in n.name)
    for name, value in ((matmul.input[1], kernel), (add.input[1], bias)):
        if inits[name].dims != list(value.shape):
            raise SystemExit(f"{shipped}: probs weights {name} have shape {inits[name].dims}, not {value.shape}")
        inits[name].CopyFrom(numpy_helper.from_array(value, name))
    atomic_write_bytes(output / "moodtui-base.onnx", graph.SerializeToString())

    meta = json.loads(shipped.with_suffix(".json").read_text(encoding="utf-8"))
    now = dt.datetime.now(dt.UTC)
    previous = meta["version"]
    meta["version"] = f"base-{now:%Y%m%d-%H%M}"
    meta["created"] = now.isoformat(timespec="seconds")
    meta["head"] = head
    meta.pop("valence_head", None)  # the valence score's former home
    meta["score_heads"] = score_heads
    meta["calibration"] = calibration
    # What `moodtui models` shows for the base: its agreement on recordings it never trained on.
    # The network's own validation figure measured the head this refit replaces.
    meta.pop("validation", None)
    meta["agreement"] = {
        "song_agreement": report["held_out_target_agreement"],
        "songs": report["held_out_tracks_scored"],
        "method": "the held-out packages' recordings (never trained on), whole tracks: agreement with "
        "the base targets (models/MODEL_CARD.md)",
    }
    meta["head_fit"] = {
        "from": previous,
        "network": meta["embedding_id"],  # the trunk and embedding, unchanged by a head refit
        "method": "multinomial logistic regression on the embedding + musical descriptors (standardised, L2, classes balanced)",
        "c": args.c,
        "descriptors": list(args.descriptors),
        "tracks": len(targets),
        "slices": slices,
        "script": "scripts/fit_base_head.py",
    }
    atomic_write_bytes(output / "moodtui-base.json", json.dumps(meta, indent=1).encode("utf-8"))

    rng = np.random.default_rng(args.seed)
    rows, labels = [], []
    pool_x, pool_y = [], []
    for path, y in targets.items():
        pool_x.append(moods[path].embeddings[y >= 0])
        pool_y.append(y[y >= 0])
    px, py = np.concatenate(pool_x), np.concatenate(pool_y)
    for c in range(len(CLASSES)):
        idx = np.flatnonzero(py == c)
        chosen = rng.choice(idx, size=min(REPLAY_PER_CLASS, len(idx)), replace=False)
        rows.append(px[chosen])
        labels.append(py[chosen])
    replay = output / "moodtui-base-replay.npz"
    with open(replay, "wb") as handle:
        np.savez_compressed(
            handle, embeddings=np.concatenate(rows).astype(np.float16), labels=np.concatenate(labels).astype(np.int8)
        )

    summary_path = shipped.parent / "moodtui-base-training.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    previous_fit = json.loads(shipped.with_suffix(".json").read_text(encoding="utf-8")).get("head_fit")
    if previous_fit is not None and previous_fit.get("network") == meta["head_fit"]["network"]:
        # A refit of a refit: the comparison stays with the network's own (embedding-only) head.
        report = {k: v for k, v in report.items() if not k.startswith("previous_head")}
    summary.update(report)
    summary["temperature"] = calibration["temperature"]
    summary["calibration"] = calibration
    summary["target_mapping"] = mapping.to_json()
    summary["head_fit"] = meta["head_fit"]
    atomic_write_bytes(output / "moodtui-base-training.json", json.dumps(summary, indent=1).encode("utf-8"))

    keras_path = shipped.with_suffix(".keras")
    if keras_path.is_file():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # its notice goes through absl, whatever the level
        import keras

        network = keras.saving.load_model(os.fspath(keras_path), compile=False)
        layer = network.get_layer("probs")
        layer.set_weights([kernel, bias])
        network.save(os.fspath(output / "moodtui-base.keras"))


if __name__ == "__main__":
    sys.exit(main())
