#!/usr/bin/env python3
"""Benchmark: the personal model for families of simulated listeners, on recordings the base never trained on.

Each listener labels k songs per class through the real `moodtui label` and `moodtui train`
commands, and is scored on all their other songs of the pool (the tracks of the packages
train_base.py holds out of base training). Families (each cut at the pool's terciles):

* valence:      negative / neutral / positive = low / middle / high teacher valence
* swapped:      the same with positive and negative swapped (opposite taste)
* energy:       bands of the teacher's energy
* signals:      bands of cues the teacher never saw, computed here from the audio: major/minor mode
                (chroma correlated with the Krumhansl-Kessler key profiles), tempo and brightness
                (spectral centroid); the score is the mean of their z-scores
* inconsistent: valence, with 15 % of the given labels replaced by a random other class (scored
                against the clean bands)
* tags:         a Last.fm-tag listener, as IMAC made its classes: musicnn's tags (its 50 Last.fm
                tags, averaged over the song's 30-s windows) grouped by IMAC's word lists (positive:
                happy, party, dance; neutral: Mellow, chill, chillout, easy listening; negative:
                sad), each group's mean z-scored over the pool, the strongest group wins

Per family and k: agreement on the held-out songs, and the precision of each mood list (of the 20
held-out songs the model ranks most positive, the share the listener calls positive; the same for
negative). Then the minimum over families: one family must not be traded for another.
Goals (issue 9): at k = 10 every family >= 80 % agreement and both top-20 lists >= 90 %; at k = 3
no family below its k = 0 figure.

    python scripts/bench_personalise.py CORPUS [--ks 0 3 10 20] [--repeats 3] [--families ...]
    python scripts/bench_personalise.py CORPUS --fast      # same draws, the head fit in-process on
                                                           # cached embeddings (for tuning; not the figure)
    python scripts/bench_personalise.py CORPUS --without-descriptors   # the heads that read the musical
                                                           # descriptors left out: the comparison

CORPUS is the folder made by fetch_base_corpus.py + teacher_labels.py. The base is whatever
model is current: the shipped one, or MOODTUI_BASE_MODEL (its .keras and -replay.npz beside it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, os.fspath(REPO / "scripts"))

from train_base import HELD_OUT_PACKAGES, corpus_tracks, window_scores  # noqa: E402

from moodtui import CLASSES  # noqa: E402
from moodtui.train.heads import DESCRIPTOR_HEADS, HEADS  # noqa: E402
from moodtui.train.targets import tag_group_score  # noqa: E402

POSITIVE, NEUTRAL, NEGATIVE = (CLASSES.index(c) for c in ("positive", "neutral", "negative"))
FAMILIES = ("valence", "swapped", "energy", "signals", "inconsistent", "tags")

NOISE = 0.15
TOP = 20

# Krumhansl-Kessler key profiles (probe-tone ratings), C major and C minor.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def bands(values: np.ndarray) -> np.ndarray:
    """Class per song (CLASSES order) by terciles of the pool: high = positive."""
    cuts = np.quantile(values, [1 / 3, 2 / 3])
    return np.where(values >= cuts[1], POSITIVE, np.where(values >= cuts[0], NEUTRAL, NEGATIVE))


def tag_classes(pool: list[dict], windows: dict[str, list[dict[str, float]]]) -> np.ndarray:
    """The tags family's class per song: the strongest of its IMAC tag groups (z-scored over the pool)."""
    groups = np.array(
        [[np.mean([tag_group_score(w, c) for w in windows[str(t["rel"])]]) for c in CLASSES] for t in pool]
    )
    return ((groups - groups.mean(axis=0)) / groups.std(axis=0)).argmax(axis=1)


def audio_signals(path: Path) -> dict[str, float]:
    """Cues the teacher never saw: major-minor mode strength, tempo, brightness (first 120 s)."""
    import librosa

    y, sr = librosa.load(path, sr=22_050, mono=True, duration=120.0)
    chroma = librosa.feature.chroma_cqt(y=y, sr=sr).mean(axis=1)

    def best(profile: np.ndarray) -> float:
        return max(float(np.corrcoef(chroma, np.roll(profile, key))[0, 1]) for key in range(12))

    tempo = float(np.atleast_1d(librosa.feature.tempo(y=y, sr=sr))[0])
    centroid = float(librosa.feature.spectral_centroid(y=y, sr=sr).mean())
    return {"mode": best(MAJOR_PROFILE) - best(MINOR_PROFILE), "tempo": tempo, "centroid": centroid}


def signals_score(signals: list[dict[str, float]]) -> np.ndarray:
    def z(values) -> np.ndarray:
        values = np.asarray(values, float)
        return (values - values.mean()) / (values.std() or 1.0)

    return (
        z([s["mode"] for s in signals])
        + z(np.log([max(s["tempo"], 1.0) for s in signals]))
        + z(np.log([s["centroid"] for s in signals]))
    ) / 3


def moodtui(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, MOODTUI_HOME=os.fspath(home))
    result = subprocess.run([sys.executable, "-m", "moodtui", *args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"moodtui {' '.join(args[:2])} failed: {result.stderr[-1500:]}")
    return result


def pool_embeddings(home: Path, paths: list[Path]) -> tuple[list[np.ndarray], list[np.ndarray | None], object]:
    """Every pool song's slice embeddings under the current base and its slices' musical
    descriptors (analysed once by `moodtui predict`)."""
    os.environ["MOODTUI_HOME"] = os.fspath(home)
    from moodtui.mood.analysis import AnalysisCache
    from moodtui.mood.versions import load_current_model
    from moodtui.sqlite_cache import Cache

    model, _ = load_current_model(home)
    cache = AnalysisCache(Cache(home / "cache.sqlite"))
    embeddings = [cache.embeddings(p, model.embedding_id) for p in paths]
    descriptors = [cache.descriptors(p) for p in paths]
    cache.cache.close()
    return embeddings, descriptors, model


def song_probs_of(home: Path, embeddings: list[np.ndarray], descriptors: list[np.ndarray | None]) -> np.ndarray:
    """Song-level probabilities of every pool song under the model current in ``home``."""
    from moodtui.mood.versions import load_current_model

    model, _ = load_current_model(home)
    return np.stack([model.head_probs(e, d).mean(axis=0) for e, d in zip(embeddings, descriptors)])


def scores(probs: np.ndarray, truth: np.ndarray, test: np.ndarray) -> tuple[float, float, float]:
    """Agreement on ``test``, and the top-20 precision of the positive and negative lists."""
    agreement = float((probs[test].argmax(1) == truth[test]).mean())
    top = min(TOP, len(test))
    positive = test[np.argsort(-probs[test, POSITIVE], kind="stable")[:top]]
    negative = test[np.argsort(-probs[test, NEGATIVE], kind="stable")[:top]]
    return agreement, float((truth[positive] == POSITIVE).mean()), float((truth[negative] == NEGATIVE).mean())


def draw(truth: np.ndarray, k: int, rng: np.random.Generator, noisy: bool) -> tuple[np.ndarray, np.ndarray]:
    """k songs per class (by the clean classes) and the labels the listener gives them."""
    chosen = np.concatenate(
        [
            rng.choice(np.flatnonzero(truth == c), size=min(k, int((truth == c).sum()) - 1), replace=False)
            for c in range(len(CLASSES))
        ]
    )
    given = truth[chosen].copy()
    if noisy:
        flip = rng.choice(len(chosen), size=int(round(NOISE * len(chosen))), replace=False)
        given[flip] = (given[flip] + rng.integers(1, len(CLASSES), size=len(flip))) % len(CLASSES)
    return chosen, given


def fast_probs(
    base,
    embeddings: list[np.ndarray],
    descriptors: list[np.ndarray | None] | None,
    chosen: np.ndarray,
    given: np.ndarray,
    candidates: tuple[str, ...] = HEADS,
) -> tuple[np.ndarray, str]:
    """The head the training job would fit, in-process (no subprocess, no export): for tuning."""
    from moodtui.mood.model import apply_head, descriptor_part
    from moodtui.paths import shipped_model_path
    from moodtui.train.data import Song, song_folds
    from moodtui.train.job import base_scores_of, fit_personal_head

    replay_path = shipped_model_path().with_name(shipped_model_path().stem + "-replay.npz")
    if not replay_path.is_file():
        replay_path = shipped_model_path().parent / "replay.npz"
    replay = np.load(replay_path)
    kernel, bias = (np.asarray(base.metadata["head"][key], np.float32) for key in ("kernel", "bias"))
    songs = [Song(Path(f"/{i}"), int(label)) for i, label in zip(chosen, given)]
    folds = song_folds(songs, min(5, len(songs)), 0)
    fit = fit_personal_head(
        [embeddings[i] for i in chosen],
        list(map(int, given)),
        replay["embeddings"].astype(np.float32),
        replay["labels"].astype(int),
        kernel,
        bias,
        folds,
        descriptors=None if descriptors is None else [descriptors[i] for i in chosen],
        candidates=candidates,
        base_descriptors=descriptor_part(base.metadata["head"]),
        base_scores=base_scores_of(base),
        temperature=base.temperature,
    )
    head = fit.metadata_head
    every = descriptors if descriptors is not None else [None] * len(embeddings)
    return np.stack([apply_head(head, e, d).mean(axis=0) for e, d in zip(embeddings, every)]), fit.head


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--ks", type=int, nargs="+", default=[0, 3, 10, 20])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--families", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    parser.add_argument("--fast", action="store_true", help="fit in-process on cached embeddings (tuning only)")
    parser.add_argument(
        "--without-descriptors",
        action="store_true",
        help="leave out the heads that read the slices' musical descriptors (the comparison without them)",
    )
    parser.add_argument(
        "--heads", nargs="+", choices=HEADS, default=list(HEADS), help="the candidate heads (default: all)"
    )
    parser.add_argument(
        "--work", type=Path, default=None, help="folder kept between runs: the pool's analysis and the audio signals"
    )
    args = parser.parse_args()

    pool = [t for t in corpus_tracks(args.corpus) if t["package"] in HELD_OUT_PACKAGES]
    paths = [Path(t["path"]) for t in pool]
    work = args.work or Path(tempfile.gettempdir()) / "moodtui-bench-personalise"
    work.mkdir(parents=True, exist_ok=True)

    signals_file = work / "signals.json"
    known = json.loads(signals_file.read_text()) if signals_file.is_file() else {}
    missing = [p for p in paths if os.fspath(p) not in known]
    if missing and "signals" in args.families:
        print(f"audio signals (mode, tempo, brightness) of {len(missing)} recordings ...", flush=True)
        for p in missing:
            known[os.fspath(p)] = audio_signals(p)
        signals_file.write_text(json.dumps(known))

    families: dict[str, np.ndarray] = {}
    valence = bands(np.array([t["scores"]["valence"] for t in pool]))
    for name in args.families:
        if name in ("valence", "inconsistent"):
            families[name] = valence
        elif name == "swapped":
            families[name] = np.array(
                [NEGATIVE if v == POSITIVE else POSITIVE if v == NEGATIVE else NEUTRAL for v in valence]
            )
        elif name == "energy":
            families[name] = bands(np.array([t["scores"]["energy"] for t in pool]))
        elif name == "tags":
            families[name] = tag_classes(pool, window_scores(args.corpus))
        else:
            families[name] = bands(signals_score([known[os.fspath(p)] for p in paths]))

    from moodtui.paths import shipped_model_path

    print(
        f"pool: {len(pool)} held-out recordings from {', '.join(HELD_OUT_PACKAGES)}; base "
        f"{shipped_model_path()}; repeats per point: {args.repeats}; {'FAST (in-process)' if args.fast else 'real moodtui label + train'}",
        flush=True,
    )
    # Analyse the pool once (as the player's background analysis would); every listener reuses it.
    warm = work / "warm"
    warm.mkdir(exist_ok=True)
    moodtui("predict", *map(os.fspath, paths), home=warm)
    embeddings, descriptors, base = pool_embeddings(warm, paths)
    if any(d is None for d in descriptors):
        raise SystemExit(f"{warm}: analysed before musical descriptors existed; remove its cache.sqlite")
    print(f"base model {base.version}", flush=True)

    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    # The base scored on exactly the songs each draw is scored on (a draw's own labelled songs
    # are left out of its test set, so its k = 0 figure is over slightly different songs).
    base_on_same: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    base_probs = song_probs_of(warm, embeddings, descriptors)
    heads: dict[tuple[str, int], list[str]] = {}
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        for name, truth in families.items():
            for k in args.ks:
                cells = []
                for r in range(args.repeats if k else 1):
                    rng = np.random.default_rng(1000 * r + k)
                    if k:
                        chosen, given = draw(truth, k, rng, noisy=name == "inconsistent")
                    else:
                        chosen, given = np.zeros(0, int), np.zeros(0, int)
                    test = np.setdiff1d(np.arange(len(pool)), chosen)
                    started = time.monotonic()
                    if not k:
                        probs = base_probs
                        head = "base"
                    elif args.fast:
                        probs, head = fast_probs(
                            base,
                            embeddings,
                            None if args.without_descriptors else descriptors,
                            chosen,
                            given,
                            tuple(h for h in HEADS if h in args.heads),
                        )
                    else:
                        home = Path(tmp) / f"{name}-{k}-{r}"
                        home.mkdir()
                        shutil.copy(warm / "cache.sqlite", home / "cache.sqlite")
                        for c in range(len(CLASSES)):  # one `moodtui label FILE... MOOD` per mood
                            files = [os.fspath(paths[i]) for i, label in zip(chosen, given) if label == c]
                            if files:
                                moodtui("label", *files, CLASSES[c], home=home)
                        candidates = [
                            h
                            for h in HEADS
                            if h in args.heads and not (args.without_descriptors and h in DESCRIPTOR_HEADS)
                        ]
                        trained = moodtui("train", "--heads", *candidates, home=home)
                        done = json.loads(trained.stdout.strip().splitlines()[-1])
                        head = str(done.get("head"))
                        probs = song_probs_of(home, embeddings, descriptors)
                        shutil.rmtree(home, ignore_errors=True)
                    cells.append(scores(probs, truth, test))
                    base_on_same.setdefault((name, k), []).append(scores(base_probs, truth, test))
                    heads.setdefault((name, k), []).append(head)
                    print(
                        f"  {name:12s} k={k:2d} draw {r}: agreement {100 * cells[-1][0]:5.1f} %  top-20 positive "
                        f"{100 * cells[-1][1]:5.1f} %  negative {100 * cells[-1][2]:5.1f} %  head {head}  "
                        f"(base on the same songs {100 * base_on_same[(name, k)][-1][0]:5.1f} %)  "
                        f"({time.monotonic() - started:.0f} s)",
                        flush=True,
                    )
                results[(name, k)] = cells

    print(f"\nper family, mean over draws (agreement on held-out songs / top-{TOP} positive / top-{TOP} negative, %)")
    print(f"{'family':12s} " + " ".join(f"{'k=' + str(k):>17s}" for k in args.ks))
    for name in families:
        cells = []
        for k in args.ks:
            a, p, n = np.mean(results[(name, k)], axis=0)
            cells.append(f"{100 * a:4.0f}/{100 * p:4.0f}/{100 * n:4.0f}")
        print(f"{name:12s} " + " ".join(f"{c:>17s}" for c in cells))
    row = []
    for k in args.ks:
        means = np.array([np.mean(results[(name, k)], axis=0) for name in families])
        row.append(f"{100 * means[:, 0].min():4.0f}/{100 * means[:, 1].min():4.0f}/{100 * means[:, 2].min():4.0f}")
    print(f"{'MINIMUM':12s} " + " ".join(f"{c:>17s}" for c in row))
    print("heads chosen: " + "; ".join(f"{name} k={k}: {','.join(h)}" for (name, k), h in heads.items() if k))
    if 3 in args.ks and 0 in args.ks:
        below = [
            name for name in families if np.mean(results[(name, 3)], axis=0)[0] < np.mean(results[(name, 0)], axis=0)[0]
        ]
        print(f"k=3 below its k=0 agreement: {', '.join(below) if below else 'none'}")
        for name in families:
            own, base_same = (np.mean(table[(name, 3)], axis=0)[0] for table in (results, base_on_same))
            print(f"  {name:12s} k=3 {100 * own:5.1f} % vs the base on the same songs {100 * base_same:5.1f} %")
    if 10 in args.ks:
        short = [name for name in families if (np.mean(results[(name, 10)], axis=0) < [0.8, 0.9, 0.9]).any()]
        print(f"k=10 short of 80 % agreement / 90 % top-{TOP}: {', '.join(short) if short else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
