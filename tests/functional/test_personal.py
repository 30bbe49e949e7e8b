"""The personal model: head choice by held-out songs, the IMAC weak prior, the retrain guard and the
change list (real `moodtui train` subprocesses on the small real model; synthetic embeddings where the
right answer is known)."""

from __future__ import annotations

import json
from pathlib import Path

import mutagen
import numpy as np
import pytest

from audio_factory import write_song
from conftest import run_moodtui
from listener_tools import label_songs, opposite_listener
from moodtui import CLASSES
from moodtui.listener.label_next import MoodChange, changes_summary, mood_changes
from moodtui.listener.retrain import guard_message
from moodtui.mood.descriptors import DESCRIPTOR_COUNT, DESCRIPTOR_NAMES
from moodtui.mood.model import apply_head, calibrate
from moodtui.mood.versions import current_name, list_versions
from moodtui.train.data import Song, song_folds
from moodtui.train.heads import (
    DESCRIPTOR_HEADS,
    HEADS,
    HELD_OUT_PROBABILITY_FLOOR,
    SONG_CUES,
    Standardiser,
    choose_head,
    fit_head,
    simplest_not_worse,
    song_probabilities,
    training_data,
)
from moodtui.train.job import fit_personal_head

DIM = 64


def _listener(kind: str, per_class: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
    """Songs (10 slice embeddings each) whose classes follow a known structure.

    ``ordered``: one latent score (positive 1, neutral 0, negative -1, plus song noise) along one
    direction, noise in all 64 dimensions: one score with two cut points is the right model, and a
    free softmax over 64 dimensions overfits with few songs. ``unordered``: positive and negative
    are two tight clusters on one axis and neutral a cluster spread all along that axis but apart
    on another: no single score orders them, a free softmax separates them."""
    rng = np.random.default_rng(seed)
    axes = np.linalg.qr(np.random.default_rng(99).normal(size=(DIM, 2)))[0].T * 3
    songs, labels = [], []
    for c in range(len(CLASSES)):
        for _ in range(per_class):
            if kind == "ordered":
                latent = {0: 1.0, 1: 0.0, 2: -1.0}[c] + rng.normal(0, 0.25)
                emb = latent * axes[0] + rng.normal(0, 1.0, (10, DIM))
            elif c == CLASSES.index("neutral"):
                emb = rng.uniform(-2, 2) * axes[0] + 2 * axes[1] + rng.normal(0, 0.3, (10, DIM))
            else:
                emb = (1 if c == CLASSES.index("positive") else -1) * axes[0] + rng.normal(0, 0.3, (10, DIM))
            songs.append(emb.astype(np.float32))
            labels.append(c)
    return songs, labels


def _choose(songs, labels, base_kernel, base_bias, candidates=HEADS, temperature=1.0):
    reference = np.random.default_rng(5).normal(0, 1, (600, DIM)).astype(np.float32)
    standardiser = Standardiser(reference)
    data = training_data(songs, labels, standardiser)
    folds = song_folds([Song(Path(f"/s{i}"), label) for i, label in enumerate(labels)], min(5, len(labels)), 0)
    return choose_head(
        songs, labels, folds, base_kernel, base_bias, data, standardiser, candidates, temperature=temperature
    )


def _unrelated_base():
    return np.random.default_rng(7).normal(0, 0.05, (DIM, 3)).astype(np.float32), np.zeros(3, np.float32)


def test_few_songs_on_one_ordered_scale_choose_the_ordered_head():
    chosen, ordered_hits, free_hits = [], 0, 0
    for seed in range(1, 7):  # six listeners: cross-validation on 9 songs is noisy, the trend is not
        songs, labels = _listener("ordered", 3, seed)
        choice = _choose(songs, labels, *_unrelated_base())
        chosen.append(choice.name)
        ordered_hits += choice.hits["ordered"]
        free_hits += choice.hits["free"]
    assert chosen.count("ordered") >= 5, chosen
    assert ordered_hits > free_hits


@pytest.mark.parametrize("seed", [1, 2])
def test_classes_no_single_score_orders_choose_a_free_head(seed):
    songs, labels = _listener("unordered", 5, seed)
    choice = _choose(songs, labels, *_unrelated_base())
    assert choice.name in ("free", "free-rich"), choice.hits
    assert choice.hits[choice.name] > choice.hits["ordered"]


def test_a_listener_the_base_already_gets_right_keeps_the_base_and_ties_go_to_the_simpler_head():
    songs, labels = _listener("ordered", 4, 4)
    # A base whose layer already reads the listener's score: every candidate agrees with every song.
    axis = np.linalg.qr(np.random.default_rng(99).normal(size=(DIM, 2)))[0].T[0]
    kernel = np.outer(axis, [4.0, 0.0, -4.0]).astype(np.float32)
    bias = np.array([-6.0, 0.0, -6.0], np.float32)
    choice = _choose(songs, labels, kernel, bias)
    assert choice.hits["base"] == len(labels)
    assert choice.name == "base"
    np.testing.assert_allclose(choice.fit.kernel, kernel, atol=1e-4)


def test_the_head_kept_is_the_one_surest_of_the_held_out_songs_and_many_parameters_must_win_clearly():
    """Selection by held-out log-probability of the labels: two heads right about the same 8 of
    12 songs are told apart by how sure they were; a 64-parameter head needs a gain of more than
    one standard error of the per-song differences to replace a simpler one."""
    right, wrong = np.log(0.9), np.log(0.2)
    unsure_right = np.log(0.4)
    sure = np.array([right] * 8 + [wrong] * 4)
    unsure = np.array([unsure_right] * 8 + [wrong] * 4)  # the same 8 songs right (argmax), barely
    assert simplest_not_worse(("base", "recut"), {"base": unsure, "recut": sure}) == "recut"
    assert simplest_not_worse(("base", "recut"), {"base": sure, "recut": sure}) == "base"  # a tie: the simpler
    # "free" (margin 1) gains a little on a few songs and loses on others: not clearly better.
    rng = np.random.default_rng(3)
    noisy = sure + rng.normal(0.0, 1.0, 12)
    noisy += 0.1 - (noisy - sure).mean()  # a mean gain of 0.1 a song, per-song spread 1
    assert simplest_not_worse(("recut", "free"), {"recut": sure, "free": noisy}) == "recut"
    clearly = sure + 1.0 + rng.normal(0.0, 0.1, 12)  # better on every song
    assert simplest_not_worse(("recut", "free"), {"recut": sure, "free": clearly}) == "free"
    # A margin-free head between them is tested against the simpler ones too.
    assert simplest_not_worse(("base", "recut", "free"), {"base": unsure, "recut": sure, "free": noisy}) == "recut"


def test_held_out_songs_are_scored_by_the_calibrated_probabilities_the_player_will_show():
    # The base candidate is the base layer whatever the fold, so its held-out probabilities are
    # the base's own: the choice's log-probabilities must be those after calibration.
    songs, labels = _listener("ordered", 4, seed=3)
    axes = np.linalg.qr(np.random.default_rng(99).normal(size=(DIM, 2)))[0].T
    base_kernel = (np.outer(axes[0], [0.4, 0.0, -0.4]) + 0.02).astype(np.float32)
    base_bias = np.zeros(3, np.float32)
    shown = song_probabilities(songs, base_kernel, base_bias)
    by_temperature = {}
    for temperature in (1.0, 0.45):
        choice = _choose(songs, labels, base_kernel, base_bias, ("base", "ordered", "free"), temperature)
        given = calibrate(shown, temperature)[np.arange(len(labels)), labels]
        np.testing.assert_allclose(
            choice.log_probs["base"], np.log(np.maximum(given, HELD_OUT_PROBABILITY_FLOOR)), rtol=1e-5
        )
        by_temperature[temperature] = choice
    # Sharper probabilities change how sure each head is, never which class it gives a song.
    assert by_temperature[1.0].hits == by_temperature[0.45].hits
    assert not np.allclose(by_temperature[1.0].log_probs["ordered"], by_temperature[0.45].log_probs["ordered"])


def test_an_opposite_listener_is_one_sign_flip_of_the_base_score():
    songs, labels = _listener("ordered", 3, 6)
    axis = np.linalg.qr(np.random.default_rng(99).normal(size=(DIM, 2)))[0].T[0]
    kernel = np.outer(axis, [-4.0, 0.0, 4.0]).astype(np.float32)  # the base feels the opposite
    choice = _choose(songs, labels, kernel, np.array([-6.0, 0.0, -6.0], np.float32), candidates=("base", "recut"))
    assert choice.hits["base"] <= len(labels) // 3 + 1
    assert choice.name == "recut" and choice.hits["recut"] >= len(labels) - 1


def test_ordered_head_is_a_dense_layer_with_one_direction():
    songs, labels = _listener("ordered", 3, 1)
    standardiser = Standardiser(np.concatenate(songs))
    data = training_data(songs, labels, standardiser)
    kernel, bias = fit_head("ordered", data, *_unrelated_base())
    pos, neu, neg = (CLASSES.index(c) for c in ("positive", "neutral", "negative"))
    np.testing.assert_allclose(kernel[:, pos], 2 * kernel[:, neu], atol=1e-9)
    np.testing.assert_allclose(kernel[:, neg], 0, atol=1e-12)


def test_imac_prior_songs_weigh_less_than_the_listeners_own_and_are_never_held_out():
    songs, labels = _listener("ordered", 2, 1)
    prior, prior_labels = _listener("ordered", 1, 2)
    standardiser = Standardiser(np.concatenate(songs))
    data = training_data(
        songs, labels, standardiser, prior_embeddings=prior, prior_labels=prior_labels, prior_weight=0.25
    )
    own = data.w[data.song_of == 0].sum()
    weak = data.w[data.song_of == -1].sum() / len(prior)
    assert weak == pytest.approx(0.25 * own)
    assert data.songs == len(songs) and set(data.song_of[data.song_of >= 0]) == set(range(len(songs)))


def _cue_listener(per_class: int, seed: int, follows_cues: bool, song_tempo: bool = False):
    """Songs with embeddings (pure noise, so the embedding tells nothing) and descriptors (the
    first, "mode", a song-level value plus slice noise, the rest noise). ``follows_cues``: the
    classes are bands of the song's mode (major positive, minor negative); else the classes
    follow an embedding direction and the descriptors are noise."""
    rng = np.random.default_rng(seed)
    axis = np.linalg.qr(np.random.default_rng(99).normal(size=(DIM, 1)))[0][:, 0] * 3
    songs, descriptors, labels = [], [], []
    for c in range(len(CLASSES)):
        for _ in range(per_class):
            latent = {0: 1.0, 1: 0.0, 2: -1.0}[c] + rng.normal(0, 0.2)
            desc = rng.normal(0, 1, (10, DESCRIPTOR_COUNT)) * 0.2 + rng.normal(0, 1, DESCRIPTOR_COUNT) * 0.2
            emb = rng.normal(0, 1.0, (10, DIM))
            if song_tempo:
                # A song-level cue: the same on every slice of a song (log2 BPM around 120).
                desc[:, DESCRIPTOR_NAMES.index("song_tempo")] = 6.9 + 0.4 * latent + rng.normal(0, 0.1)
            elif follows_cues:
                desc[:, 0] += 0.6 * latent  # mode in -1 .. 1 (raw units: standardised in the fit)
            else:
                emb += latent * axis
            songs.append(emb.astype(np.float32))
            descriptors.append(desc.astype(np.float32))
            labels.append(c)
    return songs, descriptors, labels


def _fit_with_descriptors(songs, descriptors, labels, replay=True):
    rng = np.random.default_rng(5)
    replay_x = rng.normal(0, 1, (300, DIM)).astype(np.float32) if replay else np.zeros((0, DIM), np.float32)
    replay_y = rng.integers(0, 3, len(replay_x))
    folds = song_folds([Song(Path(f"/s{i}"), label) for i, label in enumerate(labels)], min(5, len(labels)), 0)
    return fit_personal_head(
        songs, labels, replay_x, replay_y, *_unrelated_base(), folds, descriptors=descriptors, replay_share=0.3
    )


def test_a_listener_who_follows_the_mode_gets_a_head_that_reads_the_descriptors():
    chosen, cue_hits, embedding_hits = [], 0, 0
    for seed in range(1, 5):
        songs, descriptors, labels = _cue_listener(3, seed, follows_cues=True)
        fit = _fit_with_descriptors(songs, descriptors, labels)
        chosen.append(fit.head)
        cue_hits += fit.hits["cues"]
        embedding_hits += max(fit.hits[h] for h in fit.hits if h not in DESCRIPTOR_HEADS)
    assert sum(h in DESCRIPTOR_HEADS for h in chosen) >= 3, chosen
    assert cue_hits > embedding_hits + 4
    # The chosen head as the model's metadata holds it: the descriptor weights, mode the strongest.
    assert fit.descriptor_head is not None and fit.descriptor_head["names"] == list(DESCRIPTOR_NAMES)
    weights = np.abs(np.asarray(fit.descriptor_head["kernel"]))
    assert weights[0].sum() == weights.sum(axis=1).max()
    # New songs: the exported layer (embedding part, descriptor part at their mean) ranks them by mode.
    new_songs, new_descriptors, new_labels = _cue_listener(4, 50, follows_cues=True)
    head = fit.metadata_head
    predicted = [apply_head(head, e, d).mean(axis=0).argmax() for e, d in zip(new_songs, new_descriptors)]
    assert np.mean(np.array(predicted) == new_labels) >= 0.75


def test_a_listener_who_follows_the_song_tempo_gets_the_song_cue_head():
    chosen = []
    for seed in range(1, 5):
        songs, descriptors, labels = _cue_listener(3, seed, follows_cues=True, song_tempo=True)
        fit = _fit_with_descriptors(songs, descriptors, labels)
        chosen.append(fit.head)
    assert chosen.count("song-cues") >= 3, chosen
    # Its weights: the song's tempo, brightness and mode only.
    weights = np.abs(np.asarray(fit.descriptor_head["kernel"])).sum(axis=1)
    used = {DESCRIPTOR_NAMES[i] for i in np.flatnonzero(weights > 0)}
    assert used <= set(SONG_CUES) and "song_tempo" in used
    assert weights[DESCRIPTOR_NAMES.index("song_tempo")] == weights.max()


def test_a_base_that_reads_descriptors_is_kept_whole_by_every_head():
    """A base whose head weighs the song's tempo: the ``base`` candidate is that base exactly
    (its descriptor part exported with it), and a head fitted on top keeps the base's cue."""
    songs, descriptors, labels = _cue_listener(3, 2, follows_cues=True, song_tempo=True)
    kernel, bias = _unrelated_base()
    tempo = DESCRIPTOR_NAMES.index("song_tempo")
    base_part = {
        "names": list(DESCRIPTOR_NAMES),
        "kernel": np.zeros((DESCRIPTOR_COUNT, 3)),
        "mean": np.zeros(DESCRIPTOR_COUNT),
    }
    base_part["kernel"][tempo] = [4.0, 0.0, -4.0]  # faster: more positive (the listener's own feeling)
    base_part["mean"][tempo] = 6.9
    base_head = {"kernel": kernel, "bias": bias, "descriptors": base_part}
    folds = song_folds([Song(Path(f"/s{i}"), label) for i, label in enumerate(labels)], 5, 0)
    replay = np.random.default_rng(5).normal(0, 1, (300, DIM)).astype(np.float32)
    common = dict(descriptors=descriptors, replay_share=0.3, base_descriptors=base_part)
    as_is = fit_personal_head(
        songs, labels, replay, np.zeros(300, int), kernel, bias, folds, candidates=("base",), **common
    )
    assert as_is.head == "base" and as_is.descriptor_head is not None
    for emb, desc in zip(songs, descriptors):
        np.testing.assert_allclose(
            apply_head(as_is.metadata_head, emb, desc), apply_head(base_head, emb, desc), atol=1e-5
        )
    # The base already agrees with this listener through its cue; a re-cut or free head keeps it.
    base_right = sum(
        int(apply_head(base_head, e, d).mean(axis=0).argmax() == c) for e, d, c in zip(songs, descriptors, labels)
    )
    for name in ("recut", "free"):
        fit = fit_personal_head(
            songs, labels, replay, np.zeros(300, int), kernel, bias, folds, candidates=(name,), **common
        )
        weights = np.asarray(fit.descriptor_head["kernel"])
        assert weights[tempo, 0] - weights[tempo, 2] > 1.0, (name, weights[tempo])
        right = sum(
            int(apply_head(fit.metadata_head, e, d).mean(axis=0).argmax() == c)
            for e, d, c in zip(songs, descriptors, labels)
        )
        assert right >= base_right - 1, (name, right, base_right)


def test_without_descriptors_a_descriptor_head_is_never_tried_and_at_the_mean_it_is_the_graph():
    songs, descriptors, labels = _cue_listener(3, 1, follows_cues=True)
    plain = _fit_with_descriptors(songs, None, labels)
    assert plain.descriptor_head is None and not DESCRIPTOR_HEADS & set(plain.hits)
    fit = _fit_with_descriptors(songs, descriptors, labels)
    if fit.descriptor_head is not None:
        # A slice without descriptors (an old cache) is scored at the mean descriptors: the
        # bias is exactly that, so the ONNX graph (kernel and bias only) gives the same.
        head = fit.metadata_head
        mean = np.asarray(head["descriptors"]["mean"], np.float32)
        at_mean = apply_head(head, songs[0], np.broadcast_to(mean, descriptors[0].shape).copy())
        np.testing.assert_allclose(apply_head(head, songs[0]), at_mean, atol=1e-5)
        without_part = {"kernel": head["kernel"], "bias": head["bias"]}
        np.testing.assert_allclose(apply_head(without_part, songs[0]), at_mean, atol=1e-5)


def test_a_listener_the_descriptors_do_not_help_keeps_an_embedding_head():
    chosen = []
    for seed in range(1, 5):
        songs, descriptors, labels = _cue_listener(4, seed, follows_cues=False)
        chosen.append(_fit_with_descriptors(songs, descriptors, labels).head)
    assert sum(h not in DESCRIPTOR_HEADS for h in chosen) >= 3, chosen


def test_replay_slices_carry_no_descriptor_information():
    songs, descriptors, labels = _cue_listener(2, 1, follows_cues=True)
    standardiser = Standardiser.joined(
        Standardiser(np.random.default_rng(5).normal(0, 1, (300, DIM))), Standardiser(np.concatenate(descriptors))
    )
    mean = standardiser.mean[DIM:].astype(np.float32)
    replay = np.hstack([np.zeros((30, DIM), np.float32), np.broadcast_to(mean, (30, DESCRIPTOR_COUNT))])
    data = training_data(
        [np.hstack([e, d]) for e, d in zip(songs, descriptors)],
        labels,
        standardiser,
        replay,
        np.zeros(30, int),
        0.3,
        embedding_dim=DIM,
    )
    np.testing.assert_allclose(data.x[data.song_of == -1][:, DIM:], 0.0, atol=1e-6)
    assert list(data.columns("cues")) == list(range(DIM, DIM + DESCRIPTOR_COUNT))
    assert list(data.columns("ordered")) == list(range(DIM)) and list(data.columns("free")) == list(range(DIM))
    assert len(data.columns("ordered-cues")) == DIM + DESCRIPTOR_COUNT
    assert [DESCRIPTOR_NAMES[c - DIM] for c in data.columns("song-cues")] == list(SONG_CUES)


def test_change_list_puts_the_playing_song_first_and_counts_each_kind():
    before = {
        "a": [0.6, 0.3, 0.1],
        "b": [0.2, 0.7, 0.1],
        "c": [0.2, 0.7, 0.1],
        "d": [0.1, 0.1, 0.8],
        "e": [0.5, 0.4, 0.1],
        "gone": [0.1, 0.8, 0.1],
    }
    after = {
        "a": [0.6, 0.3, 0.1],
        "b": [0.8, 0.1, 0.1],
        "c": [0.9, 0.0, 0.1],
        "d": [0.1, 0.8, 0.1],
        "e": [0.5, 0.4, 0.1],
        "new": [0.1, 0.8, 0.1],
    }
    changes = mood_changes(
        {k: np.array(v) for k, v in before.items()}, {k: np.array(v) for k, v in after.items()}, first="d"
    )
    assert changes == [
        MoodChange("d", "negative", "neutral"),
        MoodChange("b", "neutral", "positive"),
        MoodChange("c", "neutral", "positive"),
    ]
    assert changes_summary(changes) == "3 songs change mood: 2 neutral -> positive, 1 negative -> neutral"
    assert changes_summary(changes[:1]) == "1 song changes mood: 1 negative -> neutral"
    assert changes_summary([]) == "no song changes mood"


def test_guard_message_says_what_was_kept():
    guard = {"songs": 12, "new_agrees": 7, "current_agrees": 8, "switched": False}
    assert guard_message(guard, "v2", "`m`") == (
        "the new model agrees with 7 of your 12 songs, the current one with 8: kept the current one "
        "(new model v2 kept as a version); `m` to switch anyway"
    )
    assert guard_message({**guard, "new_agrees": 8, "switched": True}, "v2", "`m`").endswith(
        "switched to the new model v2"
    )
    # A retrain that fitted nothing says so, not only "switched".
    assert guard_message({**guard, "new_agrees": 8, "switched": True, "head": "base"}, "v2", "`m`") == (
        "the new model agrees with 8 of your 12 songs, the current one with 8 (it is the base model as it is: "
        "your 12 songs do not yet show clearly how your moods differ from it): switched to the new model v2"
    )


# --- the real training job ------------------------------------------------------------------------


def _train(*args: str) -> tuple[dict, str]:
    result = run_moodtui("train", *args, timeout=600)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return json.loads(result.stdout.decode().splitlines()[-1]), result.stderr.decode()


def test_a_worse_retrain_is_kept_as_a_version_but_not_switched_on(tmp_path, model_env):
    label_songs(model_env, opposite_listener(tmp_path))
    first, _ = _train()
    assert first["switched"] and current_name() == first["version"]
    guard = first["guard"]
    assert guard["current_version"] == "base" and guard["new_agrees"] >= guard["current_agrees"]
    assert first["head"] in HEADS
    # The same labels, but only the base's own head allowed: worse than the personal model in use.
    second, stderr = _train("--heads", "base", "--version", "worse")
    assert not second["switched"]
    assert second["guard"]["current_version"] == first["version"]
    assert second["guard"]["new_agrees"] < second["guard"]["current_agrees"]
    assert current_name() == first["version"], "a worse retrain must not be switched on"
    assert "worse" in [v.name for v in list_versions()]
    line = next(line for line in stderr.splitlines() if "kept the current one" in line)
    assert f"the new model agrees with {second['guard']['new_agrees']} of your 6 songs" in line
    assert "`moodtui rollback worse` to switch anyway" in line
    listing = run_moodtui("models").stdout.decode()
    assert "worse: the new model agrees with" in listing and first["head"] in listing
    rows = json.loads(run_moodtui("models", "--json").stdout)
    worse = next(row for row in rows if row["version"] == "worse")
    assert worse["head"] == "base" and not worse["current"] and worse["guard"]["switched"] is False
    # Switching anyway is the listener's call.
    assert run_moodtui("rollback", "worse").returncode == 0 and current_name() == "worse"


def test_a_head_that_reads_descriptors_is_exported_checked_and_served(tmp_path, model_env):
    """The real `moodtui train` with the cue head only: its descriptor weights reach the metadata,
    the export check covers them, and `moodtui predict` serves them."""
    from moodtui.mood.analysis import analyse_file
    from moodtui.mood.versions import load_current_model

    label_songs(model_env, opposite_listener(tmp_path))
    done, _ = _train("--heads", "cues")
    assert done["head"] == "cues"
    if not done["switched"]:
        # Six 6-s songs are too few for the guard to trust it (the song descriptors make it
        # overfit them); switching anyway is the listener's call, and serves it all the same.
        assert run_moodtui("rollback", done["version"]).returncode == 0
    model, _ = load_current_model()
    meta = model.metadata
    assert model.uses_descriptors and meta["head"]["descriptors"]["names"] == list(DESCRIPTOR_NAMES)
    assert np.asarray(meta["head"]["descriptors"]["kernel"]).shape == (DESCRIPTOR_COUNT, len(CLASSES))
    assert meta["export_check"]["max_abs_diff"] <= 1e-4 and meta["export_check"]["head_max_abs_diff"] <= 1e-4
    song = next(iter(opposite_listener(tmp_path / "again")))
    mood = analyse_file(song, model)
    np.testing.assert_allclose(mood.slice_probs, apply_head(meta["head"], mood.embeddings, mood.descriptors), atol=1e-5)
    predicted = json.loads(run_moodtui("predict", "--json", song).stdout)
    got = predicted[0] if isinstance(predicted, list) else predicted
    assert got["model"]["version"] == model.version
    first = got["slices"][0]
    np.testing.assert_allclose([first[c] for c in CLASSES], mood.slice_probs[0], atol=1e-3)


def test_imac_labels_of_owned_songs_are_a_weak_prior_shown_as_such(tmp_path, model_env, monkeypatch):
    songs = opposite_listener(tmp_path / "labelled")
    label_songs(model_env, songs)
    owned = tmp_path / "owned"
    # Break My Stride, Matthew Wilder: 2_0_0 (positive); Stranger in Paradise, Tony Bennett: 0_1_0 (neutral)
    for name, kind, artist, title in (
        ("stride.flac", "positive", "Matthew Wilder", "Break My Stride"),
        ("stranger.flac", "neutral", "Tony Bennett", "Stranger in Paradise"),
    ):
        path = write_song(owned / name, kind, 6.0, seed=3)
        tags = mutagen.File(path, easy=True)
        tags["artist"], tags["title"] = artist, title
        tags.save()
    # The player's scan and background analysis: the library index and the cached embeddings.
    from moodtui.library.scan import LibraryIndex, scan
    from moodtui.sqlite_cache import Cache

    index = LibraryIndex(Cache(model_env / "cache.sqlite"))
    list(scan(owned, index))
    assert run_moodtui("predict", *(str(p) for p in owned.iterdir())).returncode == 0
    done, _ = _train()
    meta = json.loads((model_env / "models" / done["version"] / "model.json").read_text())
    assert meta["data"]["imac_prior_songs"] == 2 and meta["data"]["imac_prior_weight"] < 1
    assert meta["agreement"]["songs"] == 6  # the prior songs are never scored
    rows = json.loads(run_moodtui("models", "--json").stdout)
    assert next(row for row in rows if row["version"] == done["version"])["imac_prior_songs"] == 2
    monkeypatch.setenv("COLUMNS", "200")
    assert "6 + 2 IMAC (weak)" in run_moodtui("models").stdout.decode()


def test_a_model_switch_rescores_the_cached_songs_and_lists_what_changed(small_model: Path, tmp_path: Path) -> None:
    import os

    from moodtui.listener.label_next import switch_model
    from moodtui.mood.analysis import AnalysisCache, analyse_cached
    from moodtui.mood.model import MoodModel
    from moodtui.sqlite_cache import Cache

    model = MoodModel.load(small_model)
    cache = AnalysisCache(Cache(tmp_path / "cache.sqlite"))
    paths = [write_song(tmp_path / f"{kind}.flac", kind, 4.0, seed=i) for i, kind in enumerate(CLASSES)]
    shown = {os.fsdecode(p): analyse_cached(p, model, cache).song_probs for p in paths}

    first = switch_model(cache, None, model)  # no model before: nothing to compare with
    assert first.rescored == (len(paths) if model.has_head else 0) and first.changes == []
    assert set(first.moods) == set(shown) and all(first.durations[p] == pytest.approx(4.0) for p in shown)
    for path, probs in shown.items():
        assert CLASSES[int(np.argmax(first.moods[path]))] == CLASSES[int(np.argmax(probs))]
    assert switch_model(cache, model, model, os.fsdecode(paths[1])).changes == []  # the same model: no change


def _listener_axes() -> np.ndarray:
    """The two unit axes ``_listener`` builds its songs on (the first carries the classes)."""
    return np.linalg.qr(np.random.default_rng(99).normal(size=(DIM, 2)))[0].T


def _score_listener(seed: int, with_descriptors: bool, **score):
    """A listener whose classes lie along the first of two axes (``_listener("ordered")``), with a
    base whose mood layer reads the second: the fitting arguments, the songs' descriptors (or
    None), and the fit given the base's ``score`` (``base_scores=``)."""
    mood_kernel = np.outer(_listener_axes()[1], [4.0, 0.0, -4.0]).astype(np.float32)  # the base's moods
    songs, labels = _listener("ordered", 3, seed)
    descriptors = (
        [
            np.random.default_rng(seed + i).normal(0, 1, (10, DESCRIPTOR_COUNT)).astype(np.float32)
            for i in range(len(songs))
        ]
        if with_descriptors
        else None
    )
    folds = song_folds([Song(Path(f"/s{i}"), label) for i, label in enumerate(labels)], 5, 0)
    replay = np.random.default_rng(5).normal(0, 1, (300, DIM)).astype(np.float32)
    args = (songs, labels, replay, np.zeros(300, int), mood_kernel, np.zeros(3, np.float32), folds)
    return args, descriptors, fit_personal_head(*args, descriptors=descriptors, replay_share=0.0, **score)


def _score_head_wins(head: str, score: dict, with_descriptors: bool):
    """Over four listeners along the base's score ``head``: its 3-parameter re-cut head beats the
    mood re-cut by 3 songs each time and is kept at least 3 times; the exported layer is an
    ordered layer along that direction, so new songs fall in place. The last listener's fitting
    arguments and descriptors."""
    chosen = []
    for seed in range(1, 5):
        args, descriptors, fit = _score_listener(seed, with_descriptors, base_scores={head: score})
        chosen.append(fit.head)
        assert fit.hits[head] >= fit.hits["recut"] + 3, fit.hits
    assert chosen.count(head) >= 3, chosen
    new_songs, new_labels = _listener("ordered", 4, 50)
    predicted = [apply_head(fit.metadata_head, e).mean(axis=0).argmax() for e in new_songs]
    assert np.mean(np.array(predicted) == new_labels) >= 0.75
    return args, descriptors


def test_a_listener_whose_moods_follow_energy_gets_the_base_energy_score_with_their_cuts():
    """Classes along the base's energy direction, which its mood layer does not read: the
    3-parameter energy head wins, and without an energy output it is never tried."""
    energy_kernel = _listener_axes()[0] * 2.0  # the listener's score is the base's energy score
    args, _ = _score_head_wins("energy", {"kernel": energy_kernel}, False)
    without = fit_personal_head(*args, replay_share=0.0)
    assert "energy" not in without.hits


def test_a_listener_whose_moods_follow_valence_gets_the_base_valence_score_with_their_cuts():
    """Classes along the base's valence score (embedding and a descriptor), which its mood layer
    does not read: the 3-parameter valence head wins; without a valence score it is never tried."""
    valence = {
        "kernel": (_listener_axes()[0] * 2.0).tolist(),
        "bias": 0.0,
        "descriptors": {
            "names": list(DESCRIPTOR_NAMES),
            "kernel": [0.0] * DESCRIPTOR_COUNT,
            "mean": [0.0] * DESCRIPTOR_COUNT,
        },
    }
    args, descriptors = _score_head_wins("valence", valence, True)
    assert "valence" not in fit_personal_head(*args, descriptors=descriptors, replay_share=0.0).hits


def test_a_listener_who_feels_as_the_tag_lists_say_gets_the_tags_head():
    """Three tag scores, one per class, along three directions the base's mood layer does not
    read; each song's class is its strongest score (IMAC's rule), offset by the listener's own
    taste. The 6-parameter tags head wins and places new songs; without the tag scores it is
    never tried."""
    rng = np.random.default_rng(11)
    directions = np.linalg.qr(np.random.default_rng(98).normal(size=(DIM, 4)))[0].T
    axes = directions[:3]  # one per class
    offsets = np.array([0.0, 0.4, -0.3])  # this listener calls songs neutral rather easily

    def songs(count: int, seed: int) -> tuple[list[np.ndarray], list[int]]:
        r = np.random.default_rng(seed)
        out, labels = [], []
        while len(out) < count:
            centre = r.normal(0, 1.0, 3) @ axes * 3
            heard = centre @ axes.T / 3 + offsets
            label = int(heard.argmax())
            if labels.count(label) < count // 3:
                out.append((centre + r.normal(0, 0.5, (10, DIM))).astype(np.float32))
                labels.append(label)
        return out, labels

    tags = {f"tags_{mood}": {"kernel": axes[c].tolist(), "bias": 0.0} for c, mood in enumerate(CLASSES)}
    labelled, labels = songs(30, 1)
    folds = song_folds([Song(Path(f"/s{i}"), label) for i, label in enumerate(labels)], 5, 0)
    replay = rng.normal(0, 1, (300, DIM)).astype(np.float32)
    kernel = np.outer(directions[3], [4.0, 0.0, -4.0]).astype(np.float32)  # the base's moods: elsewhere
    args = (labelled, labels, replay, np.zeros(300, int), kernel, np.zeros(3, np.float32), folds)
    fit = fit_personal_head(*args, replay_share=0.0, base_scores=tags)
    assert fit.head == "tags", (fit.head, fit.hits)
    assert fit.hits["tags"] >= fit.hits["recut"] + 3, fit.hits
    new_songs, new_labels = songs(30, 50)
    predicted = [apply_head(fit.metadata_head, e).mean(axis=0).argmax() for e in new_songs]
    assert np.mean(np.array(predicted) == new_labels) >= 0.8
    assert "tags" not in fit_personal_head(*args, replay_share=0.0).hits
    # Two of the three tag scores are not enough: the head is not tried.
    partial = {k: v for k, v in tags.items() if k != "tags_neutral"}
    assert "tags" not in fit_personal_head(*args, replay_share=0.0, base_scores=partial).hits


def test_the_shipped_base_has_teacher_scores_that_rank_valence_and_energy():
    """The base's own scores (metadata ``score_heads``, what ``base_scores_of`` hands the personal
    heads) are real scores: on the demo the valence score puts the bright pieces above the dark
    ones, the energy score the driven "Pressure" pieces above the calm "Still Water" ones, the
    sad-tag score the "Grey Hours" pieces above the "Bright Side" ones. The energy score replaces
    the energy output's head for the ``energy`` candidate."""
    from moodtui.mood.analysis import analyse_file
    from moodtui.mood.model import MoodModel
    from moodtui.paths import demo_library_dir, shipped_model_path
    from moodtui.train.job import base_scores_of

    model = MoodModel.load(shipped_model_path())
    scores = base_scores_of(model)
    assert set(scores) == {"valence", "energy", "tags_positive", "tags_neutral", "tags_negative"}
    assert scores["energy"] is model.metadata["score_heads"]["energy"]  # not the arousal output's head
    moods = {}

    def score(axis: str, name: str) -> float:
        head = scores[axis]
        if name not in moods:
            moods[name] = analyse_file(demo_library_dir() / name, model)
        mood = moods[name]
        assert len(head["kernel"]) == 64 and head["descriptors"]["names"] == list(DESCRIPTOR_NAMES)
        part = head["descriptors"]
        d = (mood.descriptors - np.asarray(part["mean"])) @ np.asarray(part["kernel"])
        return float((mood.embeddings @ np.asarray(head["kernel"]) + head["bias"] + d).mean())

    bright = [score("valence", n) for n in ("01-sunny-pluck.ogg", "03-kite-day.mp3")]
    dark = [score("valence", n) for n in ("06-lantern-out.flac", "07-cold-harbour.ogg")]
    assert min(bright) > max(dark), (bright, dark)
    driven = [score("energy", n) for n in ("11-red-line.ogg", "12-static-storm.ogg")]
    calm = [score("energy", n) for n in ("08-tide-pools.ogg", "09-slow-clouds.wav")]
    assert min(driven) > max(calm), (driven, calm)
    # musicnn would tag the Grey Hours pieces sad more than the Bright Side ones.
    sad = [score("tags_negative", n) for n in ("05-rain-on-slate.ogg", "06-lantern-out.flac", "07-cold-harbour.ogg")]
    glad = [score("tags_negative", n) for n in ("01-sunny-pluck.ogg", "02-bell-parade.ogg", "03-kite-day.mp3")]
    assert min(sad) > max(glad), (sad, glad)


def test_the_shipped_base_embedding_has_no_dead_units_and_its_moods_ignore_the_revived_ones():
    """``base-20261201-1237`` left 27 of its 64 embedding units at zero on every slice (31 on the
    demo). ``scripts/revive_embedding_units.py`` retrained them on the teachers' scores; the
    personal heads and the teacher scores read them, the base's own mood does not (its head and
    the graph's ``probs`` have zero rows for them), so reviving them moved no base mood."""
    from moodtui.mood.analysis import analyse_file
    from moodtui.mood.model import MoodModel
    from moodtui.paths import demo_library_dir, shipped_model_path

    model = MoodModel.load(shipped_model_path())
    revived = model.metadata["revived_units"]["units"]
    assert len(revived) == 27
    names = ("01-sunny-pluck.ogg", "06-lantern-out.flac", "08-tide-pools.ogg", "11-red-line.ogg")
    moods = [analyse_file(demo_library_dir() / name, model) for name in names]
    embeddings = np.concatenate([m.embeddings for m in moods])
    assert int((embeddings.max(axis=0) <= 0).sum()) < 10  # zero on every slice of four pieces
    assert int((embeddings[:, revived].max(axis=0) > 0).sum()) >= 20
    assert not np.asarray(model.metadata["head"]["kernel"])[revived].any()
    # The graph's mood ignores them: the same probabilities whatever they hold.
    shifted = embeddings.copy()
    shifted[:, revived] += 3.0
    np.testing.assert_allclose(model.head_probs(shifted), model.head_probs(embeddings), atol=1e-6)
    for name in ("valence", "energy", "tags_negative"):
        assert np.abs(np.asarray(model.metadata["score_heads"][name]["kernel"])[revived]).max() > 1e-3, name


def test_moodtui_models_shows_the_shipped_base_at_its_held_out_agreement(tmp_path: Path) -> None:
    # The base's row gives the figure the model card and the training summary give (recordings it
    # never trained on), not the validation figure of a head a refit replaced.
    from moodtui.paths import shipped_model_path

    summary = json.loads(shipped_model_path().with_name("moodtui-base-training.json").read_text())
    result = run_moodtui("models", "--json", env_home=tmp_path, text=True)
    assert result.returncode == 0, result.stderr
    (base,) = json.loads(result.stdout)
    assert base["version"] == "base" and base["current"]
    assert base["agreement"] == summary["held_out_target_agreement"]
    assert base["song_accuracy"] is None
