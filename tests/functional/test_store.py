"""The label store shared by real processes: another process's label is seen, two writers lose
nothing, kill -9 corrupts nothing, a held lock times out naming its holder.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from audio_factory import write_noise
from moodtui.errors import MoodtuiError
from moodtui.listener.labels import LABELS_FILE_NAME, LabelStore

REPO_DIR = Path(__file__).resolve().parents[2]


def python_process(script: str, *args: str, **popen_args) -> subprocess.Popen:
    """A real Python child process running ``script`` with this checkout importable."""
    env = dict(os.environ, PYTHONPATH=str(REPO_DIR))
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], env=env, text=True, stdout=subprocess.PIPE, **popen_args
    )


def test_a_label_written_by_another_process_is_seen(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    song = write_noise(tmp_path / "a.wav", seconds=1.0)
    store = LabelStore(db)
    store.add_label(song, "positive")
    assert store.label_for(song).label == "positive"  # now held in memory
    writer = python_process(
        "import sys; from moodtui.listener.labels import LabelStore; "
        "LabelStore(sys.argv[1]).add_label(sys.argv[2], 'negative')",
        str(db),
        str(song),
    )
    assert writer.wait(timeout=30) == 0
    assert store.label_for(song).label == "negative"


WRITER = """
import sys, time
from moodtui.listener.labels import LabelStore
store = LabelStore(sys.argv[1], lock_timeout=30)
name, count = sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()  # start together
for i in range(count):
    store.add_label(f"/music/{name}-{i}.mp3", "positive", fingerprint=f"{name}-{i}")
    time.sleep(0.003)  # a listener's pace, however fast: lets the other writer take the lock
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    count = 40
    writers = [python_process(WRITER, str(db), name, str(count), stdin=subprocess.PIPE) for name in ("a", "b")]
    for writer in writers:
        assert writer.stdout.readline().strip() == "ready"
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()
    reads = 0
    while any(writer.poll() is None for writer in writers):
        raw = db.read_bytes() if db.exists() else b""
        if raw:
            json.loads(raw)  # a reader never sees a partial file
            reads += 1
    assert [writer.wait() for writer in writers] == [0, 0]
    assert reads > 0

    history = LabelStore(db).history()
    assert sorted(r.fingerprint for r in history) == sorted(f"{n}-{i}" for n in "ab" for i in range(count))
    assert [r.id for r in history] == list(range(1, 2 * count + 1))
    # The writers really interleaved (otherwise this test would prove little).
    names = [r.fingerprint[0] for r in history]
    assert sum(1 for x, y in zip(names, names[1:]) if x != y) > 1


KILLED_WRITER = """
import sys, time
from moodtui.listener.labels import LabelStore
store = LabelStore(sys.argv[1])
n = len(store.history())
print("ready", flush=True)
while True:
    store.add_label(f"/music/{n}.mp3", ("positive", "neutral", "negative")[n % 3], fingerprint=f"fp-{n}")
    print(n, flush=True)
    n += 1
"""


def test_kill_9_during_writes_never_corrupts_the_database(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    rng = random.Random(5)
    present = 0  # writes found in the database after the previous kill
    for _ in range(20):
        writer = python_process(KILLED_WRITER, str(db))
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.08))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        done = [int(line) for line in writer.stdout.read().split()]
        writer.stdout.close()
        acknowledged = done[-1] + 1 if done else present
        if not db.exists():
            # Killed before its first write finished (a loaded machine is slow to start): nothing
            # was acknowledged, so nothing may be missing.
            assert acknowledged == 0, acknowledged
            continue

        json.loads(db.read_bytes())
        store = LabelStore(db)
        assert store.recovered_from is None
        written = [r.fingerprint for r in store.history()]
        # A prefix of the writes: every acknowledged one, in order, plus at most the one in flight.
        assert written == [f"fp-{n}" for n in range(len(written))]
        assert acknowledged <= len(written) <= acknowledged + 1
        present = len(written)
    assert present > 20  # the writers really were writing when killed
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 1  # each writer removes temporary files of killed ones


LOCK_HOLDER = """
import sys, time
from moodtui.listener.labels import LabelStore
store = LabelStore(sys.argv[1])
with store._locked():
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_held_lock_times_out_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    holder = python_process(LOCK_HOLDER, str(db))
    try:
        assert holder.stdout.readline().strip() == "held"
        store = LabelStore(db, lock_timeout=0.3)
        with pytest.raises(MoodtuiError) as raised:
            store.add_label("/music/a.mp3", "positive", fingerprint="f")
        assert str(raised.value) == (f"labels database {db} is locked by another moodtui process (pid {holder.pid})")
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    # The kernel released the dead holder's lock.
    assert store.add_label("/music/a.mp3", "positive", fingerprint="f").id == 1
