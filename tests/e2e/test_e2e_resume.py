"""Resume across two real runs of the installed `moodtui` in tmux: track, position (paused), volume, filter."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest
from test_e2e_tmux import MOODTUI, terminal_factory  # noqa: F401  (the fixture)

from audio_factory import write_song

pytestmark = pytest.mark.e2e


def test_the_session_resumes_paused_at_its_position(
    model_env: Path,
    small_model: Path,
    tmp_path: Path,
    terminal_factory,  # noqa: F811 (the imported fixture)
) -> None:
    library = tmp_path / "library"
    for i, kind in enumerate(("positive", "neutral", "negative")):
        write_song(library / f"0{i + 1}-{kind}-tune.flac", kind, 20.0, seed=i)
    config = tmp_path / "my-config.toml"
    config.write_text('resume = "paused"\nvolume_step = 10\n', encoding="utf-8")
    env = f"MOODTUI_HOME={shlex.quote(str(model_env))} MOODTUI_BASE_MODEL={shlex.quote(str(small_model))}"
    command = (
        f"env -u COLUMNS -u LINES {env} {shlex.quote(str(MOODTUI))} --config {shlex.quote(str(config))} "
        f"{shlex.quote(str(library))}; echo MOODTUI-EXIT=$?; sleep 60"
    )

    first = terminal_factory(command)
    first.wait_for(lambda s: "3 tracks ·" in s and "model " in s, "the library and the model")
    first.keys("Down", "Enter")
    first.wait_for(lambda s: "▶ 0:03" in s or "▶ 0:04" in s, "the second track to play 3 s")
    first.keys("-l", "-")  # volume 90 % (volume_step 10 from the --config file)
    first.wait_for(lambda s: "vol 90%" in s, "the volume")
    first.keys("q")
    first.wait_for(lambda s: "MOODTUI-EXIT=0" in s, "moodtui to exit", timeout=10)
    saved = json.loads((model_env / "session.json").read_text(encoding="utf-8"))
    assert saved["track"].endswith("02-neutral-tune.flac") and saved["position_s"] >= 3.0
    assert saved["volume"] == pytest.approx(0.9)

    second = terminal_factory(command)
    screen = second.wait_for(lambda s: "⏸ 0:0" in s and "vol 90%" in s, "the session restored, paused")
    position = next(part for part in screen.split("·") if "⏸" in part)
    assert "0:03" in position or "0:04" in position, screen
    assert "02-neutral-tune" in screen.split("╭")[-1], screen  # the now-playing panel shows it
    second.keys("q")
    second.wait_for(lambda s: "MOODTUI-EXIT=0" in s, "moodtui to exit", timeout=10)
    assert "Traceback" not in second.screen()
    assert sys.executable  # the same interpreter's console script ran both times
