"""Words the player shows, built outside the UI (no Textual): retrain stages and results, folders, playlists."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodtui.errors import MoodtuiError
from moodtui.library.playlist import export_to_playlists
from moodtui.listener.progress import EpochEnded, FeaturesRead, HeadTried, JobStarted, ModelExported
from moodtui.listener.retrain import RetrainResult, stage_fraction, stage_words
from moodtui.text import short_path


def test_retrain_stages_in_words_and_as_a_fraction() -> None:
    stage = "retrain: starting"
    words = []
    for event in (
        JobStarted("personal", 12, "v2"),
        FeaturesRead(3, 12),
        EpochEnded(2, 5, 0.3),
        HeadTried(1, 4),
        DataSplitLike(),
        ModelExported(1e-6),
    ):
        stage = stage_words(event, stage)  # type: ignore[arg-type]
        words.append(stage)
    assert words == [
        "retrain: 12 labelled songs",
        "retrain: reading your songs",
        "retrain: epoch 2/5",
        "retrain: trying head 1/4 on held-out songs",
        "retrain: trying head 1/4 on held-out songs",  # an event without words keeps the stage
        "retrain: exporting the model",
    ]
    assert stage_fraction(EpochEnded(2, 5, 0.3)) == (2, 5)
    assert stage_fraction(HeadTried(3, 4)) == (3, 4)
    assert stage_fraction(EpochEnded(1, 0, 0.3)) is None and stage_fraction(FeaturesRead(1, 2)) is None


class DataSplitLike:
    """An event the status line has no words for."""


def test_the_switch_notice_says_how_the_new_model_did() -> None:
    assert RetrainResult(True, "v2", "done", 0.75).switch_notice() == (
        "new model v2: agrees with you on 75% of held-out songs"
    )
    assert RetrainResult(True, "v2", "done", None).switch_notice() == "new model v2: no held-out agreement figure"
    guarded = RetrainResult(True, "v2", "the new model agrees with 8 of your 9 songs", 0.9, guard={"songs": 9})
    assert guarded.switch_notice() == "new model v2: the new model agrees with 8 of your 9 songs"


def test_a_folder_below_home_is_written_with_a_tilde() -> None:
    assert short_path(Path.home() / "Music") == "~/Music"
    assert short_path(Path("/srv/music")) == "/srv/music"


def test_an_exported_list_lands_in_the_playlists_folder_and_a_failure_is_one_line(tmp_path: Path) -> None:
    song = tmp_path / "song.ogg"
    song.write_bytes(b"x")
    output = export_to_playlists([(song, 61.4, "Song")], "positive", home=tmp_path)
    assert output.parent == tmp_path / "playlists" and output.name.startswith("positive-")
    assert output.read_text().splitlines() == ["#EXTM3U", "#EXTINF:61,Song", str(song.resolve())]
    (tmp_path / "blocked").write_text("a file where the data folder should be")
    with pytest.raises(MoodtuiError, match="playlist not written: .*playlists"):
        export_to_playlists([(song, 61.4, "Song")], "all", home=tmp_path / "blocked")
