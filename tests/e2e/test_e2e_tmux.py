"""End to end: the installed `moodtui` command in a real terminal (tmux), driven by keys, read from the screen."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from audio_factory import write_song
from moodtui.audio.formats import listed_extensions
from moodtui.listener.labels import LabelStore
from moodtui.paths import demo_library_dir

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed: cannot drive a real terminal"),
]

MOODTUI = Path(sys.executable).with_name("moodtui")


class Terminal:
    """A detached tmux session on its own server socket, running one command."""

    def __init__(self, name: str, command: str, size: tuple[int, int] = (120, 36)) -> None:
        # A fresh socket for every terminal: `kill-server` returns before the old server has gone,
        # and a new session on a reused name could reach that dying server ("server exited
        # unexpectedly" in CI, when the resume test and this one ran in one worker).
        self.socket = f"{name}-{uuid.uuid4().hex[:12]}"
        self.session = "moodtui-e2e"
        self._tmux("new-session", "-d", "-s", self.session, "-x", str(size[0]), "-y", str(size[1]), command)

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True, timeout=10
        ).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.session, *keys)

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)
        # Wait for the server to be gone, so no test leaves a moodtui running behind it.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            alive = subprocess.run(["tmux", "-L", self.socket, "has-session"], capture_output=True, timeout=10)
            if alive.returncode != 0:
                break
            time.sleep(0.05)


def demo_or_generated_library(tmp_path: Path) -> Path:
    demo = demo_library_dir()
    if demo.is_dir() and any(p.suffix.lower() in listed_extensions() for p in demo.iterdir()):
        return demo
    library = tmp_path / "library"
    for i, kind in enumerate(("positive", "neutral", "negative")):
        write_song(library / f"0{i + 1}-{kind}-tune.flac", kind, 8.0, seed=i)
    return library


@pytest.fixture
def terminal_factory(tmp_path: Path):
    terminals: list[Terminal] = []

    def start(command: str) -> Terminal:
        terminal = Terminal(f"moodtui-e2e-{os.getpid()}", command)
        terminals.append(terminal)
        return terminal

    yield start
    for terminal in terminals:
        terminal.close()


def test_moodtui_in_a_real_terminal(model_env: Path, small_model: Path, tmp_path: Path, terminal_factory) -> None:
    assert MOODTUI.is_file(), f"the moodtui console script is not installed next to {sys.executable}"
    library = demo_or_generated_library(tmp_path)
    first = sorted(p for p in library.iterdir() if p.suffix.lower() in listed_extensions())[0]
    env = f"MOODTUI_HOME={shlex.quote(str(model_env))} MOODTUI_BASE_MODEL={shlex.quote(str(small_model))}"
    # The exit status is printed after the app ends; the shell then waits so the screen can be read.
    # COLUMNS / LINES from the test process (80x24) would override the real terminal size.
    command = f"env -u COLUMNS -u LINES {env} {shlex.quote(str(MOODTUI))} {shlex.quote(str(library))}; echo MOODTUI-EXIT=$?; sleep 60"
    term = terminal_factory(command)

    screen = term.wait_for(
        lambda s: "tracks ·" in s and "scanning" not in s and "model " in s and "Quit" in s,
        "the library, the model and the footer",
    )
    assert "Title" in screen and "Mood" in screen

    term.keys("Enter")
    screen = term.wait_for(lambda s: "slice 1/" in s, "the first slice of the playing track")
    assert "positive" in screen and "neutral" in screen and "negative" in screen
    term.wait_for(lambda s: "▶ 0:01" in s or "▶ 0:02" in s, "the position to advance")

    term.keys("p")
    term.wait_for(lambda s: "● positive (you)" in s, "the label in the table")
    # The table shows the label at once; the label writer stores it a moment later.
    deadline = time.monotonic() + 10
    while (record := LabelStore(model_env / "labels.json").label_for(first)) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert record is not None and record.label == "positive"

    term.keys("?")
    term.wait_for(
        lambda s: "moodtui keys" in s and "pause / resume" in s and "this list of keys" in s, "the help screen"
    )
    term.keys("Escape")
    term.wait_for(lambda s: "moodtui keys" not in s, "the help screen to close")

    term.keys("/", "z", "z", "q", "x")  # no title has "zzqx": an empty list; q and x are typed, not keys
    term.wait_for(lambda s: "no track matches the filter" in s, "the filter to hide every track")
    term.keys("Escape")
    term.wait_for(lambda s: "no track matches" not in s and "filter “" not in s, "the filter to clear")

    term.keys("q")
    screen = term.wait_for(lambda s: "MOODTUI-EXIT=" in s, "moodtui to exit", timeout=10)
    assert "MOODTUI-EXIT=0" in screen
    assert "Traceback" not in screen
