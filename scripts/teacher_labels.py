#!/usr/bin/env python3
"""Teacher labels for the base corpus from VibeNet (PyPI ``vibenet``, GPL-3.0-or-later).

Usage::

    python3 scripts/teacher_labels.py DEST [--venv PATH] [--report-only]

VibeNet is never a dependency of moodtui: it lives in its own virtual environment,
``DEST/.teacher-venv`` by default. When started by any Python that cannot import
``vibenet``, the script creates that environment (``python3 -m venv`` +
``pip install vibenet==0.1.0``; the only step that needs a package registry) and re-runs
itself there. Labelling itself is offline: VibeNet's ONNX model ships inside the wheel.

For every track of ``DEST/manifest.csv`` (see fetch_base_corpus.py) it writes

- ``DEST/teacher.csv``: ``path`` + the 7 scores for the whole track, computed as
  ``vibenet.load_model().predict(path)`` does: the whole file is decoded to 16 kHz mono and
  turned into one log-mel spectrogram (128 bands, 0-8 kHz, 20-ms hop); the EfficientNet
  pools over all of it, so every part of the track counts, equally.
- ``DEST/teacher_windows.csv``: ``path, start_s, end_s`` + the 7 scores for consecutive
  30-s windows (the clip length of FMA, on which VibeNet was trained); a tail of at least
  15 s becomes one more window made of the track's last 30 s. These let a student trained
  on 3-s slices see how the mood moves inside a track.

Scores (VibeNet's names): acousticness, instrumentalness, liveness are probabilities
(sigmoid); danceability, energy, speechiness, valence are regressions clipped to [0, 1].

Resumable: tracks already in teacher.csv (same path) are skipped and each finished track
is appended at once, so an interrupted run loses at most one track. Progress goes to
stdout. At the end (or with ``--report-only``) a report on the score distributions is
printed and saved to ``DEST/teacher_report.txt``.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

VIBENET_REQUIREMENT = "vibenet==0.1.0"
WINDOW_S = 30.0
MIN_TAIL_S = 15.0
TEACHER_SR = 16000


def ensure_teacher_env(venv: Path) -> None:
    """Re-run this script inside ``venv`` (created if missing) unless vibenet imports here."""
    try:
        import vibenet  # noqa: F401
    except ImportError:
        pass
    else:
        return
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating teacher environment {venv} ({VIBENET_REQUIREMENT})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", VIBENET_REQUIREMENT], check=True)
    os.execv(str(python), [str(python), os.path.abspath(__file__), *sys.argv[1:]])


def window_starts(n_samples: int, sr: int) -> list[int]:
    """Start samples of consecutive 30-s windows; a tail >= 15 s adds the last 30 s."""
    window = int(WINDOW_S * sr)
    if n_samples <= window:
        return [0]
    starts = list(range(0, n_samples - window + 1, window))
    tail = n_samples - (starts[-1] + window)
    if tail >= MIN_TAIL_S * sr:
        starts.append(n_samples - window)
    return starts


class Teacher:
    """VibeNet's model run the way ``vibenet.load_model().predict`` runs it, on one thread.

    vibenet 0.1.0 builds single-thread session options but does not pass them to
    onnxruntime, so its own session takes every core; this machine's cores are shared.
    """

    def __init__(self) -> None:
        import importlib.resources

        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        model_path = importlib.resources.files("vibenet.artifacts") / "efficientnet_model.onnx"
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])

    def scores(self, waveform) -> dict[str, float]:
        """The 7 VibeNet scores for a 16-kHz mono waveform."""
        import numpy as np
        from vibenet.core import InferenceResult, extract_mel

        mel = extract_mel(waveform, TEACHER_SR)
        logits = self.session.run(None, {"x": mel[np.newaxis, :]})[0][0]
        return InferenceResult.from_logits([float(v) for v in logits]).to_dict()

    def label_track(self, path: Path) -> tuple[dict[str, float], list[tuple[float, float, dict[str, float]]]]:
        """Whole-track scores and per-window (start_s, end_s, scores)."""
        from vibenet.core import load_audio

        waveform = load_audio(str(path), TEACHER_SR)
        whole = self.scores(waveform)
        window = int(WINDOW_S * TEACHER_SR)
        windows = []
        for start in window_starts(len(waveform), TEACHER_SR):
            piece = waveform[start : start + window]
            windows.append((start / TEACHER_SR, (start + len(piece)) / TEACHER_SR, self.scores(piece)))
        return whole, windows


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def append_rows(path: Path, columns: list[str], rows: list[dict]) -> None:
    new = not path.exists() or path.stat().st_size == 0
    with path.open("a", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns)
        if new:
            writer.writeheader()
        writer.writerows(rows)
        fh.flush()
        os.fsync(fh.fileno())


def keep_only(path: Path, keep: set[str]) -> None:
    """Rewrite a labels CSV without the rows whose track is not in ``keep``."""
    if not path.exists():
        return
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = [row for row in reader if row["path"] in keep]
        columns = reader.fieldnames
    if not columns:
        path.unlink()
        return
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def label_corpus(dest: Path) -> None:
    import vibenet

    labels = list(vibenet.labels)
    manifest = read_rows(dest / "manifest.csv")
    teacher_csv, windows_csv = dest / "teacher.csv", dest / "teacher_windows.csv"
    in_manifest = {row["path"] for row in manifest}
    # Tracks dropped from the corpus lose their labels.
    keep_only(teacher_csv, in_manifest)
    done = {row["path"] for row in read_rows(teacher_csv)}
    # A track's windows are appended before its teacher.csv row, so a run stopped in
    # between leaves windows of a track that is labelled again now.
    keep_only(windows_csv, done)
    todo = [row for row in manifest if row["path"] not in done]
    total_s = sum(float(row["duration_s"]) for row in todo)
    print(f"{len(done)} tracks already labelled, {len(todo)} to go ({total_s / 3600:.2f} h of audio)", flush=True)
    teacher = Teacher()
    started, audio_done = time.monotonic(), 0.0
    for i, row in enumerate(todo, 1):
        whole, windows = teacher.label_track(dest / row["path"])
        append_rows(
            windows_csv,
            ["path", "start_s", "end_s", *labels],
            [
                {
                    "path": row["path"],
                    "start_s": f"{s:.2f}",
                    "end_s": f"{e:.2f}",
                    **{k: f"{v:.6f}" for k, v in sc.items()},
                }
                for s, e, sc in windows
            ],
        )
        append_rows(
            teacher_csv, ["path", *labels], [{"path": row["path"], **{k: f"{v:.6f}" for k, v in whole.items()}}]
        )
        audio_done += float(row["duration_s"])
        elapsed = time.monotonic() - started
        print(
            f"[{i}/{len(todo)}] {row['path']}: valence {whole['valence']:.3f} energy {whole['energy']:.3f}"
            f" ({audio_done / max(elapsed, 1e-9):.0f}x real time)",
            flush=True,
        )


# ---------------------------------------------------------------------------------------
# Report


def report(dest: Path) -> str:
    """Distribution of the scores, their correlations, per-package valence and cut points."""
    import numpy as np
    import vibenet

    labels = list(vibenet.labels)
    manifest = {row["path"]: row for row in read_rows(dest / "manifest.csv")}
    tracks = [row for row in read_rows(dest / "teacher.csv") if row["path"] in manifest]
    windows = [row for row in read_rows(dest / "teacher_windows.csv") if row["path"] in manifest]
    if not tracks:
        return "no labels yet"
    scores = {k: np.array([float(r[k]) for r in tracks]) for k in labels}
    durations = np.array([float(manifest[r["path"]]["duration_s"]) for r in tracks])
    win_valence = np.array([float(r["valence"]) for r in windows])
    out: list[str] = []
    say = out.append

    say(f"{len(tracks)} tracks, {durations.sum() / 3600:.2f} h; {len(windows)} windows of 30 s")
    say("")
    say("Whole-track score quantiles")
    qs = [0, 0.05, 0.1, 0.25, 1 / 3, 0.5, 2 / 3, 0.75, 0.9, 0.95, 1]
    say(f"{'score':18s} {'mean':>6s} {'std':>6s} " + " ".join(f"q{q * 100:>4.0f}" for q in qs))
    for k in labels:
        v = scores[k]
        say(f"{k:18s} {v.mean():6.3f} {v.std():6.3f} " + " ".join(f"{x:5.3f}" for x in np.quantile(v, qs)))
    if len(win_valence):
        say(
            f"{'valence (windows)':18s} {win_valence.mean():6.3f} {win_valence.std():6.3f} "
            + " ".join(f"{x:5.3f}" for x in np.quantile(win_valence, qs))
        )
    say("")
    say(
        f"Valence clipped: {np.mean(scores['valence'] <= 0) * 100:.0f}% of tracks at 0, {np.mean(scores['valence'] >= 1) * 100:.0f}% at 1"
    )
    say("")
    say("Pearson correlations between whole-track scores")
    matrix = np.corrcoef(np.stack([scores[k] for k in labels]))
    short = [k[:6] for k in labels]
    say(" " * 18 + " ".join(f"{s:>6s}" for s in short))
    for k, line in zip(labels, matrix):
        say(f"{k:18s}" + " ".join(f"{x:6.2f}" for x in line))
    say("")
    valence = scores["valence"]
    t1, t2 = np.quantile(valence, [1 / 3, 2 / 3])
    order = np.argsort(valence)
    cum = np.cumsum(durations[order]) / durations.sum()
    d1 = valence[order][np.searchsorted(cum, 1 / 3)]
    d2 = valence[order][np.searchsorted(cum, 2 / 3)]

    def tercile(v):
        return np.digitize(v, [t1, t2])  # 0 negative, 1 neutral, 2 positive

    say("Per package (whole-track scores; neg/neu/pos = tracks per class at the track terciles)")
    say(
        f"{'package':20s} {'tracks':>6s} {'hours':>6s} {'val mean':>8s} {'val sd':>6s} {'val min':>7s}"
        f" {'val max':>7s} {'energy':>6s} {'neg':>4s} {'neu':>4s} {'pos':>4s}"
    )
    classes = tercile(valence)
    packages = sorted({manifest[r["path"]]["package"] for r in tracks})
    for package in packages:
        mask = np.array([manifest[r["path"]]["package"] == package for r in tracks])
        v = valence[mask]
        counts = np.bincount(classes[mask], minlength=3)
        say(
            f"{package:20s} {mask.sum():6d} {durations[mask].sum() / 3600:6.2f} {v.mean():8.3f} {v.std():6.3f}"
            f" {v.min():7.3f} {v.max():7.3f} {scores['energy'][mask].mean():6.3f}"
            f" {counts[0]:4d} {counts[1]:4d} {counts[2]:4d}"
        )
    say(
        "Mean energy per class: "
        + ", ".join(
            f"{name} {scores['energy'][classes == c].mean():.3f}"
            for c, name in enumerate(["negative", "neutral", "positive"])
        )
    )
    if len(windows):
        say("")
        say("Valence spread inside tracks (30-s windows): per-track std, quantiles 25/50/75/90 %")
        by_track: dict[str, list[float]] = {}
        for r in windows:
            by_track.setdefault(r["path"], []).append(float(r["valence"]))
        stds = np.array([np.std(v) for v in by_track.values() if len(v) > 1])
        if len(stds):
            say("  " + " ".join(f"{x:.3f}" for x in np.quantile(stds, [0.25, 0.5, 0.75, 0.9])))
        track_valence = {r["path"]: float(r["valence"]) for r in tracks}
        differs = np.mean([tercile(float(r["valence"])) != tercile(track_valence[r["path"]]) for r in windows])
        say(f"  {differs * 100:.0f}% of windows fall in another tercile class than their whole track")
    say("")
    say(f"Valence terciles over tracks: {t1:.3f} / {t2:.3f}")
    say(f"Valence terciles weighted by duration (= over 3-s slices with track labels): {d1:.3f} / {d2:.3f}")
    if len(win_valence):
        w1, w2 = np.quantile(win_valence, [1 / 3, 2 / 3])
        say(f"Valence terciles over 30-s windows: {w1:.3f} / {w2:.3f}")
    say("")
    say("Examples (package, track, valence, energy), sorted by valence")
    middle = len(order) // 2
    for idx in dict.fromkeys([*order[:8], *order[max(middle - 4, 0) : middle + 4], *order[-8:]]):
        r = tracks[idx]
        say(
            f"  {manifest[r['path']]['package']:18s} {r['path']:60s} {float(r['valence']):.3f} {float(r['energy']):.3f}"
        )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", type=Path, help="corpus folder holding manifest.csv")
    parser.add_argument("--venv", type=Path, help="teacher environment (default DEST/.teacher-venv)")
    parser.add_argument("--report-only", action="store_true", help="only print the report on existing labels")
    args = parser.parse_args()
    dest = args.dest.resolve()
    ensure_teacher_env((args.venv or dest / ".teacher-venv").resolve())
    if not args.report_only:
        label_corpus(dest)
    text = report(dest)
    (dest / "teacher_report.txt").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
