"""The one feature function: mono audio -> normalised 128-band log-mel slices.

Training (``moodtui train``) and inference (the player, ``moodtui predict``) both call
:func:`slice_features`, so the model always sees exactly what it was trained on. The parameters
are written into every model's metadata and checked when a model is loaded.

Slicing a whole-block spectrogram equals computing each 3-s slice on its own: the STFT is not
centred and the hop (441 samples) divides the slice length (66,150 samples = 150 hops), so the
146 frames of slice k are frames 150k .. 150k+145 of the block. A block's slices are therefore
taken from one strided view of the block's frames (only the frames slices use), each written
straight into its place in the model's input.

The mel filterbank is computed here with numpy (Slaney mel scale and area normalisation, the
same as ``librosa.filters.mel``; a test checks the two agree) so that the player never pays
librosa's multi-second first-call cost.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
import scipy.sparse

from moodtui.audio.decode import SAMPLE_RATE

SLICE_SECONDS = 3
SLICE_SAMPLES = SAMPLE_RATE * SLICE_SECONDS
N_FFT = 2048
HOP = 441
N_MELS = 128
FMIN = 30.0
FMAX = SAMPLE_RATE / 2
HOPS_PER_SLICE = SLICE_SAMPLES // HOP  # 150
FRAMES_PER_SLICE = 1 + (SLICE_SAMPLES - N_FFT) // HOP  # 146
DB_FLOOR_POWER = 1e-10
# Fixed normalisation (not per slice) so loudness, which carries mood, survives: measured on
# music decoded by this code (dB of mel power spectra, mean about -30 dB, spread about 20 dB).
NORM_MEAN_DB = -30.0
NORM_STD_DB = 20.0
# A tail of at least this much audio after the last full slice becomes one more slice made of
# the track's last 3 s; a shorter tail is dropped.
MIN_TAIL_SECONDS = 1.0

assert SLICE_SAMPLES % HOP == 0

INPUT_SHAPE = (N_MELS, FRAMES_PER_SLICE, 1)
"""The model's input per slice: mel bands x frames x one channel."""

FEATURE_PARAMS: dict[str, object] = {
    "sample_rate": SAMPLE_RATE,
    "slice_seconds": SLICE_SECONDS,
    "n_fft": N_FFT,
    "hop_length": HOP,
    "window": "hann",
    "center": False,
    "n_mels": N_MELS,
    "fmin": FMIN,
    "fmax": FMAX,
    "mel_scale": "slaney",
    "mel_norm": "slaney",
    "power": 2.0,
    "db_floor_power": DB_FLOOR_POWER,
    "norm_mean_db": NORM_MEAN_DB,
    "norm_std_db": NORM_STD_DB,
    "frames_per_slice": FRAMES_PER_SLICE,
    "min_tail_seconds": MIN_TAIL_SECONDS,
    "input_shape": list(INPUT_SHAPE),
}


@lru_cache(maxsize=1)
def mel_band_edges_hz() -> np.ndarray:
    """The N_MELS + 2 corner frequencies of the mel bands, Hz: band k rises from corner k, peaks at
    corner k + 1 (its centre) and falls to corner k + 2."""
    return _mel_to_hz(np.linspace(_hz_to_mel(FMIN), _hz_to_mel(FMAX), N_MELS + 2))


@lru_cache(maxsize=1)
def mel_filterbank() -> np.ndarray:
    """(N_MELS, N_FFT//2+1) float32 Slaney mel filterbank, area-normalised."""
    fft_freqs = np.linspace(0.0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    hz_points = mel_band_edges_hz()
    fdiff = np.diff(hz_points)
    ramps = hz_points[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (hz_points[2:] - hz_points[:-2]))[:, None]
    return weights.astype(np.float32)


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    hz = np.asanyarray(hz, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(hz >= min_log_hz, min_log_mel + np.log(np.maximum(hz, 1e-10) / min_log_hz) / logstep, hz / f_sp)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(mel >= min_log_mel, min_log_hz * np.exp(logstep * (mel - min_log_mel)), f_sp * mel)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    # Periodic Hann, as scipy.signal.get_window("hann", N_FFT) and librosa use.
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)


@lru_cache(maxsize=1)
def _mel_matrix() -> scipy.sparse.csr_matrix:
    """The filterbank as a sparse matrix: 2,013 of its 131,200 weights are non-zero, so the mel
    sums cost a sixtieth of the dense product, in one single-threaded call (no BLAS threads)."""
    return scipy.sparse.csr_matrix(mel_filterbank())


class _MelPower:
    """Mel power spectra of windowed frames, a slice's worth (146 frames) at a time.

    Chunks this small keep the frames, the spectrum and the power in the CPU cache: the FFT alone
    is a third cheaper than in chunks of 1,024 frames (measured). The buffers are reused across
    chunks; the power is laid out bins x frames so the sparse product reads it contiguously
    (a product with the frames x bins layout costs ten times more: it transposes 50 MB).
    """

    def __init__(self) -> None:
        self._windowed = np.empty((FRAMES_PER_SLICE, N_FFT), dtype=np.float32)
        self._power = np.empty((FRAMES_PER_SLICE, N_FFT // 2 + 1), dtype=np.float32)
        self._power_by_bin = np.empty((N_FFT // 2 + 1, FRAMES_PER_SLICE), dtype=np.float32)

    def into(self, frames: np.ndarray, out: np.ndarray) -> None:
        """``frames`` (m <= 146, N_FFT), a view of the audio -> ``out`` (N_MELS, m), mel power."""
        m = frames.shape[0]
        windowed = self._windowed[:m]
        np.multiply(frames, _window(), out=windowed)
        spectrum = scipy.fft.rfft(windowed, axis=1, workers=1, overwrite_x=True)  # complex64
        parts = spectrum.view(np.float32)  # re, im interleaved
        np.square(parts, out=parts)
        power = self._power[:m]
        np.add(parts[:, 0::2], parts[:, 1::2], out=power)
        by_bin = self._power_by_bin if m == FRAMES_PER_SLICE else np.empty((N_FFT // 2 + 1, m), np.float32)
        by_bin[...] = power.T
        out[...] = _mel_matrix() @ by_bin


def _normalised_log(power: np.ndarray) -> np.ndarray:
    """Mel power -> normalised dB, in place."""
    np.maximum(power, DB_FLOOR_POWER, out=power)
    np.log10(power, out=power)
    power *= 10.0 / NORM_STD_DB
    power -= NORM_MEAN_DB / NORM_STD_DB
    return power


def _frames(samples: np.ndarray) -> np.ndarray:
    """Every STFT frame of ``samples`` (not centred), a strided view (no copy)."""
    return np.lib.stride_tricks.sliding_window_view(samples, N_FFT)[::HOP]


def log_mel(samples: np.ndarray) -> np.ndarray:
    """Normalised log-mel spectrogram (N_MELS, frames) float32 of mono audio at SAMPLE_RATE.

    float32 throughout: one real FFT call per chunk of frames (windowed into a reused buffer),
    the mel sums as one sparse product per chunk. Not a dense filterbank product: that went
    through BLAS, whose threads tripled the CPU time on a busy machine (and fought the analysis
    pool's processes for the cores).
    """
    samples = np.ascontiguousarray(samples, dtype=np.float32)
    if samples.size < N_FFT:
        return np.zeros((N_MELS, 0), dtype=np.float32)
    frames = _frames(samples)
    out = np.empty((N_MELS, frames.shape[0]), dtype=np.float32)
    mel_power = _MelPower()
    for start in range(0, frames.shape[0], FRAMES_PER_SLICE):
        chunk = frames[start : start + FRAMES_PER_SLICE]
        mel_power.into(chunk, out[:, start : start + chunk.shape[0]])
    return _normalised_log(out)


def slice_features(samples: np.ndarray) -> np.ndarray:
    """THE feature function: audio holding whole 3-s slices -> (n, N_MELS, FRAMES_PER_SLICE, 1).

    ``samples`` is mono float32 at SAMPLE_RATE; its length is cut down to a whole number of slices.
    Slice k's 146 frames are frames 150k .. 150k+145 of the block (see the module docstring):
    only those are computed (not the 4 of every 150 no slice uses), each slice's mel power is
    written straight into its place in the model's input, and the log is taken in place.
    """
    n_slices = samples.size // SLICE_SAMPLES
    out = np.empty((n_slices, N_MELS, FRAMES_PER_SLICE, 1), dtype=np.float32)
    if n_slices == 0:
        return out
    frames = _frames(np.ascontiguousarray(samples[: n_slices * SLICE_SAMPLES], dtype=np.float32))
    mel_power = _MelPower()
    for k in range(n_slices):
        first = k * HOPS_PER_SLICE
        mel_power.into(frames[first : first + FRAMES_PER_SLICE], out[k, :, :, 0])
    return _normalised_log(out)


@dataclass(frozen=True)
class SliceBatch:
    """Features of consecutive slices of one track, with their place in it (seconds)."""

    features: np.ndarray  # (n, N_MELS, FRAMES_PER_SLICE, 1)
    starts_s: np.ndarray  # (n,)


def track_slices(blocks: Iterator[np.ndarray]) -> Iterator[SliceBatch]:
    """Turn decoded blocks (each a whole number of slices but the last) into slice features.

    Consecutive 3-s slices cover the track; a tail of at least MIN_TAIL_SECONDS becomes one more
    slice made of the track's last 3 s. Yields nothing for audio shorter than one slice (the caller
    reports "too short").
    """
    offset = 0  # samples consumed so far
    previous_tail = np.zeros(0, dtype=np.float32)  # the last SLICE_SAMPLES of audio seen
    for block in blocks:
        n_full = block.size // SLICE_SAMPLES
        if n_full:
            yield SliceBatch(
                slice_features(block[: n_full * SLICE_SAMPLES]),
                (offset + np.arange(n_full) * SLICE_SAMPLES) / SAMPLE_RATE,
            )
        remainder = block[n_full * SLICE_SAMPLES :]
        # Only the last 3 s are kept, so only they are copied (not the whole block).
        if block.size >= SLICE_SAMPLES:
            previous_tail = block[-SLICE_SAMPLES:]
        else:
            previous_tail = np.concatenate([previous_tail, block])[-SLICE_SAMPLES:]
        offset += n_full * SLICE_SAMPLES
        if remainder.size:
            # Only the final block may hold a partial slice (decode_blocks guarantees it).
            if offset >= SLICE_SAMPLES and remainder.size >= MIN_TAIL_SECONDS * SAMPLE_RATE:
                total = offset + remainder.size
                yield SliceBatch(slice_features(previous_tail), np.array([(total - SLICE_SAMPLES) / SAMPLE_RATE]))
            offset += remainder.size
