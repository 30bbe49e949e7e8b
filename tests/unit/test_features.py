"""The feature function on real audio: the log-mel against librosa, slicing, the tail slice."""

from __future__ import annotations

import numpy as np
import pytest

from audio_factory import synth
from moodtui.audio.decode import SAMPLE_RATE
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
