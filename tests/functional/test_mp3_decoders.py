"""libmpg123 stays silent on fd 2 for a damaged mp3: checked in a child process whose fd 2 is read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from moodtui.audio import mpg123
from moodtui.audio.decode import SAMPLE_RATE
from mp3_tools import needs_libmpg123, stereo_mp3


def damaged(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(1)
    for offset in range(len(data) // 3, len(data) // 3 + 4000, 400):
        data[offset : offset + 60] = rng.integers(0, 256, 60, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


@needs_libmpg123
def test_a_damaged_mp3_decodes_without_a_word_on_fd_2(tmp_path):
    path = damaged(stereo_mp3(tmp_path / "damaged.mp3", 12.0))
    script = (
        "import sys; from moodtui.audio.decode import decode_blocks; w = []; "
        "print(sum(b.size for b in decode_blocks(sys.argv[1], 22050, warnings=w)), w)"
    )
    env = {**os.environ, mpg123.DECODER_ENV: "mpg123"}
    result = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    decoded = int(result.stdout.split()[0])
    # The damage is skipped, the rest of the song decodes.
    assert decoded / SAMPLE_RATE > 11.0
