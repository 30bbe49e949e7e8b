"""What the track table shows, with no Textual: labels over the rows, what to analyse, radio facts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from moodtui.library.scan import Track
from moodtui.library.view import LibraryView


def _track(name: str, error: str | None = None) -> Track:
    return Track(Path("/music") / name, name.removesuffix(".ogg"), "artist", "album", None, 30.0, 100, 1, error)


def _view(*names: str) -> LibraryView:
    view = LibraryView()
    view.add_scanned([_track(name) for name in names])
    view.apply()
    return view


def test_stored_labels_show_on_rows_scanned_before_and_after_they_load() -> None:
    view = _view("a.ogg", "b.ogg")
    view.set_labels({"/music/a.ogg": "positive", "/music/c.ogg": "negative"})
    assert [row.user_label for row in view.rows] == ["positive", None]
    (late,) = view.add_scanned([_track("c.ogg")])
    assert late.user_label == "negative"
    assert view.labelled_paths == {"/music/a.ogg", "/music/c.ogg"}


def test_a_label_being_written_counts_and_a_failed_one_goes_back_to_the_stored_label() -> None:
    view = _view("a.ogg", "b.ogg")
    view.set_labels({"/music/a.ogg": "positive"})
    a, b = view.rows
    a.user_label, b.user_label = "negative", "neutral"  # shown at once, not written yet
    assert view.labelled_paths == {"/music/a.ogg", "/music/b.ogg"}
    assert view.label_kept("/music/a.ogg") is a and a.user_label == "positive"
    assert view.label_stored("/music/b.ogg", "neutral") is b and view.labels["/music/b.ogg"] == "neutral"
    assert view.label_stored("/music/a.ogg", None) is a and a.user_label is None  # an undo
    assert view.labels == {"/music/b.ogg": "neutral"}
    assert view.label_stored("/music/gone.ogg", "positive") is None and "/music/gone.ogg" in view.labels


def test_paths_to_analyse_are_the_unanalysed_readable_ones_visible_first() -> None:
    view = LibraryView()
    view.add_scanned([_track("a.ogg"), _track("b.ogg"), _track("broken.ogg", error="no tags"), _track("d.ogg")])
    view.text_filter = "d"
    view.apply()
    view.apply_results(
        {"/music/a.ogg": np.array([0.7, 0.2, 0.1])}, durations={}, errors={}, energies={}, complete=False
    )
    assert view.paths_to_analyse() == ["/music/d.ogg", "/music/b.ogg"]
    view.apply_results({}, durations={}, errors={"/music/b.ogg": "too short"}, energies={}, complete=False)
    assert view.paths_to_analyse() == ["/music/d.ogg"]


def test_song_facts_are_read_afresh_for_the_radio() -> None:
    view = _view("a.ogg", "b.ogg")
    facts = view.song_facts
    assert [(f.path, f.user_label, f.probs) for f in facts()] == [
        ("/music/a.ogg", None, None),
        ("/music/b.ogg", None, None),
    ]
    view.set_labels({"/music/b.ogg": "neutral"})
    view.apply_results(
        {"/music/a.ogg": np.array([0.1, 0.2, 0.7])},
        durations={},
        errors={},
        energies={"/music/a.ogg": 0.3},
        complete=False,
    )
    a, b = list(facts())
    assert a.probs is not None and a.energy == 0.3 and a.playable and b.user_label == "neutral"
