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
2. Class labels come from the teacher's valence, cut at the terciles of the training tracks:
   negative < t1 <= neutral < t2 <= positive. Each of the teacher's 30-s windows is one training
   row (its own class and scores, the slices inside it): a quarter of the windows differ in class
   from their whole track, and these finer targets gave a clearly better embedding for
   personalisation (scripts/bench_personalise.py). The teacher's other scores (energy,
   danceability, acousticness, ..., and valence itself) become auxiliary regression targets so the CNN's embedding
   also carries energy and texture, which the personalisation loop adapts to.
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
        tracks.append({"path": corpus / row["path"], "rel": row["path"], "package": row["package"],
                       "licence": row.get("licence", ""), "scores": numeric})
    return tracks


def label_for(valence: float, cuts: tuple[float, float]) -> str:
    if valence < cuts[0]:
        return "negative"
    if valence < cuts[1]:
        return "neutral"
    return "positive"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--imac", type=Path, default=None, help="your music folder: add its IMAC-matched songs")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--max-slices-per-song", type=int, default=48)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--aux-weight", type=float, default=1.0)
    parser.add_argument("--output", type=Path, default=MODELS / "moodtui-base")
    parser.add_argument("--work", type=Path, default=None, help="where the manifest and logs go (default CORPUS/.base)")
    args = parser.parse_args()

    tracks = corpus_tracks(args.corpus)
    train_pool = [t for t in tracks if t["package"] not in HELD_OUT_PACKAGES]
    held_out = [t for t in tracks if t["package"] in HELD_OUT_PACKAGES]
    valence = np.array([t["scores"]["valence"] for t in train_pool])
    cuts = tuple(float(q) for q in np.quantile(valence, [1 / 3, 2 / 3]))
    # Every teacher score, valence included as a continuous target, so the embedding carries each
    # of them along a direction a listener's linear head can pick up.
    aux_names = sorted(train_pool[0]["scores"])
    # Auxiliary targets scaled to 0..1 over the training pool (the heads are sigmoid).
    ranges = {k: (min(t["scores"][k] for t in train_pool), max(t["scores"][k] for t in train_pool)) for k in aux_names}

    work = args.work or args.corpus / ".base"
    work.mkdir(parents=True, exist_ok=True)
    manifest = work / "base-manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "group", *[f"aux_{k}" for k in aux_names], "start_s", "end_s"])
        windows = {}
        for row in read_csv(args.corpus / "teacher_windows.csv"):
            windows.setdefault(row["path"], []).append(row)
        for t in train_pool:
            for w in windows.get(t["rel"], []):
                scores = {k: float(w[k]) for k in aux_names}
                aux = [(scores[k] - ranges[k][0]) / ((ranges[k][1] - ranges[k][0]) or 1) for k in aux_names]
                writer.writerow([os.fspath(t["path"]), label_for(scores["valence"], cuts), t["rel"],
                                 *[f"{min(1, max(0, a)):.4f}" for a in aux], w["start_s"], w["end_s"]])
        imac_rows = []
        if args.imac is not None:
            sys.path.insert(0, os.fspath(REPO))
            from moodtui.imac import training_rows

            imac_rows = training_rows(args.imac)
            for path, label in imac_rows:
                writer.writerow([os.fspath(path), label, f"imac:{path}", *[""] * len(aux_names), "", ""])
    print(f"base training pool: {len(train_pool)} tracks from "
          f"{len({t['package'] for t in train_pool})} packages; held out: {len(held_out)} tracks "
          f"({', '.join(HELD_OUT_PACKAGES)}); IMAC songs: {len(imac_rows)}")
    print(f"valence cut points (terciles): {cuts[0]:.3f} / {cuts[1]:.3f}; aux targets: {', '.join(aux_names)}")

    started = time.monotonic()
    cmd = [sys.executable, "-m", "moodtui", "train", "--manifest", os.fspath(manifest), "--mode", "full",
           "--epochs", str(args.epochs), "--max-slices-per-song", str(args.max_slices_per_song),
           "--batch-size", "32", "--val-fraction", "0.2", "--dropout", str(args.dropout),
           "--aux-weight", str(args.aux_weight), "--output", os.fspath(args.output),
           "--version", f"base-{time.strftime('%Y%m%d-%H%M')}"]
    env = dict(os.environ, MOODTUI_HOME=os.fspath(work / "home"))
    env.pop("MOODTUI_BASE_MODEL", None)
    log = (work / "train-log.jsonl").open("w", encoding="utf-8")
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env) as proc:
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
    summary = report(args.output.with_suffix(".onnx"), held_out, cuts)
    summary.update({
        "valence_cut_points": cuts, "aux_targets": aux_names, "aux_ranges": ranges,
        "train_packages": sorted({t["package"] for t in train_pool}), "held_out_packages": list(HELD_OUT_PACKAGES),
        "train_pool_tracks": len(train_pool), "held_out_tracks": [t["rel"] for t in held_out],
        "train_pool_labels": dict(Counter(label_for(t["scores"]["valence"], cuts) for t in train_pool)),
        "imac_songs": len(imac_rows), "training_minutes": round(minutes, 1),
        "licences": dict(Counter(t["licence"] for t in train_pool)),
    })
    args.output.with_name(args.output.name + "-training.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(json.dumps({k: v for k, v in summary.items() if k != "held_out_tracks"}, indent=1))
    return 0


def report(onnx: Path, held_out: list[dict[str, object]], cuts: tuple[float, float]) -> dict[str, object]:
    """Prediction distributions over the demo library and the held-out recordings."""
    sys.path.insert(0, os.fspath(REPO))
    from moodtui.analysis import analyse_file
    from moodtui.errors import MoodtuiError
    from moodtui.model import MoodModel

    model = MoodModel.load(onnx)
    demo = {}
    for path in sorted((REPO / "library").iterdir()):
        if path.suffix.lower() in (".ogg", ".mp3", ".flac", ".wav", ".opus"):
            mood = analyse_file(path, model)
            demo[path.name] = {"label": mood.label, "probs": [round(float(p), 3) for p in mood.song_probs]}
    held = Counter()
    agree = 0
    confusion = np.zeros((3, 3), int)
    for t in held_out:
        try:
            mood = analyse_file(t["path"], model)
        except MoodtuiError:
            continue
        teacher = label_for(t["scores"]["valence"], cuts)
        held[mood.label] += 1
        agree += mood.label == teacher
        confusion[CLASSES.index(teacher), CLASSES.index(mood.label)] += 1
    return {
        "demo_library_predictions": demo,
        "demo_library_distribution": dict(Counter(v["label"] for v in demo.values())),
        "held_out_distribution": dict(held),
        "held_out_teacher_agreement": round(agree / max(1, sum(held.values())), 4),
        "held_out_confusion": confusion.tolist(),
        "held_out_teacher_distribution": dict(Counter(label_for(t["scores"]["valence"], cuts) for t in held_out)),
    }


if __name__ == "__main__":
    sys.exit(main())
