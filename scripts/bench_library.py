#!/usr/bin/env python3
"""Library scan benchmark: cold scan (tags read, index written) vs warm scan (index cached).

The warm scan opens a new LibraryIndex on the same cache file, as a second start of moodtui does.
Both scans run on files already in the OS page cache (the generator just wrote them, or the
no-index scan read them), so the ratio measures tag reading against the index, not the disk.

    python scripts/bench_library.py                 # generates 10,000 files in a temp folder
    python scripts/bench_library.py --library DIR   # an existing library
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # make_big_library, next to this file

from make_big_library import make_library  # noqa: E402

from moodtui.library.scan import LibraryIndex, ScanStats, scan  # noqa: E402
from moodtui.sqlite_cache import Cache  # noqa: E402


def timed_scan(library: Path, index: LibraryIndex | None) -> tuple[float, float, ScanStats]:
    """(total seconds, seconds to the first batch, stats) of one complete scan."""
    stats = ScanStats()
    start = time.perf_counter()
    first_batch_s = 0.0
    for batch_number, _batch in enumerate(scan(library, index, stats=stats)):
        if batch_number == 0:
            first_batch_s = time.perf_counter() - start
    return time.perf_counter() - start, first_batch_s, stats


def report(name: str, seconds: float, first_batch_s: float, stats: ScanStats) -> None:
    print(
        f"{name:<22} {seconds:8.3f} s  {stats.files / seconds:10,.0f} files/s  "
        f"first batch {first_batch_s * 1000:6.1f} ms  tag reads {stats.tag_reads}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, help="library to scan (default: generate one)")
    parser.add_argument("--count", type=int, default=10_000, help="files to generate (default 10000)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="moodtui-bench-") as temp:
        library = args.library
        if library is None:
            library = Path(temp) / "library"
            start = time.perf_counter()
            make_library(library, args.count)
            print(f"generated {args.count} files in {time.perf_counter() - start:.1f} s")
        cache_path = Path(temp) / "cache.sqlite"

        no_index = timed_scan(library, None)
        cold = timed_scan(library, LibraryIndex(Cache(cache_path)))
        warm = timed_scan(library, LibraryIndex(Cache(cache_path)))
        assert warm[2].tag_reads == 0, "the warm scan should read no tags"

        print(f"library: {library} ({cold[2].files} audio files)")
        report("scan without index", *no_index)
        report("cold scan (index fill)", *cold)
        report("warm scan (indexed)", *warm)
        print(f"warm scan is {cold[0] / warm[0]:.1f}x faster than the cold scan")
    return 0


if __name__ == "__main__":
    sys.exit(main())
