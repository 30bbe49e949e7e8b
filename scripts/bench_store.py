"""Benchmark the label store and the content fingerprint against plain baselines.

    python scripts/bench_store.py [--labels 2000] [--file-mb 200]

Prints, each with a baseline measured in the same run:
- add_label (lock + re-read + atomic write + fsync) vs a plain TinyDB insert (in-place, unlocked),
  both on a database already holding ``--labels`` labels;
- label_for per track (the TUI's pattern, fingerprint known) vs a TinyDB query per track;
- fingerprint of a ``--file-mb`` MB file vs hashing the whole file with blake2b (warm page cache).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

from tinydb import Query, TinyDB

from moodtui import CLASSES
from moodtui.listener.identity import fingerprint
from moodtui.listener.labels import LabelStore


def per_call_ms(function, calls: int) -> float:
    start = time.perf_counter()
    for index in range(calls):
        function(index)
    return (time.perf_counter() - start) / calls * 1000


def document(index: int) -> dict:
    return {
        "path": f"/music/artist {index % 97}/album {index % 13}/track {index}.mp3",
        "fingerprint": f"{index:032x}",
        "label": CLASSES[index % 3],
        "labelled_at": "2025-01-01T12:00:00.000+00:00",
        "model_version": "v1",
        "model_probs": {"positive": 0.5, "neutral": 0.3, "negative": 0.2},
        "undone_at": None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=2000, help="labels already in the database")
    parser.add_argument("--file-mb", type=int, default=200, help="size of the file to fingerprint")
    args = parser.parse_args()
    count, writes = args.labels, 50

    with tempfile.TemporaryDirectory() as folder:
        folder_path = Path(folder)
        # Both databases start with the same `count` labels, written in one go.
        plain = TinyDB(folder_path / "plain.json")
        plain.table("labels").insert_multiple(document(i) for i in range(count))
        (folder_path / "labels.json").write_bytes((folder_path / "plain.json").read_bytes())
        store = LabelStore(folder_path / "labels.json")

        def add(index: int) -> None:
            probs = [0.5, 0.3, 0.2]
            store.add_label(f"/new/{index}.mp3", "positive", fingerprint=f"new-{index}", model_probs=probs)

        ours = per_call_ms(add, writes)
        table = plain.table("labels")
        baseline = per_call_ms(lambda i: table.insert(document(count + i)), writes)
        print(
            f"add_label with {count} labels: {ours:.2f} ms; plain TinyDB insert {baseline:.2f} ms; "
            f"ratio {ours / baseline:.2f}x (the price of fsync, lock and atomic replace)"
        )

        lookups = min(count, 500)
        ours = per_call_ms(lambda i: store.label_for(f"/elsewhere/{i}.mp3", fingerprint=f"{i:032x}"), lookups)
        song = Query()
        baseline = per_call_ms(lambda i: table.get(song.fingerprint == f"{i:032x}"), lookups)
        print(
            f"label_for per track ({count} labels): {ours * 1000:.1f} us; "
            f"TinyDB query {baseline * 1000:.1f} us; ratio {baseline / ours:.0f}x faster"
        )
        plain.close()

        big = folder_path / "big.bin"
        with open(big, "wb") as handle:
            block = os.urandom(1024 * 1024)
            for _ in range(args.file_mb):
                handle.write(block)
        ours = per_call_ms(lambda i: fingerprint(big), 20)
        start = time.perf_counter()
        with open(big, "rb") as handle:
            digest = hashlib.blake2b(digest_size=16)
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
        baseline = (time.perf_counter() - start) * 1000
        print(
            f"fingerprint of a {args.file_mb} MB file: {ours:.3f} ms; "
            f"whole-file blake2b {baseline:.1f} ms; ratio {baseline / ours:.0f}x faster (warm page cache)"
        )


if __name__ == "__main__":
    main()
