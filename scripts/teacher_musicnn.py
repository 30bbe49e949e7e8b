#!/usr/bin/env python3
"""Second teacher for the base corpus: musicnn's 50 Last.fm tags per 3-s slice (PyPI ``musicnn``, ISC).

Usage::

    python3 scripts/teacher_musicnn.py DEST [--venv PATH] [--follow]

musicnn 0.1.0 (Pons & Serra, MSD_musicnn: trained on the Million Song Dataset's top-50 Last.fm
tags, the same tag source IMAC's labels come from) is never a dependency of moodtui and never
runs in the player: like VibeNet (scripts/teacher_labels.py) it is a build-time teacher in its
own virtual environment, ``DEST/.musicnn-venv`` by default, created when missing with
``pip install --no-deps musicnn==0.1.0`` plus tensorflow-cpu, tf-keras, librosa and soundfile
(musicnn's own pins are from 2019; it runs on TF 2.21 through tf-keras with
``TF_USE_LEGACY_KERAS=1``). Its weights are inside the wheel: labelling is offline.

Output ``DEST/teacher_musicnn.csv``: ``path, slice`` + the 50 tag probabilities for every
whole 3-s slice of every track of ``DEST/manifest.csv``, slice ``i`` covering ``[3i, 3i+3)`` s,
exactly the slices moodtui's features cut (musicnn's patches are taken at the same times from
its own 16-kHz log-mel spectrogram, not at its 187-frame stride, which drifts by 0.5 s over
three minutes). Unlike ``musicnn.extractor`` (which rebuilds its graph and restores the
checkpoint for every file) the graph is built once and slices are scored in batches.

``--stride N`` scores every N-th slice only (the shipped base used ``--stride 3``).

Resumable: tracks already in the CSV are skipped; each track is appended (and fsynced) when
done. ``--follow`` keeps going while scripts/fetch_base_corpus.py is still fetching: it reads
the finished packages' ``DEST/.state/*.csv`` and waits for more until ``manifest.csv`` exists.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from corpus_rows import append_track, tracks_to_label

REQUIREMENTS = ["tensorflow-cpu==2.21.*", "tf-keras==2.21.*", "librosa==0.11.*", "soundfile"]
MUSICNN = "musicnn==0.1.0"
MODEL = "MSD_musicnn"
SLICE_S = 3.0
SR = 16000  # musicnn's configuration
BATCH = 64


def ensure_env(venv: Path) -> None:
    """Re-run this script inside ``venv`` (created if missing) unless musicnn imports here."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    try:
        import musicnn  # noqa: F401
    except ImportError:
        pass
    else:
        return
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating teacher environment {venv} ({MUSICNN})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *REQUIREMENTS], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", MUSICNN], check=True)
    os.execv(str(python), [str(python), os.path.abspath(__file__), *sys.argv[1:]])


class Tagger:
    """MSD_musicnn with its graph built once; ``tags(path)`` gives (n_slices, 50) probabilities."""

    def __init__(self, stride: int = 1) -> None:
        import librosa
        import tensorflow as tf
        from musicnn import configuration as config
        from musicnn import models

        tf.compat.v1.disable_eager_execution()
        self.config = config
        self.stride = stride
        self.labels = list(config.MSD_LABELS)
        self.n_frames = (
            librosa.time_to_frames(SLICE_S, sr=config.SR, n_fft=config.FFT_SIZE, hop_length=config.FFT_HOP) + 1
        )
        graph = tf.Graph()
        with graph.as_default():
            with tf.name_scope("model"):
                self.x = tf.compat.v1.placeholder(tf.float32, [None, self.n_frames, config.N_MELS])
                self.is_training = tf.compat.v1.placeholder(tf.bool)
                y, *_ = models.define_model(self.x, self.is_training, MODEL, len(self.labels))
                self.probs = tf.nn.sigmoid(y)
            conf = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=1, inter_op_parallelism_threads=1)
            self.session = tf.compat.v1.Session(graph=graph, config=conf)
            self.session.run(tf.compat.v1.global_variables_initializer())
            import musicnn

            tf.compat.v1.train.Saver().restore(
                self.session, os.path.join(os.path.dirname(musicnn.__file__), MODEL) + "/"
            )

    def tags(self, path: Path):
        import librosa
        import numpy as np
        import soundfile
        import soxr

        try:
            audio, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
            audio = audio.mean(axis=1)
        except Exception:  # mp3 and others libsndfile does not read: musicnn's own loader
            audio, sr = librosa.load(str(path), sr=None, mono=True)
        audio = soxr.resample(audio, sr, SR) if sr != SR else audio
        cfg = self.config
        rep = librosa.feature.melspectrogram(
            y=audio, sr=SR, hop_length=cfg.FFT_HOP, n_fft=cfg.FFT_SIZE, n_mels=cfg.N_MELS
        ).T
        # As musicnn.extractor.batch_data, but in float32: its float16 product overflows to inf
        # on loud bins (> 6.5), feeding the network infinities.
        rep = np.log10(10000 * rep.astype(np.float32) + 1)
        n_slices = int(len(audio) // (SLICE_S * SR))
        index = [
            i
            for i in range(0, n_slices, self.stride)
            if int(round(i * SLICE_S * SR / cfg.FFT_HOP)) + self.n_frames <= len(rep)
        ]
        if not index:
            return [], np.zeros((0, len(self.labels)), np.float32)
        starts = [int(round(i * SLICE_S * SR / cfg.FFT_HOP)) for i in index]
        patches = np.stack([rep[s : s + self.n_frames] for s in starts]).astype(np.float32)
        out = [
            self.session.run(self.probs, {self.x: patches[i : i + BATCH], self.is_training: False})
            for i in range(0, len(patches), BATCH)
        ]
        return index, np.concatenate(out)


def label_corpus(dest: Path, follow: bool, stride: int) -> None:
    tagger = Tagger(stride)
    out = dest / "teacher_musicnn.csv"
    started, audio_done = time.monotonic(), 0.0
    for count, row in enumerate(tracks_to_label(dest, out, follow), 1):
        index, tags = tagger.tags(dest / row["path"])
        append_track(
            out,
            ["path", "slice", *tagger.labels],
            [[row["path"], i, *(f"{v:.4f}" for v in line)] for i, line in zip(index, tags)],
        )
        audio_done += float(row["duration_s"])
        print(
            f"[{count}] {row['path']}: {len(tags)} slices "
            f"({audio_done / max(time.monotonic() - started, 1e-9):.0f}x real time)",
            flush=True,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="corpus folder (manifest.csv, or .state/ while fetching)")
    parser.add_argument("--venv", type=Path, help="teacher environment (default DEST/.musicnn-venv)")
    parser.add_argument("--follow", action="store_true", help="wait for packages still being fetched")
    parser.add_argument(
        "--stride",
        type=int,
        default=1,
        help="score every STRIDE-th slice only (3 = one slice in three: 3x faster; the base "
        "uses window means, which 3-4 slices per 30-s window estimate well enough)",
    )
    args = parser.parse_args()
    dest = args.dest.resolve()
    ensure_env((args.venv or dest / ".musicnn-venv").resolve())
    label_corpus(dest, args.follow, args.stride)
    return 0


if __name__ == "__main__":
    sys.exit(main())
