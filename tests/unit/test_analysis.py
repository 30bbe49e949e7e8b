"""Analysis with the real small ONNX model, in-process: song moods from slices, streaming, refused
models, bounded memory on a long track, descriptors and the heads that read them.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile

from audio_factory import write_song
from moodtui import CLASSES
from moodtui.audio.decode import decode, decode_blocks
from moodtui.errors import AudioError, ModelError
from moodtui.mood.analysis import analyse_file
from moodtui.mood.features import (
    SLICE_SAMPLES,
    slice_features,
    track_slices,
)
from moodtui.mood.model import MoodModel


def test_long_track_is_analysed_in_bounded_memory(tmp_path, small_model):
    # 20 minutes: decoding it whole at 22,050 Hz float32 would take 106 MB.
    path = tmp_path / "long.wav"
    minutes = 20
    with soundfile.SoundFile(path, "w", samplerate=8000, channels=1, subtype="PCM_16") as out:
        for m in range(minutes):
            out.write(0.2 * np.sin(2 * np.pi * 220 * np.arange(8000 * 60) / 8000 + m))
    model = MoodModel.load(small_model)
    tracemalloc.start()
    mood = analyse_file(path, model)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(mood.starts_s) == minutes * 20
    assert peak < 60e6, f"peak {peak / 1e6:.0f} MB"


def test_analysis_song_level_is_mean_of_slices_with_votes(tmp_path, small_model):
    path = write_song(tmp_path / "song.wav", "positive", 10.0, seed=2)
    mood = analyse_file(path, MoodModel.load(small_model))
    assert mood.slice_probs.shape == (4, 3)
    np.testing.assert_allclose(mood.slice_probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(mood.song_probs, mood.slice_probs.mean(axis=0))
    assert mood.votes.sum() == pytest.approx(1.0)
    assert mood.slice_at(0.0) == 0 and mood.slice_at(3.0) == 1 and mood.slice_at(9.9) == 3
    assert mood.embeddings.shape[0] == 4


def test_small_model_separates_the_synthetic_moods(tmp_path, small_model):
    model = MoodModel.load(small_model)
    correct = 0
    for k, label in enumerate(CLASSES * 2):
        path = write_song(tmp_path / f"{label}{k}.wav", label, 6.0, seed=10 + k)
        correct += analyse_file(path, model).label == label
    assert correct >= 5, f"{correct}/6 unseen synthetic songs right"


def test_streaming_first_block_reports_early(tmp_path, small_model):
    path = write_song(tmp_path / "song.ogg", "neutral", 12.0)
    calls = []
    analyse_file(path, MoodModel.load(small_model), on_slices=lambda s, p: calls.append(len(s)), first_block_slices=1)
    assert calls[0] == 1 and sum(calls) == 4


def _copy_model(small_model: Path, dest: Path) -> Path:
    for suffix in (".onnx", ".json"):
        shutil.copy(small_model.with_suffix(suffix), dest / f"m{suffix}")
    return dest / "m.onnx"


def test_model_with_other_features_is_refused(tmp_path, small_model):
    onnx = _copy_model(small_model, tmp_path)
    meta = json.loads(onnx.with_suffix(".json").read_text())
    meta["feature"]["n_mels"] = 96
    onnx.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"trained on other features \(n_mels: model 96 vs code 128\)"):
        MoodModel.load(onnx)


def test_model_with_other_class_order_is_refused(tmp_path, small_model):
    onnx = _copy_model(small_model, tmp_path)
    meta = json.loads(onnx.with_suffix(".json").read_text())
    meta["classes"] = ["negative", "neutral", "positive"]
    onnx.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="class order"):
        MoodModel.load(onnx)


def test_damaged_onnx_file_is_a_clear_error(tmp_path, small_model):
    onnx = _copy_model(small_model, tmp_path)
    onnx.write_bytes(onnx.read_bytes()[:1000])
    with pytest.raises(ModelError, match="cannot load ONNX model"):
        MoodModel.load(onnx)


def test_too_short_track_is_an_error(tmp_path, small_model):
    path = write_song(tmp_path / "short.wav", "positive", 2.0)
    with pytest.raises(AudioError, match=r"short\.wav: too short \(2\.0 s; at least 3 s needed\)"):
        analyse_file(path, MoodModel.load(small_model))


def test_analysis_gives_each_slice_its_descriptors_and_the_cache_keeps_them(tmp_path, small_model):
    from moodtui.mood.analysis import AnalysisCache, analyse_paths
    from moodtui.mood.descriptors import DESCRIPTOR_COUNT, song_descriptors
    from moodtui.sqlite_cache import Cache

    model = MoodModel.load(small_model)
    path = write_song(tmp_path / "song.wav", "positive", 10.0, seed=4)
    mood = analyse_file(path, model)
    # Each slice's own descriptors, then the whole song's (its audio and all its slices).
    expected = song_descriptors(
        np.concatenate([b.features for b in track_slices(decode_blocks(path, SLICE_SAMPLES * 20))]), decode(path)
    )
    assert mood.descriptors is not None and mood.descriptors.shape == (4, DESCRIPTOR_COUNT)
    np.testing.assert_allclose(mood.descriptors, expected, rtol=1e-5, atol=1e-5)
    # The base's probabilities are the graph's own: the descriptors change nothing for it.
    np.testing.assert_array_equal(
        model.predict(slice_features(decode(path))).probs, model.run(slice_features(decode(path))).probs
    )

    cache = AnalysisCache(Cache(tmp_path / "cache.sqlite"))
    cache.put(mood, model)
    np.testing.assert_array_equal(cache.get(path, model).descriptors, mood.descriptors)
    np.testing.assert_array_equal(cache.descriptors(path), mood.descriptors)
    # A row cached before descriptors existed: still a hit for the player, but a retrain (which
    # needs them) analyses the file again, and the descriptors are cached from then on.
    with cache.cache.writing() as conn:
        conn.execute("DELETE FROM descriptors_v1")
    assert cache.get(path, model).descriptors is None and cache.descriptors(path) is None
    results = []
    analyse_paths([str(path)], model, cache, workers=1, on_result=results.append)
    assert results[-1].cached and results[-1].mood.descriptors is None
    analyse_paths([str(path)], model, cache, workers=1, on_result=results.append, need_embeddings=True)
    assert not results[-1].cached
    np.testing.assert_allclose(cache.descriptors(path), mood.descriptors)


def test_a_head_that_reads_descriptors_scores_slices_live_and_from_the_cache(tmp_path, small_model):
    from moodtui.mood.analysis import AnalysisCache
    from moodtui.mood.descriptors import DESCRIPTOR_COUNT, DESCRIPTOR_NAMES
    from moodtui.mood.model import apply_head
    from moodtui.sqlite_cache import Cache

    base = MoodModel.load(small_model)
    onnx = _copy_model(small_model, tmp_path)
    meta = json.loads(onnx.with_suffix(".json").read_text())
    weights = np.zeros((DESCRIPTOR_COUNT, 3))
    weights[DESCRIPTOR_NAMES.index("brightness")] = [8.0, 0.0, -8.0]  # brighter: more positive
    weights[DESCRIPTOR_NAMES.index("song_tempo")] = [2.0, 0.0, -2.0]  # faster: more positive
    meta["version"] = "with-descriptors"
    meta["head"]["descriptors"] = {
        "names": list(DESCRIPTOR_NAMES),
        "kernel": weights.tolist(),
        "mean": [3.0] * DESCRIPTOR_COUNT,
    }
    onnx.with_suffix(".json").write_text(json.dumps(meta))
    model = MoodModel.load(onnx)
    assert model.uses_descriptors and not base.uses_descriptors

    path = write_song(tmp_path / "song.wav", "negative", 9.0, seed=6)
    features = slice_features(decode(path))
    graph, live = model.run(features), model.predict(features)
    np.testing.assert_allclose(graph.probs, base.predict(features).probs, atol=1e-6)  # the graph is unchanged
    np.testing.assert_allclose(live.probs, apply_head(meta["head"], live.embeddings, live.descriptors), atol=1e-6)
    assert np.abs(live.probs - graph.probs).max() > 0.05
    # Without descriptors (an old cache) the head is the graph's: descriptors at their mean.
    np.testing.assert_allclose(model.head_probs(graph.embeddings), graph.probs, atol=1e-5)
    # Another definition of the descriptors is never mixed in: the embedding part alone.
    meta["head"]["descriptors"]["names"] = ["mode"] * DESCRIPTOR_COUNT
    onnx.with_suffix(".json").write_text(json.dumps(meta))
    assert not MoodModel.load(onnx).uses_descriptors

    # A whole song's analysis scores every slice with the whole song's descriptors (the live
    # ones, block by block, knew only the part so far).
    whole = analyse_file(path, model, first_block_slices=1)
    assert whole.descriptors is not None and (whole.descriptors[:, -3:] == whole.descriptors[0, -3:]).all()
    np.testing.assert_allclose(whole.slice_probs, model.head_probs(whole.embeddings, whole.descriptors), atol=1e-6)

    cache = AnalysisCache(Cache(tmp_path / "cache.sqlite"))
    cache.put(analyse_file(path, base), base)
    assert cache.rescore(model) == 1
    np.testing.assert_allclose(cache.get(path, model).slice_probs, analyse_file(path, model).slice_probs, atol=2e-3)


def _read_ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "moodtui-read-ahead"]


def _open_descriptors_to(path: Path) -> int:
    fds = Path("/proc/self/fd")
    return sum(1 for fd in fds.iterdir() if os.path.realpath(fd) == str(path.resolve()))


def test_reading_ahead_gives_the_same_analysis_and_decodes_in_its_own_thread(tmp_path, small_model, monkeypatch):
    from moodtui.mood import analysis

    monkeypatch.setattr(analysis, "BLOCK_SLICES", 2)  # 6-s blocks: several of them to read ahead
    whole = write_song(tmp_path / "whole.flac", "negative", 20.0, seed=4)
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 3])  # a truncated download
    model = MoodModel.load(small_model)
    seen: list[int] = []  # read-ahead threads alive as each block's slices come in
    for path in (whole, cut):
        plain = analyse_file(path, model, first_block_slices=2)
        seen.clear()
        ahead = analyse_file(
            path,
            model,
            read_ahead=True,
            first_block_slices=2,
            on_slices=lambda s, p: seen.append(len(_read_ahead_threads())),
        )
        # The first block's slices are in while the thread decodes the next (it ends after the last).
        assert seen[0] == 1, "no thread decoded ahead while the slices came in"
        np.testing.assert_array_equal(ahead.slice_probs, plain.slice_probs)
        np.testing.assert_array_equal(ahead.embeddings, plain.embeddings)
        np.testing.assert_array_equal(ahead.descriptors, plain.descriptors)
        np.testing.assert_array_equal(ahead.starts_s, plain.starts_s)
        assert (ahead.duration_s, ahead.warning) == (plain.duration_s, plain.warning)
    assert plain.warning is not None and "truncated" in plain.warning
    assert _read_ahead_threads() == []


def test_reading_ahead_stops_its_thread_and_closes_the_file_on_cancel_and_on_errors(tmp_path, small_model, monkeypatch):
    from moodtui.mood import analysis

    monkeypatch.setattr(analysis, "BLOCK_SLICES", 1)
    path = write_song(tmp_path / "song.flac", "positive", 30.0, seed=5)
    model = MoodModel.load(small_model)
    blocks = 0

    def cancel_after_two() -> bool:
        nonlocal blocks
        blocks += 1
        return blocks > 2

    with pytest.raises(AudioError, match="analysis cancelled"):
        analyse_file(path, model, read_ahead=True, cancelled=cancel_after_two, first_block_slices=1)
    # At once: the thread is gone and the file closed when the error reaches the caller.
    assert _read_ahead_threads() == [] and _open_descriptors_to(path) == 0

    broken = tmp_path / "broken.flac"
    broken.write_bytes(b"")  # refused by the decoder, which runs in the read-ahead thread
    with pytest.raises(AudioError) as plain:
        analyse_file(broken, model)
    with pytest.raises(AudioError) as ahead:
        analyse_file(broken, model, read_ahead=True)
    assert str(ahead.value) == str(plain.value)
    assert _read_ahead_threads() == []
