#!/usr/bin/env python3
"""Benchmark: `moodtui analyse` of a library of full-length tracks on the analysis pool, against a
single-process decode-only pass over the same files (measured in the same run).

Goal (issue 11): analysis with 2 worker processes / decode alone on one core <= 1.0 (using both
cores, analysing a library costs no more wall time than merely decoding it on one). Also prints
files/s, the estimated first-analysis time of a 10,000-track library at that rate (scaled by the
mean track length to 4-minute tracks), and the peak memory of the pool (the sum of the resident
set of the moodtui process and its workers, sampled every 0.1 s).

    python scripts/bench_analyse.py [--tracks DIR] [--count 20] [--workers 2]

The tracks are synthesised by scripts/bench_tracks.py (mp3, ogg, flac, opus; 3.5-4.5 minutes).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.fspath(Path(__file__).resolve().parent))

from bench_tracks import make_tracks  # noqa: E402

from moodtui.audio.decode import SAMPLE_RATE, decode_blocks  # noqa: E402
from moodtui.mood.analysis import BLOCK_SLICES  # noqa: E402
from moodtui.mood.features import SLICE_SAMPLES  # noqa: E402

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def tree(root: int) -> tuple[int, dict[int, float]]:
    """Resident set (kB) of ``root`` and every descendant, and each one's CPU seconds (from /proc)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields.get("PPid", "0").strip()), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parts = stat.read().rsplit(")", 1)[1].split()
            cpu[pid] = (int(parts[11]) + int(parts[12])) / CLOCK_TICKS  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    total, seen, stack = 0, {}, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        seen[pid] = cpu.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total, seen


def uncompiled(modules: list[str]) -> list[str]:
    """Those of ``modules`` whose bytecode is not cached next to their source.

    A pip-installed moodtui has its dependencies' bytecode (pip compiles at install). A tree
    installed without it, run with PYTHONDONTWRITEBYTECODE=1 (this sandbox), compiles scipy,
    onnxruntime, rich and moodtui from source in every process the command starts: about 0.7 s
    each in the main process, the fork server and the workers. Measured (ninth session): that made
    the wall ratio 0.93-1.11 instead of 0.74-0.87.
    """
    import importlib.util

    missing = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec else None
        if origin and origin.endswith(".py") and not os.path.exists(importlib.util.cache_from_source(origin)):
            missing.append(name)
    return missing


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=Path, default=Path(tempfile.gettempdir()) / "moodtui-bench-tracks")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    paths = make_tracks(args.tracks, args.count)
    if missing := uncompiled(["scipy.fft", "onnxruntime", "rich.console", "moodtui.mood.analysis"]):
        print(
            f"note: no cached bytecode for {', '.join(missing)}: every process of the command compiles them "
            "at start, which an installed moodtui does not (pip compiles at install). To measure what a "
            "user gets: python -m compileall -q <site-packages> moodtui"
        )
    library = Path(tempfile.mkdtemp(prefix="bench-analyse-"))
    for path in paths:  # a folder of exactly these files
        os.link(path, library / path.name) if path.stat().st_dev == library.stat().st_dev else (
            library / path.name
        ).write_bytes(path.read_bytes())
    print(
        f"{len(paths)} tracks ({', '.join(sorted({p.suffix[1:] for p in paths}))}); "
        f"cores: {os.cpu_count()}; load average at start: {load()}"
    )

    # Baseline: decode alone, one process, one file after the other (page cache warm for both).
    for path in paths:
        path.read_bytes()
    t0, c0 = time.perf_counter(), time.process_time()
    samples = 0
    for path in paths:
        for block in decode_blocks(path, BLOCK_SLICES * SLICE_SAMPLES):
            samples += block.size
    decode_s, decode_cpu = time.perf_counter() - t0, time.process_time() - c0
    audio_s = samples / SAMPLE_RATE
    print(
        f"decode only, 1 process      {decode_s:7.1f} s  ({audio_s / 60:.0f} min of audio, "
        f"{audio_s / decode_s:.0f}x real time; {decode_cpu:.1f} s CPU)"
    )

    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, MOODTUI_HOME=home)
        peak = 0
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "moodtui", "analyse", "--workers", str(args.workers), os.fspath(library)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        done = threading.Event()

        cpu_seen: dict[int, float] = {}

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                rss, cpu = tree(proc.pid)
                peak = max(peak, rss)
                cpu_seen.update(cpu)  # the last figure seen of each process, alive or since gone
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        out, err = proc.communicate()
        analyse_s = time.perf_counter() - t0
        done.set()
        sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"moodtui analyse failed ({proc.returncode}):\n{out}\n{err[-2000:]}")
    print(
        f"moodtui analyse, {args.workers} workers  {analyse_s:7.1f} s  ({len(paths) / analyse_s:.2f} files/s, "
        f"{audio_s / analyse_s:.0f}x real time; whole command incl. start-up)"
    )
    print(f"  its summary: {out.strip().splitlines()[0]}")
    analyse_cpu = sum(cpu_seen.values())
    print(f"  CPU of moodtui + fork server + workers: {analyse_cpu:.1f} s ({len(cpu_seen)} processes)")
    ratio = analyse_s / decode_s
    print(
        f"ratio analyse/decode-only   {ratio:7.2f}   wall, as measured (goal <= 1.00: "
        f"{'met' if ratio <= 1.0 else 'NOT met'})"
    )
    # On a shared machine the wall times mostly measure the other load; the CPU seconds do not.
    cpu_ratio = analyse_cpu / args.workers / decode_cpu
    print(
        f"ratio from CPU time         {cpu_ratio:7.2f}   (analyse CPU / {args.workers} cores over decode CPU: the "
        f"wall ratio on an otherwise idle machine)"
    )
    per_4min = analyse_s / (audio_s / 240.0)
    estimate_h = 10_000 * per_4min / 3600
    print(
        f"10,000 tracks of 4 min at this rate: {estimate_h:.1f} h "
        f"({per_4min:.2f} s per 4-min track on {args.workers} workers)"
    )
    idle_h = 10_000 * (analyse_cpu / (audio_s / 240.0)) / args.workers / 3600
    print(f"10,000 tracks of 4 min from the CPU time on {args.workers} otherwise idle cores: {idle_h:.1f} h")
    print(f"peak memory of the pool (moodtui + workers + fork server): {peak / 1024:.0f} MB")
    print(f"load average at end: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
