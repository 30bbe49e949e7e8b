"""Musical descriptors (moodtui.mood.descriptors) on synthetic signals whose answer is known,
through the real feature function (the model's own input)."""

from __future__ import annotations

import numpy as np
import pytest

from moodtui.mood.descriptors import (
    DESCRIPTOR_COUNT,
    DESCRIPTOR_NAMES,
    SLICE_DESCRIPTOR_NAMES,
    SONG_DESCRIPTOR_NAMES,
    SongCues,
    chroma_folding,
    descriptor_rows,
    slice_descriptors,
    song_descriptors,
)
from moodtui.mood.features import SAMPLE_RATE, mel_band_edges_hz, slice_features

SECONDS = 6.0  # two slices
MODE, CLARITY, BRIGHTNESS, ONSETS, TEMPO, PULSE, LOUDNESS, SPREAD = range(len(SLICE_DESCRIPTOR_NAMES))
SONG_MODE, SONG_CLARITY, SONG_TEMPO = range(len(SLICE_DESCRIPTOR_NAMES), DESCRIPTOR_COUNT)


def midi_hz(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def notes(chord: list[int], seconds: float) -> np.ndarray:
    """Plucked tones (three partials each, decaying)."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(0.6**h * np.sin(2 * np.pi * midi_hz(n) * (h + 1) * t) for n in chord for h in range(3))
    return tone * np.minimum(1.0, t / 0.02) * np.exp(-1.5 * t)


def progression(chords: list[list[int]], chord_s: float = 0.75, seconds: float = SECONDS) -> np.ndarray:
    repeats = int(np.ceil(seconds / (chord_s * len(chords)))) + 1
    audio = np.concatenate([notes(c, chord_s) for c in chords * repeats])[: int(seconds * SAMPLE_RATE)]
    return (0.1 * audio).astype(np.float32)


def clicks(bpm: float, seed: int = 0, seconds: float = SECONDS) -> np.ndarray:
    """Noise bursts on every beat."""
    audio = np.zeros(int(seconds * SAMPLE_RATE), np.float32)
    rng = np.random.default_rng(seed)
    for start in np.arange(0.0, seconds, 60.0 / bpm):
        i = int(start * SAMPLE_RATE)
        n = min(2000, len(audio) - i)
        audio[i : i + n] += 0.3 * rng.standard_normal(n) * np.exp(-np.arange(n) / 300)
    return audio


def describe(audio: np.ndarray) -> np.ndarray:
    out = slice_descriptors(slice_features(audio))
    assert out.shape == (2, len(SLICE_DESCRIPTOR_NAMES)) and out.dtype == np.float32 and np.isfinite(out).all()
    return out


def test_major_and_minor_chord_sequences_have_opposite_modes():
    # I - IV - V - I in C major and in C minor (the same roots, only the thirds differ).
    major = describe(progression([[60, 64, 67], [65, 69, 72], [67, 71, 74], [60, 64, 67]]))
    minor = describe(progression([[60, 63, 67], [65, 68, 72], [67, 70, 74], [60, 63, 67]]))
    assert (major[:, MODE] > 0.1).all(), major[:, MODE]
    assert (minor[:, MODE] < -0.1).all(), minor[:, MODE]
    # Both are clearly tonal, unlike noise.
    noise = describe((0.1 * np.random.default_rng(3).standard_normal(int(SECONDS * SAMPLE_RATE))).astype(np.float32))
    assert major[:, CLARITY].min() > noise[:, CLARITY].max() + 0.2
    assert minor[:, CLARITY].min() > noise[:, CLARITY].max() + 0.2


def test_a_minor_key_elsewhere_is_minor_too():
    # A minor: i - iv - V - i (A C E, D F A, E G# B, A C E): a transposed key is found as well.
    minor = describe(progression([[57, 60, 64], [62, 65, 69], [64, 68, 71], [57, 60, 64]]))
    assert (minor[:, MODE] < 0).all(), minor[:, MODE]


@pytest.mark.parametrize(("slow", "fast"), [(70, 140), (75, 150)])
def test_a_faster_pulse_has_a_higher_tempo_and_more_onsets(slow, fast):
    low, high = describe(clicks(slow)), describe(clicks(fast, seed=1))
    assert np.allclose(2 ** low[:, TEMPO], slow, rtol=0.06), 2 ** low[:, TEMPO]
    assert np.allclose(2 ** high[:, TEMPO], fast, rtol=0.06), 2 ** high[:, TEMPO]
    assert (high[:, ONSETS] > 1.5 * low[:, ONSETS]).all()
    assert (low[:, PULSE] > 0.3).all() and (high[:, PULSE] > 0.3).all()


def test_a_bright_tone_has_a_higher_centroid_than_a_dark_one():
    t = np.arange(int(SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
    dark = describe((0.1 * np.sin(2 * np.pi * 200 * t)).astype(np.float32))
    bright = describe((0.1 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32))
    assert np.allclose(10 ** dark[:, BRIGHTNESS], 200, rtol=0.05)
    assert np.allclose(10 ** bright[:, BRIGHTNESS], 3000, rtol=0.05)


def test_loudness_follows_the_level_and_its_spread_the_dynamics():
    t = np.arange(int(SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
    steady = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    quieter = describe(steady / 10)
    loud = describe(steady)
    assert np.allclose(loud[:, LOUDNESS] - quieter[:, LOUDNESS], 20.0, atol=0.5)  # a tenth of the amplitude: -20 dB
    swelling = describe(steady * (0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t)).astype(np.float32))
    assert (swelling[:, SPREAD] > loud[:, SPREAD] + 3).all()


def test_silence_and_empty_input_give_finite_descriptors():
    silent = describe(np.zeros(int(SECONDS * SAMPLE_RATE), np.float32))
    assert (silent[:, CLARITY] == 0).all() and (silent[:, MODE] == 0).all()
    assert slice_descriptors(np.zeros((0, 128, 146, 1), np.float32)).shape == (0, len(SLICE_DESCRIPTOR_NAMES))
    assert song_descriptors(np.zeros((0, 128, 146, 1), np.float32)).shape == (0, DESCRIPTOR_COUNT)
    assert np.isfinite(SongCues().song()).all()
    with pytest.raises(ValueError):
        slice_descriptors(np.zeros((2, 64, 146), np.float32))


def test_deterministic_and_per_slice():
    audio = progression([[60, 64, 67], [65, 69, 72]])
    features = slice_features(audio)
    whole = slice_descriptors(features)
    np.testing.assert_array_equal(whole, slice_descriptors(features))
    np.testing.assert_array_equal(whole[1:], slice_descriptors(features[1:]))  # a slice's own, whatever its batch
    assert len(DESCRIPTOR_NAMES) == DESCRIPTOR_COUNT == len(SLICE_DESCRIPTOR_NAMES) + len(SONG_DESCRIPTOR_NAMES)


SONG_SECONDS = 30.0  # ten slices: longer than the 8-s tempo windows


@pytest.mark.parametrize("bpm", [84, 96, 100, 132])
def test_the_song_tempo_is_found_over_the_whole_song(bpm):
    """Within the lag step at 50 frames/s (1.2 % at 132 BPM)."""
    rows = song_descriptors(slice_features(clicks(bpm, seed=bpm, seconds=SONG_SECONDS)))
    assert rows.shape == (10, DESCRIPTOR_COUNT)
    assert np.allclose(2 ** rows[:, SONG_TEMPO], bpm, rtol=0.015), 2 ** rows[0, SONG_TEMPO]
    assert (rows[:, SONG_TEMPO] == rows[0, SONG_TEMPO]).all()  # one song, one tempo


def test_the_song_onset_envelope_keeps_time_across_the_slices():
    """A slice's 146 frames start over 2.9 s of its 3 s: its flux is followed by the missing
    frames, so a click every 0.6 s is a peak every 30 frames from the first slice to the last
    (laid end to end, each slice's peaks came 5 frames early, 45 by the tenth)."""
    cues = SongCues()
    cues.add(slice_features(clicks(100, seed=1, seconds=SONG_SECONDS)))
    envelope = cues.onset_envelope()
    assert len(envelope) == 10 * 150
    peaks = [int(np.argmax(envelope[start : start + 30])) + start for start in range(0, len(envelope) - 30, 30)]
    offsets = np.array(peaks) % 30
    assert np.ptp(offsets) <= 2, offsets  # one phase all through


def song_of(audio: np.ndarray) -> np.ndarray:
    return song_descriptors(slice_features(audio), audio)


def test_the_song_mode_of_a_major_and_a_minor_song():
    # The same roots; only the thirds differ. Then A minor (with its major V, G#).
    major = song_of(progression([[60, 64, 67], [65, 69, 72], [67, 71, 74], [60, 64, 67]], seconds=SONG_SECONDS))
    minor = song_of(progression([[60, 63, 67], [65, 68, 72], [67, 70, 74], [60, 63, 67]], seconds=SONG_SECONDS))
    a_minor = song_of(progression([[57, 60, 64], [62, 65, 69], [64, 68, 71], [57, 60, 64]], seconds=SONG_SECONDS))
    assert major[0, SONG_MODE] > 0.1 and minor[0, SONG_MODE] < -0.1, (major[0, SONG_MODE], minor[0, SONG_MODE])
    assert a_minor[0, SONG_MODE] < 0, a_minor[0, SONG_MODE]
    assert min(major[0, SONG_CLARITY], minor[0, SONG_CLARITY]) > 0.5
    noise = (0.1 * np.random.default_rng(3).standard_normal(int(SONG_SECONDS * SAMPLE_RATE))).astype(np.float32)
    assert song_of(noise)[0, SONG_CLARITY] < major[0, SONG_CLARITY] - 0.2
    # Without the audio there is no pitch profile: no key rather than a guess.
    assert (song_descriptors(slice_features(noise))[:, [SONG_MODE, SONG_CLARITY]] == 0).all()


def test_song_cues_gathered_block_by_block_equal_the_whole_song_at_once():
    audio = clicks(120, seconds=SONG_SECONDS) + progression([[60, 63, 67]], seconds=SONG_SECONDS)
    features = slice_features(audio)
    cues = SongCues()
    for start in range(0, len(features), 3):  # as the analysis feeds its blocks
        block = slice(start * 66_150, (start + 3) * 66_150)
        cues.hear(audio[block])
        cues.add(features[start : start + 3])
    np.testing.assert_allclose(cues.song(), song_of(audio)[0, len(SLICE_DESCRIPTOR_NAMES) :], rtol=1e-4, atol=1e-4)
    rows = descriptor_rows(slice_descriptors(features), cues.song())
    np.testing.assert_array_equal(rows[:, : len(SLICE_DESCRIPTOR_NAMES)], slice_descriptors(features))
    # The analysis hands the onsets over from the slice descriptors (computed once): the same song.
    handed = SongCues()
    handed.hear(audio)
    for start in range(0, len(features), 3):
        slice_descriptors(features[start : start + 3], handed)
    np.testing.assert_allclose(handed.song(), cues.song(), rtol=1e-4, atol=1e-4)


def test_the_chroma_folding_spans_the_narrow_bands_only():
    folding = chroma_folding()
    assert folding.shape == (12, 128)
    used = folding.sum(axis=0) > 0
    assert np.allclose(folding.sum(axis=0)[used], 1.0)
    centres = mel_band_edges_hz()[1:-1]
    # Bands below 400 Hz (wider than a semitone) and above 5 kHz are left out.
    assert (centres[used] >= 400).all() and (centres[used] <= 5000).all() and 60 < used.sum() < 100


def test_the_pitch_folding_hears_the_bass_and_middle_voices_only():
    from moodtui.mood.descriptors import PITCH_FFT, PITCH_RATE, pitch_folding

    folding = pitch_folding()
    freqs = np.fft.rfftfreq(PITCH_FFT, 1.0 / PITCH_RATE)
    used = folding.sum(axis=0) > 0
    assert folding.shape == (12, PITCH_FFT // 2 + 1)
    assert (freqs[used] >= 32.7).all() and (freqs[used] <= 1300).all()
    # A bin on A (220 Hz) gives most to pitch class A (9), next to nothing a semitone away.
    a = int(np.argmin(np.abs(freqs - 220.0)))
    assert folding[:, a].argmax() == 9 and folding[8, a] < 0.1 * folding[9, a]

    # Each octave weighs alike (constant Q): A3's bins together give as much as A5's, not a
    # quarter of them (a semitone spans four times as many bins two octaves up).
    def octave_weight(hz: float) -> float:
        near = np.abs(12 * np.log2(np.maximum(freqs, 1.0) / hz)) < 0.5
        return float(folding[9, near].sum())

    assert 0.7 < octave_weight(880.0) / octave_weight(220.0) < 1.4


def test_a_long_mix_costs_no_more_than_its_first_minutes():
    from moodtui.mood.descriptors import FRAME_RATE, PITCH_HOP, PITCH_RATE, PITCH_SECONDS, TEMPO_SECONDS

    cues = SongCues()
    block = np.zeros(20 * 66_150, np.float32)  # 60 s
    flux = np.zeros((20, 145))
    for _ in range(int(TEMPO_SECONDS / 60) + 10):
        cues.hear(block)
        cues.add_flux(flux)
    kept = sum(len(row) for row in cues._flux)
    assert kept <= TEMPO_SECONDS * FRAME_RATE + 20 * 145
    assert cues._pitch_frames * PITCH_HOP / PITCH_RATE <= PITCH_SECONDS + 60
    assert np.isfinite(cues.song()).all()


def test_a_head_fitted_to_other_descriptor_definitions_scores_at_its_mean_descriptors():
    from moodtui.mood.descriptors import DESCRIPTORS_VERSION
    from moodtui.mood.model import apply_head

    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((5, 4)).astype(np.float32)
    descriptors = rng.standard_normal((5, DESCRIPTOR_COUNT)).astype(np.float32)
    head = {
        "kernel": rng.standard_normal((4, 3)).tolist(),
        "bias": [0.1, 0.0, -0.1],
        "descriptors": {
            "names": list(DESCRIPTOR_NAMES),
            "kernel": (3 * rng.standard_normal((DESCRIPTOR_COUNT, 3))).tolist(),
            "mean": np.zeros(DESCRIPTOR_COUNT).tolist(),
            "version": DESCRIPTORS_VERSION,
        },
    }
    at_mean = apply_head(head, embeddings, None)
    assert not np.allclose(apply_head(head, embeddings, descriptors), at_mean)
    # The same weights fitted to an older definition: their values meant something else.
    older = {**head, "descriptors": {**head["descriptors"], "version": "desc-0"}}
    np.testing.assert_allclose(apply_head(older, embeddings, descriptors), at_mean)
