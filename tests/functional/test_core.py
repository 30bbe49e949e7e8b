"""The core pipeline on real audio: decoding, the feature function, slicing, the ONNX model."""

from __future__ import annotations

import json
import shutil
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile

from audio_factory import SR, synth, write_song
from moodtui import CLASSES
from moodtui.audio.decode import SAMPLE_RATE, decode, decode_blocks
from moodtui.errors import AudioError, ModelError
from moodtui.mood.analysis import analyse_file
from moodtui.mood.features import (
    FEATURE_PARAMS,
    FRAMES_PER_SLICE,
    N_MELS,
    SLICE_SAMPLES,
    log_mel,
    mel_filterbank,
    slice_features,
    track_slices,
)
from moodtui.mood.model import MoodModel


def test_mel_filterbank_matches_librosa():
    import librosa

    reference = librosa.filters.mel(
        sr=SAMPLE_RATE,
        n_fft=2048,
        n_mels=N_MELS,
        fmin=FEATURE_PARAMS["fmin"],
        fmax=FEATURE_PARAMS["fmax"],
        htk=False,
        norm="slaney",
    )
    np.testing.assert_allclose(mel_filterbank(), reference, rtol=1e-4, atol=1e-7)


def test_log_mel_matches_librosa_melspectrogram():
    import librosa

    audio = synth("positive", 3.0)
    ours = log_mel(audio)
    power = librosa.feature.melspectrogram(
        y=audio,
        sr=SAMPLE_RATE,
        n_fft=2048,
        hop_length=441,
        center=False,
        n_mels=N_MELS,
        fmin=FEATURE_PARAMS["fmin"],
        fmax=FEATURE_PARAMS["fmax"],
        window="hann",
        power=2.0,
    )
    reference = (10 * np.log10(np.maximum(power, 1e-10)) - FEATURE_PARAMS["norm_mean_db"]) / FEATURE_PARAMS[
        "norm_std_db"
    ]
    assert ours.shape == reference.shape == (N_MELS, FRAMES_PER_SLICE)
    np.testing.assert_allclose(ours, reference, atol=2e-3)


def test_slice_features_are_the_log_mel_frames_of_each_slice():
    # log_mel works in chunks of 146 frames from frame 0 (the last one partial: 7.5 s is 371
    # frames), slice_features computes only each slice's frames 150k .. 150k+145: the same values.
    audio = synth("positive", 7.5, seed=2)
    full = log_mel(audio)
    assert full.shape == (N_MELS, 1 + (audio.size - 2048) // 441)
    sliced = slice_features(audio)
    assert sliced.shape == (2, N_MELS, FRAMES_PER_SLICE, 1)
    for k in range(2):
        np.testing.assert_allclose(sliced[k, :, :, 0], full[:, 150 * k : 150 * k + FRAMES_PER_SLICE], atol=1e-5)


def test_whole_block_spectrogram_sliced_equals_per_slice_features():
    audio = synth("negative", 12.0, seed=3)
    block = slice_features(audio)
    assert block.shape == (4, N_MELS, FRAMES_PER_SLICE, 1)
    for k in range(4):
        alone = slice_features(audio[k * SLICE_SAMPLES : (k + 1) * SLICE_SAMPLES])
        np.testing.assert_allclose(block[k], alone[0], atol=1e-5)


@pytest.mark.parametrize(
    "seconds, starts",
    [
        (9.0, [0.0, 3.0, 6.0]),  # whole slices only
        (10.5, [0.0, 3.0, 6.0, 7.5]),  # a 1.5 s tail becomes the track's last 3 s
        (9.5, [0.0, 3.0, 6.0]),  # a 0.5 s tail is dropped
        (3.0, [0.0]),
    ],
)
def test_slicing_covers_the_track_and_documents_the_tail(seconds, starts):
    audio = synth("neutral", seconds)
    blocks = (audio[i : i + 2 * SLICE_SAMPLES] for i in range(0, audio.size, 2 * SLICE_SAMPLES))
    got = np.concatenate([b.starts_s for b in track_slices(blocks)])
    np.testing.assert_allclose(got, starts)


def test_tail_slice_is_the_last_three_seconds():
    audio = synth("positive", 10.5, seed=1)
    batches = list(track_slices(iter([audio[: 3 * SLICE_SAMPLES], audio[3 * SLICE_SAMPLES :]])))
    tail = batches[-1].features[0]
    np.testing.assert_allclose(tail, slice_features(audio[-SLICE_SAMPLES:])[0], atol=1e-5)


@pytest.mark.parametrize("ext, kwargs", [(".wav", {}), (".flac", {}), (".ogg", {}), (".mp3", {}), (".opus", {})])
def test_native_formats_decode_to_mono_at_the_model_rate(tmp_path, ext, kwargs):
    path = write_song(tmp_path / f"song{ext}", "positive", 4.0, sr=44_100 if ext != ".opus" else 48_000, **kwargs)
    audio = decode(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    # Codecs pad a little (mp3/opus priming); the length must be about 4 s at 22,050 Hz.
    assert abs(audio.size / SAMPLE_RATE - 4.0) < 0.15
    assert 0.05 < np.abs(audio).max() < 1.5


def test_stereo_is_downmixed(tmp_path):
    left = synth("positive", 3.5)
    stereo = np.stack([left, -left * 0 + 0.5 * left], axis=1)
    soundfile.write(tmp_path / "stereo.wav", stereo, SR)
    audio = decode(tmp_path / "stereo.wav")
    np.testing.assert_allclose(audio, 0.75 * left, atol=1e-4)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_m4a_decodes_through_ffmpeg(tmp_path):
    wav = write_song(tmp_path / "song.wav", "neutral", 4.0)
    m4a = tmp_path / "song.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
    audio = decode(m4a)
    assert abs(audio.size / SAMPLE_RATE - 4.0) < 0.15


def test_m4a_without_ffmpeg_names_ffmpeg(tmp_path, monkeypatch):
    m4a = tmp_path / "song.m4a"
    m4a.write_bytes(b"\0\0\0\x20ftypM4A " + b"\0" * 100)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(AudioError, match=r"song\.m4a: m4a files need ffmpeg to decode; install ffmpeg"):
        decode(m4a)


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


def test_decode_blocks_have_the_requested_size(tmp_path):
    path = write_song(tmp_path / "song.flac", "negative", 10.0)
    sizes = [b.size for b in decode_blocks(path, 2 * SLICE_SAMPLES, first_block_samples=SLICE_SAMPLES)]
    assert sizes[0] == SLICE_SAMPLES
    assert all(s == 2 * SLICE_SAMPLES for s in sizes[1:-1])
    assert sum(sizes) == 10 * SAMPLE_RATE


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
    from moodtui.mood.descriptors import DESCRIPTOR_COUNT, slice_descriptors
    from moodtui.sqlite_cache import Cache

    model = MoodModel.load(small_model)
    path = write_song(tmp_path / "song.wav", "positive", 10.0, seed=4)
    mood = analyse_file(path, model)
    expected = slice_descriptors(
        np.concatenate([b.features for b in track_slices(decode_blocks(path, SLICE_SAMPLES * 20))])
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
    meta["version"] = "with-descriptors"
    meta["head"]["descriptors"] = {"names": list(DESCRIPTOR_NAMES), "kernel": weights.tolist(), "mean": [3.0] * 8}
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
    meta["head"]["descriptors"]["names"] = ["mode"] * 8
    onnx.with_suffix(".json").write_text(json.dumps(meta))
    assert not MoodModel.load(onnx).uses_descriptors

    cache = AnalysisCache(Cache(tmp_path / "cache.sqlite"))
    cache.put(analyse_file(path, base), base)
    assert cache.rescore(model) == 1
    np.testing.assert_allclose(cache.get(path, model).slice_probs, analyse_file(path, model).slice_probs, atol=2e-3)
