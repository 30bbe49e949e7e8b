#!/usr/bin/env python3
"""Reproduce the shipped base model from the freely licensed base corpus and teacher labels.

    python scripts/fetch_base_corpus.py corpus        # Debian game-music packages (never committed)
    python scripts/teacher_labels.py corpus           # VibeNet scores, in its own venv
    python scripts/train_base.py corpus [--imac DIR] [--epochs 30]

Steps:
1. Whole packages are held out of base training (HELD_OUT_PACKAGES): they are the "real
   recordings the base model never saw" for the model card's prediction distribution and for
   the personalisation benchmark (scripts/bench_personalise.py). Packages whose music licence
   is not clearly free are only ever in this pool.
2. Class labels follow IMAC's word lists (positive = happy, joyous, energetic; neutral =
   soothing, relaxed, calm; negative = sad, painful) through moodtui.train.targets: regions of
   the valence / arousal plane, each axis a composite of three independent teachers (VibeNet,
   scripts/teacher_labels.py; musicnn's Last.fm tags, scripts/teacher_musicnn.py; the mode,
   onset rate and other musical signals, scripts/teacher_signals.py). Each 30-s window is one
   training row (its own class and scores, the slices inside it). Every teacher output (7 VibeNet
   scores, 50 musicnn tags, 6 signals), as a percentile over the training windows, is an
   auxiliary regression target so that the CNN's embedding carries mood, texture, harmony and
   tempo cues a listener's head can pick up; ``energy`` is the arousal composite and becomes
   the model's exported energy output (calm .. energetic).
3. With ``--imac DIR``, the listener's own songs that match IMAC (moodtui imac-match) join
   the training data with their human IMAC label (strict argmax of the tag counts).
4. Training runs through the same job as every retrain (`moodtui train --mode full`): split by
   song, ONNX export checked against Keras, atomic swap into models/moodtui-base.*.
5. A summary (cut points, packages, held-out lists, prediction distributions) is written to
   models/moodtui-base-training.json (beside --output) for the model card.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
# Never in the base training data. drascula-music (custom freeware licence that forbids charging
# a fee) and openclonk-data (the music's licence is not stated) are not free enough to train a
# GPL-shipped model on; they join the evaluation pool, which is used only on a developer's machine.
HELD_OUT_PACKAGES = ("naev-data", "supertuxkart-data", "blobwars-data", "drascula-music", "openclonk-data")
CLASSES = ("positive", "neutral", "negative")


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def corpus_tracks(corpus: Path) -> list[dict[str, object]]:
    """Manifest rows joined with the teacher's whole-track scores."""
    teacher = {row["path"]: row for row in read_csv(corpus / "teacher.csv")}
    tracks = []
    for row in read_csv(corpus / "manifest.csv"):
        scores = teacher.get(row["path"])
        if scores is None:
            continue
        numeric = {}
        for key, value in scores.items():
            if key == "path" or value in ("", None):
                continue
            try:
                numeric[key] = float(value)
            except ValueError:
                pass
        if "valence" not in numeric:
            continue
        tracks.append(
            {
                "path": corpus / row["path"],
                "rel": row["path"],
                "package": row["package"],
                "licence": row.get("licence", ""),
                "scores": numeric,
            }
        )
    return tracks


def window_scores(corpus: Path) -> dict[str, list[dict[str, float]]]:
    """Every teacher's scores per 30-s window: track path -> windows (start_s, end_s + scores).

    VibeNet (teacher_windows.csv: its 7 scores, names as VibeNet's), musicnn
    (teacher_musicnn.csv: 50 tags per 3-s slice, averaged over the window's slices, ``mn_<tag>``)
    and the musical signals (teacher_signals.csv, ``sig_<name>``). The windows are the same 30-s
    spans in all three files; a teacher that has not labelled a track yet is simply absent.
    """
    windows: dict[str, list[dict[str, float]]] = {}

    def window_for(path: str, start: float, end: float) -> dict[str, float]:
        for w in windows.setdefault(path, []):
            if abs(w["start_s"] - start) < 1.0:
                return w
        w = {"start_s": start, "end_s": end}
        windows[path].append(w)
        return w

    def numeric(row: dict[str, str], skip: tuple[str, ...]) -> dict[str, float]:
        out = {}
        for key, value in row.items():
            if key not in skip and value not in ("", None):
                try:
                    out[key] = float(value)
                except ValueError:
                    pass
        return out

    if (corpus / "teacher_windows.csv").exists():
        for row in read_csv(corpus / "teacher_windows.csv"):
            scores = numeric(row, ("path", "start_s", "end_s"))
            # "energy" is the arousal composite (the model's energy output); VibeNet's is vn_energy.
            if "energy" in scores:
                scores["vn_energy"] = scores.pop("energy")
            window_for(row["path"], float(row["start_s"]), float(row["end_s"])).update(scores)
    if (corpus / "teacher_signals.csv").exists():
        for row in read_csv(corpus / "teacher_signals.csv"):
            w = window_for(row["path"], float(row["start_s"]), float(row["end_s"]))
            w.update({f"sig_{k}": v for k, v in numeric(row, ("path", "start_s", "end_s")).items()})
    if (corpus / "teacher_musicnn.csv").exists():
        slices: dict[str, list[tuple[int, np.ndarray]]] = {}
        with (corpus / "teacher_musicnn.csv").open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            tags = next(reader)[2:]
            for row in reader:
                slices.setdefault(row[0], []).append((int(row[1]), np.array(row[2:], float)))
        for path, rows in slices.items():
            if path not in windows:
                # A track only musicnn has labelled so far: the same 30-s windows (and the last
                # 30 s for a tail of at least 15 s) from its slice count.
                n = max(i for i, _ in rows) + 1
                for start in _window_starts_s(n * 3.0):
                    window_for(path, start, start + min(30.0, n * 3.0))
            for w in windows.get(path, []):
                inside = [v for i, v in rows if i * 3 >= w["start_s"] - 0.5 and i * 3 + 3 <= w["end_s"] + 0.5]
                if inside:
                    w.update({f"mn_{t}": float(v) for t, v in zip(tags, np.mean(inside, axis=0))})
    return windows


def _window_starts_s(duration_s: float) -> list[float]:
    """scripts/teacher_labels.py's window starts, in seconds."""
    if duration_s <= 30.0:
        return [0.0]
    starts = [float(k * 30) for k in range(int(duration_s // 30))]
    if duration_s - (starts[-1] + 30.0) >= 15.0:
        starts.append(duration_s - 30.0)
    return starts


def track_scores(windows: list[dict[str, float]]) -> dict[str, float]:
    """A whole track's scores: the mean of its windows' (each teacher over the windows it has)."""
    keys = {k for w in windows for k in w if k not in ("start_s", "end_s")}
    return {k: float(np.mean([w[k] for w in windows if k in w])) for k in keys}


def training_targets(corpus: Path):
    """What base training learns from: (manifest rows by path, teacher windows by path, the
    training and held-out track paths, the target mapping, the auxiliary target names, and the
    function giving a window's auxiliary targets). ``scripts/revive_embedding_units.py`` uses the
    same."""
    from moodtui.train.targets import fit_mapping

    manifest_rows = {row["path"]: row for row in read_csv(corpus / "manifest.csv")}
    windows = {p: w for p, w in window_scores(corpus).items() if p in manifest_rows}
    train_pool = [p for p in windows if manifest_rows[p]["package"] not in HELD_OUT_PACKAGES]
    held_out = [p for p in windows if manifest_rows[p]["package"] in HELD_OUT_PACKAGES]
    train_windows = [w for p in train_pool for w in windows[p]]
    mapping = fit_mapping(train_windows)
    # Every teacher output is an auxiliary target, as its percentile over the training windows
    # (musicnn's tags are tiny probabilities on this music: percentiles put every target on 0..1).
    aux_names = sorted({k for w in train_windows for k in w if k not in ("start_s", "end_s")})
    tables = {k: np.sort([w[k] for w in train_windows if k in w]) for k in aux_names}

    def aux_values(scores: dict[str, float]) -> dict[str, float]:
        out = {
            k: float(np.searchsorted(tables[k], scores[k], side="right") / len(tables[k]))
            for k in aux_names
            if k in scores
        }
        va = mapping.valence_arousal(scores)
        if va is not None:
            out["energy"] = va[1]  # the exported energy output: the arousal composite
        return out

    aux_names = sorted(set(aux_names) | {"energy"})
    return manifest_rows, windows, train_pool, held_out, mapping, aux_names, aux_values


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--imac", type=Path, default=None, help="your music folder: add its IMAC-matched songs")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--max-slices-per-song", type=int, default=48)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument(
        "--aux-weight", type=float, default=1.0, help="total weight of all auxiliary targets together (shared equally)"
    )
    parser.add_argument("--init", type=Path, default=None, help="start from this .keras model (fine-tune)")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--output", type=Path, default=MODELS / "moodtui-base")
    parser.add_argument("--work", type=Path, default=None, help="where the manifest and logs go (default CORPUS/.base)")
    parser.add_argument("--report-only", action="store_true", help="only evaluate the model at --output")
    parser.add_argument(
        "--recalibrate",
        action="store_true",
        help="refit the model at --output's calibration on its validation tracks, then report",
    )
    args = parser.parse_args()
    sys.path.insert(0, os.fspath(REPO))
    from moodtui.train.targets import class_counts

    manifest_rows, windows, train_pool, held_out, mapping, aux_names, aux_values = training_targets(args.corpus)

    if args.report_only or args.recalibrate:
        work = args.work or args.corpus / ".base"
        if args.recalibrate:
            print(
                json.dumps(
                    calibrate_on_validation_tracks(
                        args.output.with_suffix(".onnx"), args.corpus, windows, mapping, work
                    )
                )
            )
        summary = report(
            args.output.with_suffix(".onnx"),
            args.corpus,
            held_out,
            windows,
            mapping,
            work / "home" / "cache" / "features",
        )
        print(json.dumps({k: v for k, v in summary.items() if k != "held_out_tracks"}, indent=1))
        return 0

    work = args.work or args.corpus / ".base"
    work.mkdir(parents=True, exist_ok=True)
    manifest = work / "base-manifest.csv"
    labels = []
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        # Keras layer names allow no spaces ("mn_easy listening"): the column names are sanitised.
        writer.writerow(
            [
                "path",
                "label",
                "group",
                *[f"aux_{re.sub(r'[^A-Za-z0-9_]', '_', k)}" for k in aux_names],
                "start_s",
                "end_s",
            ]
        )
        for rel in train_pool:
            for w in windows[rel]:
                label = mapping.label(w)
                if label is None:
                    continue
                labels.append(label)
                aux = aux_values(w)
                writer.writerow(
                    [
                        os.fspath(args.corpus / rel),
                        label,
                        rel,
                        *[
                            f"{min(1.0, max(0.0, aux[k])):.4f}" if k in aux and np.isfinite(aux[k]) else ""
                            for k in aux_names
                        ],
                        f"{w['start_s']:.2f}",
                        f"{w['end_s']:.2f}",
                    ]
                )
        imac_rows = []
        if args.imac is not None:
            from moodtui.library.imac import training_rows

            imac_rows = training_rows(args.imac)
            for path, label in imac_rows:
                writer.writerow([os.fspath(path), label, f"imac:{path}", *[""] * len(aux_names), "", ""])
    print(
        f"base training pool: {len(train_pool)} tracks from "
        f"{len({manifest_rows[p]['package'] for p in train_pool})} packages, {len(labels)} windows "
        f"{class_counts(labels)}; held out: {len(held_out)} tracks ({', '.join(HELD_OUT_PACKAGES)}); "
        f"IMAC songs: {len(imac_rows)}"
    )
    print(
        f"target mapping: beta {mapping.beta:.3f}, negative below {mapping.negative_cut:.3f}, "
        f"calm below {mapping.calm_cut:.3f}; {len(aux_names)} aux targets",
        flush=True,
    )

    started = time.monotonic()
    # The job weighs each auxiliary head by --aux-weight: share the total among all of them.
    per_aux = args.aux_weight / max(1, len(aux_names)) * 8
    cmd = [
        sys.executable,
        "-m",
        "moodtui",
        "train",
        "--manifest",
        os.fspath(manifest),
        "--mode",
        "full",
        "--epochs",
        str(args.epochs),
        "--max-slices-per-song",
        str(args.max_slices_per_song),
        "--batch-size",
        "32",
        "--val-fraction",
        "0.2",
        "--dropout",
        str(args.dropout),
        "--aux-weight",
        f"{per_aux:.4f}",
        "--output",
        os.fspath(args.output),
        "--version",
        f"base-{time.strftime('%Y%m%d-%H%M')}",
    ]
    if args.init is not None:
        cmd += ["--init", os.fspath(args.init)]
    if args.learning_rate is not None:
        cmd += ["--learning-rate", str(args.learning_rate)]
    env = dict(os.environ, MOODTUI_HOME=os.fspath(work / "home"))
    env.pop("MOODTUI_BASE_MODEL", None)
    log = (work / "train-log.jsonl").open("w", encoding="utf-8")
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            log.flush()
            event = json.loads(line) if line.startswith("{") else {}
            if event.get("event") in ("epoch", "data", "done", "error", "skip"):
                print(line.rstrip()[:240], flush=True)
    log.close()
    if proc.returncode != 0:
        print("training failed; the shipped model was not touched", file=sys.stderr)
        return 1
    minutes = (time.monotonic() - started) / 60
    calibrate_on_validation_tracks(args.output.with_suffix(".onnx"), args.corpus, windows, mapping, work)
    summary = report(
        args.output.with_suffix(".onnx"), args.corpus, held_out, windows, mapping, work / "home" / "cache" / "features"
    )
    summary.update(
        {
            "target_mapping": mapping.to_json(),
            "aux_targets": aux_names,
            "train_packages": sorted({manifest_rows[p]["package"] for p in train_pool}),
            "held_out_packages": list(HELD_OUT_PACKAGES),
            "train_pool_tracks": len(train_pool),
            "train_pool_window_labels": class_counts(labels),
            "imac_songs": len(imac_rows),
            "training_minutes": round(minutes, 1),
            "init": os.fspath(args.init) if args.init else None,
            "licences": dict(Counter(manifest_rows[p]["licence"] for p in train_pool)),
        }
    )
    args.output.with_name(args.output.name + "-training.json").write_text(
        json.dumps(summary, indent=1), encoding="utf-8"
    )
    print(json.dumps({k: v for k, v in summary.items() if k not in ("held_out_tracks", "target_mapping")}, indent=1))
    return 0


def calibrate_on_validation_tracks(
    onnx: Path, corpus: Path, windows: dict[str, list[dict[str, float]]], mapping, work: Path
) -> dict[str, object]:
    """Refit the model's temperature on its validation tracks, whole, as the player shows them.

    The training job fits it on validation *windows* (30 s); a whole track averages many more
    slices, so its mean probabilities are less extreme and the window temperature does not carry
    over. The validation tracks are the job's own (the same split_by_song, seed 0, over the same
    manifest), never the held-out packages, so the held-out calibration figure stays honest.
    """
    from moodtui.fileio import atomic_write_bytes
    from moodtui.mood.model import MoodModel
    from moodtui.train.data import read_manifest, song_features, split_by_song
    from moodtui.train.job import fit_calibration

    _, val = split_by_song(read_manifest(work / "base-manifest.csv"), 0.2, 0)
    model = MoodModel.load(onnx)
    probs, labels = [], []
    for rel in sorted({s.group for s in val}):
        target = mapping.label(track_scores(windows[rel]))
        if target is None:
            continue
        features = song_features(corpus / rel, work / "home" / "cache" / "features", None)
        probs.append(model.predict(features.astype(np.float32)).probs.mean(axis=0))
        labels.append(CLASSES.index(target))
    block = fit_calibration(np.array(probs), np.array(labels))
    block["method"] = (
        f"temperature scaling of whole-track mean slice probabilities, NLL on the {len(labels)} "
        "validation tracks of the training packages"
    )
    meta = json.loads(onnx.with_suffix(".json").read_text(encoding="utf-8"))
    meta["calibration"] = block
    atomic_write_bytes(onnx.with_suffix(".json"), json.dumps(meta, indent=1).encode("utf-8"))
    return block


DEMO_INTENDED = {
    "01-sunny-pluck.ogg": "positive",
    "02-bell-parade.ogg": "positive",
    "03-kite-day.mp3": "positive",
    "04-morning-run.opus": "positive",
    "05-rain-on-slate.ogg": "negative",
    "06-lantern-out.flac": "negative",
    "07-cold-harbour.ogg": "negative",
    "08-tide-pools.ogg": "neutral",
    "09-slow-clouds.wav": "neutral",
    "10-paper-lanterns.ogg": "neutral",
    "11-red-line.ogg": "negative",
    "12-static-storm.ogg": "negative",
}
"""library/README.md's intended moods: only ever compared with, never trained on."""


def report(
    onnx: Path,
    corpus: Path,
    held_out: list[str],
    windows: dict[str, list[dict[str, float]]],
    mapping,
    feature_cache: Path | None = None,
) -> dict[str, object]:
    """Agreement with the new targets on the held-out packages (whole tracks, every slice, as the
    player analyses them), confusion, neutral recall, calibration, and the demo library's moods.

    With ``feature_cache`` (the training job's cache of slice features) held-out tracks are not
    decoded again: the features are the same function's output, so the moods are the same.
    """
    sys.path.insert(0, os.fspath(REPO))
    from moodtui.errors import MoodtuiError
    from moodtui.mood.analysis import SongMood, analyse_file
    from moodtui.mood.features import SLICE_SECONDS
    from moodtui.mood.model import MoodModel
    from moodtui.train.data import song_features
    from moodtui.train.job import expected_calibration_error

    model = MoodModel.load(onnx)

    def analyse(path: Path) -> SongMood:
        if feature_cache is None:
            return analyse_file(path, model)
        predicted = model.predict(song_features(path, feature_cache, None).astype(np.float32))
        n = len(predicted.probs)
        return SongMood(
            os.fsdecode(path),
            n * SLICE_SECONDS,
            np.arange(n) * float(SLICE_SECONDS),
            predicted.probs,
            predicted.embeddings,
            model.version,
            None,
            predicted.energy,
            model.temperature,
            model.unsure_below,
        )

    demo = {}
    for name, intended in DEMO_INTENDED.items():
        mood = analyse_file(REPO / "library" / name, model)
        demo[name] = {
            "intended": intended,
            "label": mood.label,
            "confidence": round(mood.confidence, 3),
            "energy": None if mood.energy is None else round(mood.energy, 3),
        }
    confusion = np.zeros((3, 3), int)
    raw, calibrated, truth = [], [], []
    for rel in held_out:
        target = mapping.label(track_scores(windows[rel]))
        if target is None:
            continue
        try:
            mood = analyse(corpus / rel)
        except MoodtuiError:
            continue
        confusion[CLASSES.index(target), CLASSES.index(mood.label)] += 1
        raw.append(mood.raw_song_probs)
        calibrated.append(mood.song_probs)
        truth.append(CLASSES.index(target))
    total = int(confusion.sum())
    recall = {c: round(float(confusion[i, i] / max(1, confusion[i].sum())), 3) for i, c in enumerate(CLASSES)}
    truth_arr = np.array(truth)
    return {
        "demo_library": demo,
        "demo_library_right": sum(v["label"] == v["intended"] for v in demo.values()),
        "held_out_tracks_scored": total,
        "held_out_target_agreement": round(float(np.trace(confusion) / max(1, total)), 4),
        "held_out_confusion_rows_target_cols_predicted": confusion.tolist(),
        "held_out_recall": recall,
        "held_out_target_distribution": dict(zip(CLASSES, confusion.sum(axis=1).tolist())),
        "held_out_ece_raw": round(expected_calibration_error(np.array(raw), truth_arr), 4) if raw else None,
        "held_out_ece_calibrated": round(expected_calibration_error(np.array(calibrated), truth_arr), 4)
        if raw
        else None,
        "temperature": model.temperature,
        "held_out_tracks": held_out,
    }


if __name__ == "__main__":
    sys.exit(main())
