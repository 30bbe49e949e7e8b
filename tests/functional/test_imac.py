"""`moodtui imac-match` as a real command: JSON on stdout, the summary on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from imac_library import imac_library


def test_cli_imac_match(tmp_path: Path) -> None:
    """The real command in a subprocess: JSON on stdout, summary on stderr."""
    music = imac_library(tmp_path / "music")
    env = dict(os.environ, MOODTUI_HOME=str(tmp_path / "home"))
    result = subprocess.run(
        [sys.executable, "-m", "moodtui", "imac-match", str(music), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(Path(r["path"]).name for r in json.loads(result.stdout)) == [
        "beyonce.flac",
        "bjork.ogg",
        "stride.mp3",
        "tostaky.wav",
        "trapeze.opus",
    ]
    assert "5 found in IMAC" in result.stderr
