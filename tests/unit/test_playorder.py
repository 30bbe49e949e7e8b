"""Play order, mood radio and the label writer: the core objects, without Textual."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import numpy as np
import pytest

from moodtui.listener.label_writer import LabelOutcome, LabelWriter
from moodtui.player.order import PlayOrder, Repeat
from moodtui.player.radio import PATHS, EnergyStation, MoodStation, PathStation, SongFacts, station_from_id, station_id

SONGS = [f"/music/{i:02d}.ogg" for i in range(10)]


def order_of(paths=SONGS, seed: int = 1) -> PlayOrder:
    order = PlayOrder(random.Random(seed))
    order.set_list(paths)
    return order


def play_through(order: PlayOrder, count: int, **kwargs) -> list[str | None]:
    return [order.next(**kwargs) for _ in range(count)]


def test_in_order_from_the_chosen_song_then_stops_at_the_end() -> None:
    order = order_of()
    order.play(SONGS[7])
    assert play_through(order, 3, at_end=True) == [SONGS[8], SONGS[9], None]


def test_repeat_all_starts_the_list_again_and_repeat_one_replays_only_at_the_end() -> None:
    order = order_of()
    order.repeat = Repeat.ALL
    order.play(SONGS[9])
    assert order.next(at_end=True) == SONGS[0]
    order.repeat = Repeat.ONE
    assert order.next(at_end=True) == SONGS[0]
    assert order.next(at_end=True) == SONGS[0]
    assert order.next() == SONGS[1]  # next (the key) still moves on
    assert Repeat.OFF.next() is Repeat.ALL and Repeat.ALL.next() is Repeat.ONE and Repeat.ONE.next() is Repeat.OFF


def test_shuffle_plays_every_song_once_before_any_repeats() -> None:
    order = order_of(seed=3)
    order.set_shuffle(True)
    first = order.play(SONGS[0])
    played = [first, *play_through(order, 9, at_end=True)]
    assert sorted(played) == SONGS  # each exactly once
    assert played[1:] != SONGS[1:]  # (seeded) not the list order
    assert order.next(at_end=True) is None  # exhausted, repeat off

    order.repeat = Repeat.ALL
    second_round = play_through(order, 10, at_end=True)
    assert sorted(second_round) == SONGS
    assert second_round[0] != played[-1]  # a new round does not start with the song just played


def test_shuffle_follows_a_changed_list_and_never_repeats_within_a_round() -> None:
    order = order_of(seed=5)
    order.set_shuffle(True)
    order.play(SONGS[0])
    played = play_through(order, 3)
    order.set_list(SONGS[:6])  # a filter hides the last four
    rest = play_through(order, 10)
    taken = [p for p in [SONGS[0], *played, *rest] if p is not None]
    assert len(taken) == len(set(taken))
    assert set(rest) - {None} <= set(SONGS[:6])


def test_queue_plays_first_in_its_order_then_the_list_goes_on_from_the_last_song() -> None:
    order = order_of()
    order.play(SONGS[0])
    assert order.enqueue(SONGS[5]) == 1 and order.enqueue(SONGS[2]) == 2 and order.enqueue(SONGS[8]) == 3
    assert order.move_in_queue(2, -1) == 1  # 8 before 2
    assert order.queue == [SONGS[5], SONGS[8], SONGS[2]]
    assert order.move_in_queue(0, -5) == 0  # clamped
    assert order.remove_from_queue(2) == SONGS[2]
    assert play_through(order, 3, at_end=True) == [SONGS[5], SONGS[8], SONGS[9]]
    order.enqueue(SONGS[1])
    assert order.clear_queue() == 1 and order.queue == []


def test_previous_goes_back_through_what_actually_played_and_next_comes_forward_again() -> None:
    order = order_of(seed=7)
    order.set_shuffle(True)
    played = [order.play(SONGS[4]), *play_through(order, 4)]
    assert [order.previous() for _ in range(4)] == played[-2::-1]
    assert order.previous() is None  # nothing before the first
    assert play_through(order, 2) == played[1:3]
    order.play(SONGS[9])  # a new choice forgets what was stepped back over
    assert order.history == [*played[:3], SONGS[9]]
    assert order.previous() == played[2]


def test_a_filtered_out_current_song_goes_on_from_the_highlighted_row() -> None:
    order = order_of()
    order.play(SONGS[3])
    order.set_list(SONGS[5:])
    assert order.next(fallback_index=2) == SONGS[7]
    assert order_of([]).next() is None


def library_of(songs: list[SongFacts]):
    return lambda: songs


def facts(path: str, probs=None, label=None, energy=None, playable=True) -> SongFacts:
    return SongFacts(path, label, None if probs is None else np.array(probs, np.float32), energy, playable)


def test_mood_station_plays_own_labels_first_then_confident_predictions_never_twice() -> None:
    songs = [
        facts("a", label="positive"),
        facts("b", label="positive"),
        facts("c", [0.1, 0.1, 0.8], label="positive"),  # the listener's word beats the model's
        facts("d", [0.9, 0.05, 0.05], label="negative"),  # labelled another mood: never
        facts("e", [0.8, 0.1, 0.1]),
        facts("f", [0.6, 0.3, 0.1]),
        facts("g", [0.4, 0.35, 0.25]),  # not confident
        facts("h", [0.95, 0.03, 0.02], playable=False),  # cannot be played
        facts("i"),  # not analysed yet
    ]
    station = MoodStation("positive", library_of(songs), rng=random.Random(2))
    order = order_of([])
    order.station = station
    played = play_through(order, 6)
    assert sorted(played[:3]) == ["a", "b", "c"] and sorted(played[3:5]) == ["e", "f"] and played[5] is None
    saved = station_id(station)
    restored = station_from_id(saved, library_of(songs))
    assert isinstance(restored, MoodStation) and restored.played == set("abcef") and restored.next() is None
    with pytest.raises(ValueError):
        MoodStation("happy", library_of(songs))
    with pytest.raises(ValueError):
        station_from_id({"kind": "path", "path": "nowhere"}, library_of(songs))


def test_queue_goes_before_the_station() -> None:
    order = order_of([])
    order.station = MoodStation("neutral", library_of([facts("n", [0.1, 0.8, 0.1])]))
    order.enqueue("q")
    assert play_through(order, 3) == ["q", "n", None]


def valence(song: SongFacts) -> float:
    return {"positive": 1, "neutral": 0, "negative": -1}[song.user_label]


def test_lift_me_up_walks_from_negative_through_neutral_to_positive() -> None:
    songs = [facts(f"{mood}{k}", label=mood) for mood in ("positive", "neutral", "negative") for k in range(4)]
    station = PathStation(PATHS["lift"], library_of(songs), songs=6, rng=random.Random(1))
    played = [station.next() for _ in range(6)]
    moods = [p.rstrip("0123456789") for p in played]
    assert moods[0] == "negative" and moods[-1] == "positive"
    assert "neutral" in moods[1:-1]
    scale = [{"negative": -1, "neutral": 0, "positive": 1}[m] for m in moods]
    assert scale == sorted(scale)  # never a step back down
    assert len(set(played)) == 6
    restored = station_from_id(station_id(station), library_of(songs))
    assert restored.step == 6 and restored.played == set(played)


def test_wind_down_uses_energy_when_the_model_gives_it() -> None:
    songs = [facts(f"e{round(e * 10)}", [0.2, 0.6, 0.2], energy=e) for e in (0.1, 0.9, 0.5, 0.3, 0.7)]
    station = PathStation(PATHS["wind-down"], library_of(songs), songs=5)
    assert [station.next() for _ in range(5)] == ["e9", "e7", "e5", "e3", "e1"]


def test_wind_down_falls_back_to_mood_without_energy() -> None:
    songs = [facts("lively", [0.9, 0.05, 0.05]), facts("calm", [0.05, 0.9, 0.05]), facts("between", [0.5, 0.4, 0.1])]
    station = PathStation(PATHS["wind-down"], library_of(songs), songs=3)
    assert [station.next() for _ in range(4)] == ["lively", "between", "calm", None]


# -- the label writer ---------------------------------------------------------------------------


def test_label_writer_writes_in_order_names_the_song_and_undoes(tmp_path: Path) -> None:
    from moodtui.listener.labels import LabelStore

    store = LabelStore(tmp_path / "labels.json")
    outcomes: list[LabelOutcome] = []
    done = threading.Event()

    def report(outcome: LabelOutcome) -> None:
        outcomes.append(outcome)
        if len(outcomes) == 3:
            done.set()

    song = tmp_path / "song.ogg"
    song.write_bytes(b"not really audio but a file")
    writer = LabelWriter(store, report)
    writer.start()
    writer.label(str(song), "positive", title="Sunny Days")
    writer.label(str(song), "negative", title="Sunny Days")
    writer.undo(lambda path: "Sunny Days")
    assert done.wait(10)
    writer.stop()
    assert [o.label for o in outcomes] == ["positive", "negative", "positive"]
    assert outcomes[0].message == "“Sunny Days” labelled positive · u undoes"
    assert "(was positive)" in outcomes[1].message
    assert outcomes[2].message == "undid negative on “Sunny Days”; it is positive again"
    assert store.label_for(str(song)).label == "positive"


def test_energy_stations_by_the_models_energy_else_by_mood() -> None:
    with_energy = [
        facts("slow", [0.2, 0.6, 0.2], energy=0.1),
        facts("mid", [0.2, 0.6, 0.2], energy=0.5),
        facts("fast", [0.2, 0.6, 0.2], energy=0.9),
        facts("quiet", [0.2, 0.6, 0.2], energy=0.2),
    ]
    calm = EnergyStation("calm", library_of(with_energy))
    assert sorted([calm.next(), calm.next()]) == ["quiet", "slow"] and calm.next() is None
    assert EnergyStation("energetic", library_of(with_energy)).next() == "fast"
    by_mood = [facts("lively", [0.9, 0.05, 0.05]), facts("still", [0.05, 0.9, 0.05])]
    assert EnergyStation("calm", library_of(by_mood)).next() == "still"
    restored = station_from_id(station_id(calm), library_of(with_energy))
    assert isinstance(restored, EnergyStation) and restored.played == {"quiet", "slow"}
    with pytest.raises(ValueError):
        EnergyStation("loud", library_of(by_mood))


def test_the_status_line_words_of_the_order() -> None:
    order = order_of()
    assert order.status_words() == []
    order.enqueue(SONGS[3])
    order.enqueue(SONGS[4])
    order.set_shuffle(True)
    order.repeat = Repeat.ONE
    assert order.status_words() == ["queue 2", "shuffle", "repeat one"]
    order.station = MoodStation("positive", lambda: [SongFacts(SONGS[0], "positive")])
    assert order.status_words()[0] == f"📻 {order.station.name}"


def test_next_passes_over_broken_songs_and_failures_in_a_row_say_when_to_stop() -> None:
    from moodtui.player.order import FAILURES_BEFORE_GIVING_UP

    order = PlayOrder()
    songs = [f"s{k}" for k in range(8)]
    order.set_list(songs, broken=["s1", "s2"])  # the library cannot read these
    assert order.play("s0") == "s0"
    assert order.next() == "s3"
    assert [order.failed(path, "bad") for path in ("s3", "s4")] == [False, False]
    order.queue = ["s4", "s5"]
    assert order.next() == "s5"  # the queued s4 failed before: passed over
    assert order.failed("s5", "bad") is (FAILURES_BEFORE_GIVING_UP == 3)
    order.play("s3")  # chosen again: tried, and the count starts again
    assert order.failures_in_a_row == 0
    order.started("s3")  # it played after all
    assert not order.is_broken("s3") and order.broken_in_list() == 4
    assert order.next() == "s6"
    order.shuffle = True
    order.set_shuffle(True)
    assert {order.next() for _ in range(3)} <= {"s0", "s3", "s6", "s7"}
