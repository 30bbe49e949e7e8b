"""Confidence that means something: temperature scaling, "unsure", and the energy axis."""

from __future__ import annotations

import numpy as np
import pytest

from audio_factory import write_song
from moodtui.mood.analysis import AnalysisCache, SongMood, analyse_cached, song_probabilities
from moodtui.mood.model import MoodModel, calibrate
from moodtui.train.job import expected_calibration_error, fit_calibration


def overconfident_fixture(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Songs whose true class is drawn from softened probabilities, reported sharpened (T = 2.5)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.2, size=(n, 3))
    true_probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(3, p=p) for p in true_probs])
    reported = calibrate(true_probs, 1 / 2.5)  # the model's probabilities: too sure of itself
    return reported, labels


def test_calibrate_is_identity_at_one_and_keeps_the_argmax():
    probs = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3]])
    assert np.allclose(calibrate(probs, 1.0), probs)
    softened = calibrate(probs, 2.0)
    assert (softened.argmax(1) == probs.argmax(1)).all()
    assert (softened.max(1) < probs.max(1)).all()
    assert np.allclose(softened.sum(1), 1.0)


def test_temperature_fit_recovers_the_overconfidence_and_lowers_the_calibration_error():
    probs, labels = overconfident_fixture()
    block = fit_calibration(probs, labels)
    assert block["temperature"] == pytest.approx(2.5, rel=0.25)
    assert block["ece_after"] < block["ece_before"] / 2
    assert block["nll_after"] < block["nll_before"]
    # On fresh songs from the same source, "80 %" is now right about 80 % of the time.
    fresh, fresh_labels = overconfident_fixture(seed=1)
    assert expected_calibration_error(calibrate(fresh, block["temperature"]), fresh_labels) < 0.06
    assert expected_calibration_error(fresh, fresh_labels) > 0.12


def test_too_few_songs_are_not_calibrated():
    probs, labels = overconfident_fixture(n=10)
    block = fit_calibration(probs, labels)
    assert block["temperature"] == 1.0 and "not calibrated" in block["note"]


def test_song_mood_uses_the_model_calibration_and_says_unsure():
    slices = np.array([[0.5, 0.3, 0.2], [0.6, 0.3, 0.1]], np.float32)
    sure = SongMood("a.ogg", 6.0, np.array([0.0, 3.0]), slices, np.zeros((2, 0)), "v", temperature=1.0)
    soft = SongMood("a.ogg", 6.0, np.array([0.0, 3.0]), slices, np.zeros((2, 0)), "v", temperature=3.0)
    assert sure.confidence == pytest.approx(0.55) and not sure.unsure
    assert soft.label == sure.label and soft.confidence < 0.5 and soft.unsure
    assert np.allclose(soft.song_probs, song_probabilities(slices, 3.0))
    assert soft.to_json()["song"]["unsure"] is True


def test_energy_from_the_onnx_output_equals_energy_from_cached_embeddings(tmp_path, model_env, small_model):
    model = MoodModel.load(small_model)
    assert model.has_energy
    song = write_song(tmp_path / "song.wav", "positive", 9.0)
    cache = AnalysisCache()
    fresh = analyse_cached(song, model, cache)
    assert fresh.slice_energy is not None and len(fresh.slice_energy) == 3
    cached = cache.get(song, model)
    assert cached is not None and cached.slice_energy is not None
    # float16 embeddings in the cache: equal to a few thousandths
    assert np.allclose(cached.slice_energy, fresh.slice_energy, atol=5e-3)
    assert cache.song_energies(model)[str(song)] == pytest.approx(fresh.energy, abs=5e-3)
