#!/usr/bin/env python3
"""Benchmark: end-to-end retrain time (`moodtui train`, a real subprocess) for 10 / 50 / 100 labelled songs.

Goal (issue 5): 100 songs in at most 60 s on this 2-core machine. Songs are synthesised 30-s
tracks. Two cases per size:

* warm: the songs were already analysed (as in the player, whose background analysis caches
  every song's embeddings); this is what pressing R costs.
* cold: empty cache, the job decodes and analyses every labelled song itself.

The baseline printed beside them is the bare cost of starting the job's interpreter and
importing TensorFlow, measured in the same run.

    python scripts/bench_retrain.py [--sizes 10 50 100] [--model PATH]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.fspath(Path(__file__).resolve().parent.parent / "tests"))

from audio_factory import write_song  # noqa: E402
from moodtui import CLASSES  # noqa: E402


def run(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{result.stderr[-2000:]}")
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--model", type=Path, default=None, help="base model (default: the shipped one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        songs = [write_song(tmp / "songs" / f"{CLASSES[i % 3]}{i}.ogg", CLASSES[i % 3], 30.0, seed=i)
                 for i in range(max(args.sizes))]
        env = dict(os.environ)
        if args.model is not None:
            env["MOODTUI_BASE_MODEL"] = os.fspath(args.model)
        baseline = run([sys.executable, "-c", "import tensorflow, keras, tf2onnx"], env)
        print(f"baseline: interpreter + TensorFlow/Keras/tf2onnx import: {baseline:.1f} s")
        print(f"{'songs':>6} {'cold (s)':>9} {'warm (s)':>9} {'warm/baseline':>14}")
        for size in args.sizes:
            times = {}
            for case in ("cold", "warm"):
                home = tmp / f"home-{size}-{case}"
                home.mkdir()
                env_case = dict(env, MOODTUI_HOME=os.fspath(home))
                from moodtui.store import LabelStore

                store = LabelStore(home / "labels.json")
                for i, song in enumerate(songs[:size]):
                    # Labels that disagree with the sound for a third of the songs: a listener, not an oracle.
                    store.add_label(song, CLASSES[(i + (i % 3 == 0)) % 3])
                if case == "warm":
                    run([sys.executable, "-m", "moodtui", "predict", *map(os.fspath, songs[:size])], env_case)
                times[case] = run([sys.executable, "-m", "moodtui", "train"], env_case)
            print(f"{size:>6} {times['cold']:>9.1f} {times['warm']:>9.1f} {times['warm'] / baseline:>13.1f}x")
    print("goal: 100 songs (warm, as in the player) in <= 60 s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
