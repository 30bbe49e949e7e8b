#!/usr/bin/env python3
"""Benchmark: the personalisation curve on real recordings the base model was never trained on.

Simulated listeners label k songs per class through the real `moodtui label` and `moodtui train`
commands; their agreement with the retrained model is measured on all their other songs.
Listeners (labels from the teacher's scores, cut at the pool's terciles):

* valence: negative / neutral / positive = low / middle / high teacher valence
* valence-swapped: the same with positive and negative swapped (opposite taste)
* energy: negative / neutral / positive = low / middle / high teacher energy

Baseline, measured in the same run on the same songs and draws: logistic regression on simple
per-track statistics (mel-band mean and spread, chroma, onset strength).

    python scripts/bench_personalise.py CORPUS [--ks 0 3 5 10 20] [--repeats 3]

CORPUS is the folder made by fetch_base_corpus.py + teacher_labels.py; the pool is the tracks of
the packages train_base.py holds out. To measure a candidate base model before shipping it, set
MOODTUI_BASE_MODEL to its .onnx (its .keras and -replay.npz must sit beside it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.fspath(REPO / "scripts"))

from train_base import HELD_OUT_PACKAGES, corpus_tracks  # noqa: E402

from moodtui import CLASSES  # noqa: E402


def tercile_labels(values: np.ndarray) -> np.ndarray:
    """0 positive, 1 neutral, 2 negative (CLASSES order) by terciles, high = positive."""
    cuts = np.quantile(values, [1 / 3, 2 / 3])
    return np.where(values >= cuts[1], 0, np.where(values >= cuts[0], 1, 2))


def simple_features(path: Path) -> np.ndarray:
    """The baseline's per-track statistics (first 60 s)."""
    import librosa

    y, sr = librosa.load(path, sr=22_050, mono=True, duration=60.0)
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=sr, n_mels=40))
    chroma = librosa.feature.chroma_stft(y=y, sr=sr)
    onset = librosa.onset.onset_strength(y=y, sr=sr)
    return np.concatenate([mel.mean(1), mel.std(1), chroma.mean(1), chroma.std(1), [onset.mean(), onset.std()]])


def baseline_agreement(features: np.ndarray, labels: np.ndarray, train: np.ndarray, test: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced"))
    clf.fit(features[train], labels[train])
    return float((clf.predict(features[test]) == labels[test]).mean())


def moodtui(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MOODTUI_HOME=os.fspath(home))
    result = subprocess.run([sys.executable, "-m", "moodtui", *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"moodtui {' '.join(args[:2])} failed: {result.stderr[-1500:]}")
    return result


def model_agreement(home: Path, paths: list[Path], labels: np.ndarray, test: np.ndarray) -> float:
    os.environ["MOODTUI_HOME"] = os.fspath(home)
    from moodtui.analysis import AnalysisCache
    from moodtui.cache import Cache
    from moodtui.registry import load_current_model

    model, _ = load_current_model(home)
    cache = AnalysisCache(Cache(home / "cache.sqlite"))
    right = 0
    for i in test:
        emb = cache.embeddings(paths[i], model.embedding_id)
        probs = model.head_probs(emb).mean(axis=0)
        right += int(probs.argmax() == labels[i])
    cache.cache.close()
    return right / len(test)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--ks", type=int, nargs="+", default=[0, 3, 5, 10, 20])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    pool = [t for t in corpus_tracks(args.corpus) if t["package"] in HELD_OUT_PACKAGES]
    paths = [Path(t["path"]) for t in pool]
    listeners = {
        "valence": tercile_labels(np.array([t["scores"]["valence"] for t in pool])),
        "energy": tercile_labels(np.array([t["scores"]["energy"] for t in pool])),
    }
    listeners["valence-swapped"] = np.array([2, 1, 0])[listeners["valence"]]
    print(f"pool: {len(pool)} held-out recordings from {', '.join(HELD_OUT_PACKAGES)}; "
          f"repeats per point: {args.repeats}")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        warm = tmp / "warm"
        warm.mkdir()
        # Analyse the pool once (as the player's background analysis would); every listener reuses it.
        moodtui("predict", *map(os.fspath, paths), home=warm)
        print("baseline features ...", flush=True)
        features = np.stack([simple_features(p) for p in paths])
        rows = []
        for name, labels in listeners.items():
            for k in args.ks:
                ours, base = [], []
                for r in range(args.repeats):
                    rng = np.random.default_rng(1000 * r + k)
                    chosen = np.concatenate([rng.choice(np.flatnonzero(labels == c), size=min(k, int((labels == c).sum()) - 1),
                                                        replace=False) for c in range(3)]) if k else np.zeros(0, int)
                    test = np.setdiff1d(np.arange(len(pool)), chosen)
                    home = tmp / f"{name}-{k}-{r}"
                    home.mkdir()
                    shutil.copy(warm / "cache.sqlite", home / "cache.sqlite")
                    for i in chosen:
                        moodtui("label", os.fspath(paths[i]), CLASSES[labels[i]], home=home)
                    if k:
                        moodtui("train", home=home)
                    ours.append(model_agreement(home, paths, labels, test))
                    base.append(baseline_agreement(features, labels, chosen, test) if k else np.nan)
                rows.append((name, k, float(np.mean(ours)), float(np.nanmean(base)) if k else float("nan")))
                # Spread of the draws: the standard error of the mean over repeats.
                error = float(np.std(ours, ddof=1) / np.sqrt(len(ours))) if len(ours) > 1 else float("nan")
                print(f"{name:16s} k={k:2d}  moodtui {100 * rows[-1][2]:5.1f} % (+/- {100 * error:.1f})   "
                      f"baseline LR {100 * rows[-1][3]:5.1f} %", flush=True)
    print("\nagreement on each listener's other songs (chance 33 %); goal: >= 85 % at k = 10")
    print(f"{'listener':16s} " + " ".join(f"{'k=' + str(k):>14s}" for k in args.ks))
    for name in listeners:
        cells = []
        for k in args.ks:
            _, _, ours, base = next(r for r in rows if r[0] == name and r[1] == k)
            cells.append(f"{100 * ours:5.1f}/{'  -  ' if np.isnan(base) else f'{100 * base:5.1f}'}")
        print(f"{name:16s} " + " ".join(f"{c:>14s}" for c in cells))
    print("(cells: moodtui / logistic-regression baseline, %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
