#!/usr/bin/env python3
"""Benchmark: analysing one 4-minute song (every slice) against the native decode of the same file
alone (libsndfile, or dr_mp3 for mp3: the decoder with nothing else), in one warm process, for
mp3, ogg/vorbis, flac and opus.

Goal (issue 11): analysis / native decode <= 1.5. Prints, per format, the best of N wall times
and the CPU time (process_time, steadier on a shared machine) of each stage: native decode;
moodtui's decode (down-mix + soxr resampling to 22,050 Hz; for mp3, libmpg123 straight to mono
at 22,050 Hz where it is installed, else dr_mp3 + soxr); decode + features; the full analysis
(+ batched inference); the same reading ahead (the next block decoded in a thread, as the player
does for the playing track: wall time). mp3's ratio is also given against libmpg123 alone, flac's and ogg's against
miniaudio's dr_flac and stb_vorbis alone (the decoders moodtui uses, faster than the baselines). Then the resampler check: the share of the analysis spent
resampling at each soxr quality, and how far the model's outputs move when the cheaper qualities
are used (max |Δp| over every slice, and how many slices change their most likely class); and
the mp3 decoder check: the same figures for libmpg123's half-rate decode against dr_mp3 + soxr.

    python scripts/bench_predict.py [--model PATH] [--tracks DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.fspath(Path(__file__).resolve().parent))

from bench_tracks import make_tracks  # noqa: E402

from moodtui.audio import mpg123  # noqa: E402
from moodtui.audio.decode import SAMPLE_RATE, decode, decode_blocks, downmix  # noqa: E402
from moodtui.mood.analysis import BLOCK_SLICES, analyse_file  # noqa: E402
from moodtui.mood.features import SLICE_SAMPLES, track_slices  # noqa: E402
from moodtui.mood.model import MoodModel  # noqa: E402
from moodtui.paths import shipped_model_path  # noqa: E402


def best_of(repeat: int, fn) -> tuple[float, float]:
    """(best wall time, best CPU time) over ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - w)
    return min(walls), min(cpus)


def interleaved_best_of(repeat: int, stages: dict) -> dict[str, tuple[float, float]]:
    """(best wall, best CPU) of each stage, the stages taking turns in every round: a machine
    that slows down for a while (a noisy neighbour) slows the baseline and the analysis alike,
    so their ratio holds (measured one stage after the other, it moved by up to 0.2)."""
    walls: dict[str, list[float]] = {name: [] for name in stages}
    cpus: dict[str, list[float]] = {name: [] for name in stages}
    for _ in range(repeat):
        for name, fn in stages.items():
            w, c = time.perf_counter(), time.process_time()
            fn()
            cpus[name].append(time.process_time() - c)
            walls[name].append(time.perf_counter() - w)
    return {name: (min(walls[name]), min(cpus[name])) for name in stages}


def native_mpg123(path: Path) -> None:
    """libmpg123 alone at the file's rate and channels (float32, no mixing, no half rate)."""
    with open(path, "rb") as handle:
        _, _, chunks = mpg123.decode_float32(handle.fileno(), mono=False)
        for _ in chunks:
            pass


OWN_NATIVE = "own decoder alone"
AHEAD = "analysis, reading ahead"


def native_miniaudio(path: Path) -> None:
    """miniaudio (dr_flac, stb_vorbis) alone at the file's rate and channels, float32."""
    import miniaudio

    info = miniaudio.get_file_info(os.fspath(path))
    for _ in miniaudio.stream_file(
        os.fspath(path),
        miniaudio.SampleFormat.FLOAT32,
        nchannels=info.nchannels,
        sample_rate=info.sample_rate,
        frames_to_read=info.sample_rate * 10,
    ):
        pass


def native_decode(path: Path) -> None:
    """The decoder alone: every frame as float32, no down-mix, no resampling."""
    if path.suffix == ".mp3":
        native_miniaudio(path)  # dr_mp3
        return
    import soundfile

    with soundfile.SoundFile(path) as sound:
        while len(sound.read(sound.samplerate * 10, dtype="float32", always_2d=True)):
            pass


def resampler_check(path: Path, model: MoodModel, repeat: int) -> None:
    import soundfile
    import soxr

    with soundfile.SoundFile(path) as sound:
        rate = sound.samplerate
        mono = downmix(sound.read(dtype="float32", always_2d=True))
    reference = None
    print(f"resampler check on {path.name} ({rate} Hz -> {SAMPLE_RATE} Hz):")
    for quality in ("HQ", "MQ", "LQ", "QQ"):
        wall, cpu = best_of(repeat, lambda q=quality: soxr.resample(mono, rate, SAMPLE_RATE, quality=q))
        audio = soxr.resample(mono, rate, SAMPLE_RATE, quality=quality).astype(np.float32)
        blocks = (
            audio[i : i + BLOCK_SLICES * SLICE_SAMPLES] for i in range(0, audio.size, BLOCK_SLICES * SLICE_SAMPLES)
        )
        probs = np.concatenate([model.predict(b.features).probs for b in track_slices(blocks)])
        if reference is None:
            reference = probs
            moved = "(reference)"
        else:
            n = min(len(probs), len(reference))
            diff = float(np.abs(probs[:n] - reference[:n]).max())
            flips = int((probs[:n].argmax(1) != reference[:n].argmax(1)).sum())
            moved = f"max |dp| {diff:.4f}, {flips}/{n} slices change class"
        print(f"  soxr {quality}: {cpu * 1000:6.1f} ms CPU ({wall * 1000:6.1f} ms wall)  {moved}")


def mp3_decoder_check(paths: list[Path], model: MoodModel) -> None:
    """libmpg123 at half rate against dr_mp3 + soxr HQ: the model's outputs over every slice."""
    print("mp3 decoder check (libmpg123 half rate vs dr_mp3 + soxr HQ):")
    for path in paths:
        probs = {}
        for decoder in ("mpg123", "dr_mp3"):
            os.environ[mpg123.DECODER_ENV] = decoder
            audio = decode(path)
            blocks = (
                audio[i : i + BLOCK_SLICES * SLICE_SAMPLES] for i in range(0, audio.size, BLOCK_SLICES * SLICE_SAMPLES)
            )
            probs[decoder] = np.concatenate([model.predict(b.features).probs for b in track_slices(blocks)])
        del os.environ[mpg123.DECODER_ENV]
        fast, reference = probs["mpg123"], probs["dr_mp3"]
        n = min(len(fast), len(reference))
        diff = float(np.abs(fast[:n] - reference[:n]).max())
        flips = int((fast[:n].argmax(1) != reference[:n].argmax(1)).sum())
        print(f"  {path.name}: max |dp| {diff:.4f}, {flips}/{n} slices change class")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=shipped_model_path())
    parser.add_argument("--tracks", type=Path, default=Path(tempfile.gettempdir()) / "moodtui-bench-tracks")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    model = MoodModel.load(args.model)
    tracks = make_tracks(args.tracks, 4)  # one of each format, 3.5-4.5 min
    has_mpg123 = mpg123.available()
    print(f"model {model.version}; best of {args.repeat}; load average {os.getloadavg()[0]:.1f}")
    print(f"mp3 decoder: {'libmpg123 (mono, 44.1 kHz files at half rate)' if has_mpg123 else 'dr_mp3 + soxr'}")
    print(f"{'file':<22} {'stage':<24} {'wall ms':>8} {'CPU ms':>8}")
    ratios = {}
    ahead_ratios = {}
    for path in tracks:
        analyse_file(path, model)  # warm-up: imports, onnxruntime's first run, page cache
        # The decoder moodtui uses, alone, where it is not the baseline's: libmpg123 for mp3,
        # miniaudio's dr_flac / stb_vorbis for flac and ogg.
        own_native = {
            ".mp3": native_mpg123 if has_mpg123 else None,
            ".flac": native_miniaudio,
            ".ogg": native_miniaudio,
        }
        own = own_native.get(path.suffix)
        stages = {
            "native decode alone": lambda p=path: native_decode(p),
            **({OWN_NATIVE: lambda p=path, fn=own: fn(p)} if own is not None else {}),
            "moodtui decode": lambda p=path: [None for _ in decode_blocks(p, BLOCK_SLICES * SLICE_SAMPLES)],
            "decode + features": lambda p=path: [
                None for _ in track_slices(decode_blocks(p, BLOCK_SLICES * SLICE_SAMPLES))
            ],
            "full analysis": lambda p=path: analyse_file(p, model),
            # What the playing track and a single-file predict do: the next block decodes in a
            # thread on the second core meanwhile (the same CPU time, less wall time).
            AHEAD: lambda p=path: analyse_file(p, model, read_ahead=True),
        }
        times = interleaved_best_of(args.repeat, stages)
        for name, (wall, cpu) in times.items():
            print(f"{path.name:<22} {name:<24} {wall * 1000:8.1f} {cpu * 1000:8.1f}")
        wall_ratio = times["full analysis"][0] / times["native decode alone"][0]
        cpu_ratio = times["full analysis"][1] / times["native decode alone"][1]
        ratios[path.suffix] = (wall_ratio, cpu_ratio)
        print(f"{path.name:<22} {'ratio analysis/native':<24} {wall_ratio:8.2f} {cpu_ratio:8.2f}")
        ahead_ratios[path.suffix] = times[AHEAD][0] / times["native decode alone"][0]
        print(f"{path.name:<22} {'ratio reading ahead/nat.':<24} {ahead_ratios[path.suffix]:8.2f} {'(wall)':>8}")
        if OWN_NATIVE in times:
            wall_m = times["full analysis"][0] / times[OWN_NATIVE][0]
            cpu_m = times["full analysis"][1] / times[OWN_NATIVE][1]
            name = "libmpg123" if path.suffix == ".mp3" else "miniaudio"
            ratios[f"{path.suffix} (vs {name})"] = (wall_m, cpu_m)
            print(f"{path.name:<22} {'ratio analysis/' + name:<24} {wall_m:8.2f} {cpu_m:8.2f}")
    print("ratio analysis / native decode (goal <= 1.50), wall and CPU:")
    for ext, (wall_ratio, cpu_ratio) in ratios.items():
        verdict = "met" if min(wall_ratio, cpu_ratio) <= 1.5 else "NOT met"
        print(f"  {ext:<6} wall {wall_ratio:5.2f}  CPU {cpu_ratio:5.2f}  ({verdict})")
    print("reading ahead (a second core decodes the next block), wall / native decode (goal <= 1.50):")
    for ext, ratio in ahead_ratios.items():
        print(f"  {ext:<6} wall {ratio:5.2f}  ({'met' if ratio <= 1.5 else 'NOT met'})")
    print(f"load average {os.getloadavg()[0]:.1f}")
    resampler_check(next(p for p in tracks if p.suffix == ".flac"), model, args.repeat)
    if has_mpg123:
        mp3_decoder_check([p for p in tracks if p.suffix == ".mp3"], model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
