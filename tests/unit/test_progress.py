"""The training job's progress events: what the job prints is what the player reads back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from moodtui.listener.progress import (
    DataSplit,
    EpochEnded,
    FeaturesRead,
    JobDone,
    JobFailed,
    JobStarted,
    ModelExported,
    SongSkipped,
    from_line,
    to_line,
)

EVENTS = [
    JobStarted(mode="personal", songs=6, version="20261201-120000"),
    SongSkipped(path="broken.mp3", reason="broken.mp3: not a readable mp3 file"),
    FeaturesRead(done=3, total=6),
    DataSplit(train_songs=80, val_songs=20, train_slices=1600, val_slices=400, aux=["energy"]),
    EpochEnded(epoch=2, epochs=12, loss=0.51, accuracy=0.8, seconds=1.5, val_song_accuracy=0.7),
    EpochEnded(epoch=1, epochs=40, loss=0.9),
    ModelExported(max_abs_diff=3e-6),
    JobDone(version="v", path="/m/v/model.onnx", seconds=4.2, agreement={"song_agreement": 0.75, "songs": 6}),
    JobFailed(message="only 1 labelled song(s): label at least 3 songs"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_every_event_reads_back_equal_from_its_line(event):
    line = to_line(event)
    assert "\n" not in line
    assert json.loads(line)["event"] == event.kind
    assert from_line(line + "\n") == event


def test_the_wire_format_is_the_documented_json_line():
    line = to_line(EpochEnded(epoch=np.int64(3), epochs=12, loss=np.float32(0.5)))
    # Fields left at None are left out; numpy scalars become plain numbers.
    assert json.loads(line) == {"event": "epoch", "epoch": 3, "epochs": 12, "loss": 0.5}


@pytest.mark.parametrize(
    "line",
    [
        "",
        "WARNING: something from a library",
        "{not json",
        '["a list"]',
        '{"event": "no-such-event", "x": 1}',
        '{"event": "epoch", "epoch": 1}',  # a required field is missing
        '{"message": "no kind"}',
    ],
)
def test_other_lines_are_not_events(line):
    assert from_line(line) is None


def test_a_field_added_by_a_newer_job_is_ignored():
    assert from_line('{"event": "features", "done": 1, "total": 2, "eta_s": 9}') == FeaturesRead(1, 2)


def test_done_gives_the_held_out_agreement_when_measured():
    assert EVENTS[7].song_agreement == 0.75
    assert JobDone(version="v", path="p", seconds=1.0).song_agreement is None
