#!/usr/bin/env python3
"""Benchmark: `moodtui train` end to end (a real subprocess) after labelling full-length songs that
were never analysed, then again once they are analysed.

Goal (issue 11): 100 never-analysed full-length songs in <= 60 s on 2 cores, <= 15 s when they are
analysed. The songs are 20 synthesised 3.5-4.5-minute tracks (scripts/bench_tracks.py: mp3, ogg,
flac, opus), each copied five times with a different title tag, so 100 files with 100 different
fingerprints: every one is decoded and analysed (on the analysis pool). They are labelled with
`moodtui label FILE... MOOD` (about a third per mood). The baseline printed beside the figures is the bare cost of starting the job's
interpreter and importing TensorFlow/Keras/tf2onnx, measured in the same run.

    python scripts/bench_retrain.py [--songs 100] [--tracks DIR] [--model PATH]
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

sys.path.insert(0, os.fspath(Path(__file__).resolve().parent))

from bench_tracks import make_tracks  # noqa: E402

from moodtui import CLASSES  # noqa: E402


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd[:4])} ...\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.perf_counter() - t0, result.stdout


def copies(tracks: list[Path], count: int, folder: Path) -> list[Path]:
    """``count`` files made of ``tracks``, each copy with its own title tag (its own fingerprint)."""
    import mutagen

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        source = tracks[i % len(tracks)]
        target = folder / f"song{i:03d}{source.suffix}"
        shutil.copyfile(source, target)
        tags = mutagen.File(target, easy=True)
        if tags.tags is None:
            tags.add_tags()
        tags["title"] = f"copy {i} of {source.stem}" + " " * (i % 7)
        tags.save()
        out.append(target)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=100)
    parser.add_argument("--tracks", type=Path, default=Path(tempfile.gettempdir()) / "moodtui-bench-tracks")
    parser.add_argument("--model", type=Path, default=None, help="base model (default: the shipped one)")
    args = parser.parse_args()
    tracks = make_tracks(args.tracks, 20)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        songs = copies(tracks, args.songs, tmp / "songs")
        home = tmp / "home"
        env = dict(os.environ, MOODTUI_HOME=os.fspath(home))
        if args.model is not None:
            env["MOODTUI_BASE_MODEL"] = os.fspath(args.model)
        print(
            f"{len(songs)} full-length songs ({sum(p.stat().st_size for p in songs) / 1e6:.0f} MB); "
            f"cores: {os.cpu_count()}; load average at start: {os.getloadavg()[0]:.1f}"
        )
        baseline, _ = run([sys.executable, "-c", "import tensorflow, keras, tf2onnx"], env)
        print(f"baseline: interpreter + TensorFlow/Keras/tf2onnx import      {baseline:6.1f} s")
        by_label: dict[str, list[str]] = {c: [] for c in CLASSES}
        for i, song in enumerate(songs):
            # Copies of one track get different labels now and then: a listener, not an oracle.
            by_label[CLASSES[(i + i // 20) % 3]].append(os.fspath(song))
        label_s = 0.0
        for label, files in by_label.items():
            seconds, _ = run([sys.executable, "-m", "moodtui", "label", *files, label], env)
            label_s += seconds
        print(f"moodtui label FILE... MOOD (3 calls, {len(songs)} files)              {label_s:6.1f} s")
        cold, out = run([sys.executable, "-m", "moodtui", "train"], env)
        events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
        done = next(e for e in events if e["event"] == "done")
        print(
            f"moodtui train, never analysed (analyses them on the pool)   {cold:6.1f} s  (goal <= 60 s: "
            f"{'met' if cold <= 60 else 'NOT met'}; agreement {done.get('agreement', {}).get('song_agreement')})"
        )
        warm, _ = run([sys.executable, "-m", "moodtui", "train"], env)
        print(
            f"moodtui train, analysed (embeddings from the cache)         {warm:6.1f} s  (goal <= 15 s: "
            f"{'met' if warm <= 15 else 'NOT met'})"
        )
        print(
            f"ratios: cold/baseline {cold / baseline:.1f}x, warm/baseline {warm / baseline:.1f}x; "
            f"load average at end: {os.getloadavg()[0]:.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
