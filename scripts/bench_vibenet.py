#!/usr/bin/env python3
"""Benchmark: `moodtui predict` on 10 full-length tracks against `vibenet` (the peer a listener could
run instead, a 4.4 M-parameter network scoring whole tracks) on the same tracks, in the same run,
each with its default threads / processes, each from a cold start (a fresh interpreter, an empty
moodtui cache).

Goal (issue 11): moodtui / vibenet <= 0.5.

VibeNet is never a dependency of moodtui: give the `vibenet` executable of a separate virtual
environment (`python -m venv V && V/bin/pip install vibenet==0.1.0`, a scratch venv for this
benchmark only) with --vibenet, or have it on the PATH.

    python scripts/bench_vibenet.py [--vibenet PATH] [--tracks DIR] [--count 10] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.fspath(Path(__file__).resolve().parent))

from bench_tracks import make_tracks  # noqa: E402


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"failed: {cmd[0]} ...\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}")
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vibenet", default=shutil.which("vibenet") or "/work/teachers/vibenet-venv/bin/vibenet")
    parser.add_argument("--tracks", type=Path, default=Path(tempfile.gettempdir()) / "moodtui-bench-tracks")
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each (best taken), alternating")
    args = parser.parse_args()
    if not Path(args.vibenet).is_file():
        raise SystemExit(f"no vibenet executable at {args.vibenet}: see --help")
    tracks = [os.fspath(p) for p in make_tracks(args.tracks, args.count)]
    print(f"{len(tracks)} tracks; cores: {os.cpu_count()}; load average at start: {os.getloadavg()[0]:.1f}")
    moodtui_s, vibenet_s = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, MOODTUI_HOME=home)
            moodtui_s.append(timed([sys.executable, "-m", "moodtui", "predict", "--json", *tracks], env))
        vibenet_s.append(timed([args.vibenet, "-f", "json", "-q", *tracks], dict(os.environ)))
    m, v = min(moodtui_s), min(vibenet_s)
    print(
        f"moodtui predict --json (pool, default workers)  {m:6.1f} s  (runs: {', '.join(f'{x:.1f}' for x in moodtui_s)})"
    )
    print(
        f"vibenet -f json (default threads)               {v:6.1f} s  (runs: {', '.join(f'{x:.1f}' for x in vibenet_s)})"
    )
    ratio = m / v
    print(
        f"ratio moodtui/vibenet {ratio:.2f}x  (goal <= 0.50: {'met' if ratio <= 0.5 else 'NOT met'}); "
        f"load average at end: {os.getloadavg()[0]:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
