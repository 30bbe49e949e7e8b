"""The two mp3 decoders: libmpg123 at the model's rate (when installed) and dr_mp3, the fallback.

Both must give the model the same song: the same length, and per-slice probabilities of the
shipped model within a small bound.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from moodtui.audio import mpg123
from moodtui.audio.decode import SAMPLE_RATE, decode, decode_blocks
from moodtui.mood.analysis import analyse_file
from moodtui.mood.model import MoodModel
from moodtui.paths import shipped_model_path
from mp3_tools import needs_libmpg123, stereo_mp3


def decode_with(decoder: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> np.ndarray:
    monkeypatch.setenv(mpg123.DECODER_ENV, decoder)
    assert mpg123.available() == (decoder == "mpg123")
    return decode(path)


@needs_libmpg123
@pytest.mark.parametrize("rate", [44_100, 48_000])
def test_both_decoders_give_the_same_audio_at_the_model_rate(tmp_path, monkeypatch, rate):
    path = stereo_mp3(tmp_path / "song.mp3", 8.0, rate)
    fast = decode_with("mpg123", path, monkeypatch)
    fallback = decode_with("dr_mp3", path, monkeypatch)
    assert fast.dtype == fallback.dtype == np.float32
    assert abs(fast.size - fallback.size) <= 2 and abs(fast.size / SAMPLE_RATE - 8.0) < 0.1
    # The same level (channels mixed to their mean, not summed) and the same spectrum below
    # 10 kHz: the two anti-alias filters differ only near the top of the band.
    n = min(fast.size, fallback.size)
    assert np.sqrt(np.mean(fast[:n] ** 2)) == pytest.approx(np.sqrt(np.mean(fallback[:n] ** 2)), rel=0.02)
    spectra = [np.abs(np.fft.rfft(a[:n])) for a in (fast, fallback)]
    below = np.fft.rfftfreq(n, 1 / SAMPLE_RATE) < 10_000
    assert np.abs(spectra[0][below] - spectra[1][below]).sum() < 0.05 * spectra[1][below].sum()


@needs_libmpg123
def test_the_model_cannot_tell_the_decoders_apart(tmp_path, monkeypatch):
    path = stereo_mp3(tmp_path / "song.mp3", 30.0)
    model = MoodModel.load(shipped_model_path())
    moods = {}
    for decoder in ("mpg123", "dr_mp3"):
        monkeypatch.setenv(mpg123.DECODER_ENV, decoder)
        moods[decoder] = analyse_file(path, model)
    fast, fallback = moods["mpg123"], moods["dr_mp3"]
    assert len(fast.slice_probs) == len(fallback.slice_probs) == 10
    assert np.abs(fast.slice_probs - fallback.slice_probs).max() < 0.02
    assert (fast.slice_probs.argmax(1) == fallback.slice_probs.argmax(1)).all()


def test_without_libmpg123_dr_mp3_decodes(tmp_path, monkeypatch):
    path = stereo_mp3(tmp_path / "song.mp3", 4.0)
    audio = decode_with("dr_mp3", path, monkeypatch)
    assert abs(audio.size / SAMPLE_RATE - 4.0) < 0.1 and 0.05 < np.abs(audio).max() < 1.5


@needs_libmpg123
def test_a_truncated_mp3_keeps_what_decodes_with_a_warning(tmp_path, monkeypatch):
    path = stereo_mp3(tmp_path / "song.mp3", 10.0)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    monkeypatch.setenv(mpg123.DECODER_ENV, "mpg123")
    warnings: list[str] = []
    decoded = sum(block.size for block in decode_blocks(path, SAMPLE_RATE, warnings=warnings))
    assert 4.0 < decoded / SAMPLE_RATE < 6.0
    assert warnings and "truncated or damaged" in warnings[0]


@needs_libmpg123
def test_libmpg123_hands_over_whole_blocks_so_they_need_no_joining(tmp_path):
    """At half rate libmpg123 fills a block-sized buffer per read: every block decode_blocks
    yields is then that buffer itself (no copy), and only the last is shorter."""
    path = stereo_mp3(tmp_path / "song.mp3", 8.0, 44_100)
    block = SAMPLE_RATE * 3
    with open(path, "rb") as handle:
        rate, _, chunks = mpg123.decode_float32(handle.fileno(), half_rate=True, read_frames=block)
        sizes = [chunk.size for chunk in chunks]
    assert rate == SAMPLE_RATE and sizes[:-1] == [block] * (len(sizes) - 1) and 0 < sizes[-1] <= block
    blocks = list(decode_blocks(path, block))
    assert [b.size for b in blocks] == sizes
    assert all(b.base is not None and b.base.size == block for b in blocks[:-1])  # views of whole reads
