"""Small frictions of the command line a first-time user met (issue 13 item 10), through the real CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_tui import make_library, run, wait_until

from audio_factory import write_song
from conftest import run_moodtui
from moodtui.tui.app import MoodApp


def test_home_works_before_and_after_the_sub_command(tmp_path: Path, model_env: Path) -> None:
    song = write_song(tmp_path / "song.wav", "neutral", 4.0)
    before, after = tmp_path / "before", tmp_path / "after"
    env = dict(os.environ)
    env.pop("MOODTUI_HOME", None)
    import subprocess
    import sys

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "moodtui", *args], env=env, capture_output=True, text=True, timeout=120
        )

    assert cli("--home", str(before), "label", str(song), "positive").returncode == 0
    assert cli("label", str(song), "negative", "--home", str(after)).returncode == 0
    first = json.loads(cli("--home", str(before), "labels", "--json").stdout)
    second = json.loads(cli("labels", "--json", "--home", str(after)).stdout)
    assert [r["label"] for r in first] == ["positive"] and [r["label"] for r in second] == ["negative"]


def test_rollback_with_nothing_to_roll_back_to_says_so(model_env: Path) -> None:
    result = run_moodtui("rollback")
    assert result.returncode == 1
    assert result.stderr.decode().startswith("moodtui: nothing to roll back to: the base model is in use")


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: any folder can be created")
def test_a_data_folder_that_cannot_be_created_is_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    result = run_moodtui("labels", "--home", str(locked / "home"))
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and "cannot create the data folder" in lines[0]


def test_a_data_folder_under_a_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    result = run_moodtui("labels", "--home", str(tmp_path / "a-file" / "home"))
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 1, result.stderr
    assert lines == [
        f"moodtui: {tmp_path / 'a-file' / 'home'}: cannot create the data folder (Not a directory); "
        "choose another with --home or MOODTUI_HOME"
    ]


def test_a_file_given_to_the_player_opens_its_folder_playing_it(
    tmp_path: Path, model_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOODTUI_WATCH", "off")
    library = make_library(tmp_path / "music")
    song = library / "Beta Crew" / "Night Drive.ogg"

    async def scenario() -> None:
        app = MoodApp(library, play_file=song)
        async with app.run_test(size=(110, 34)) as pilot:
            await wait_until(pilot, lambda: app.playing is not None, "the given song to play")
            assert app.playing.path == str(song)
            assert app.track_list.highlighted is app.playing

    run(scenario)


def run_in_terminal(*args: str, env_home: Path) -> tuple[int, str]:
    """Run `moodtui ARGS` with stdout on a pseudo-terminal (as a person would); (status, output)."""
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    env = dict(os.environ, MOODTUI_HOME=str(env_home))
    process = subprocess.Popen(
        [sys.executable, "-m", "moodtui", *args], stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, env=env
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal closed: the process ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return process.wait(60), b"".join(chunks).decode("utf-8", "replace")


def test_train_on_a_terminal_prints_sentences_and_json_only_when_asked(model_env: Path) -> None:
    status, output = run_in_terminal("train", env_home=model_env)
    assert status == 1
    assert output.strip().splitlines() == [
        "moodtui train: no labelled songs: label songs with p / n / x (or `moodtui label`) first"
    ], output  # one line, no JSON
    status, output = run_in_terminal("train", "--json", env_home=model_env)
    assert status == 1
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert [event["event"] for event in events] == ["error"], output


def test_export_names_songs_by_their_title(tmp_path: Path, model_env: Path) -> None:
    import mutagen

    song = write_song(tmp_path / "music" / "01-track.flac", "positive", 6.0)
    tags = mutagen.File(song, easy=True)
    tags["title"] = "Bright Morning"
    tags.save()
    assert run_moodtui("label", str(song), "positive").returncode == 0
    playlist = tmp_path / "happy.m3u"
    result = run_moodtui("export", "--mood", "positive", "-o", str(playlist), str(tmp_path / "music"))
    assert result.returncode == 0, result.stderr
    assert playlist.read_text(encoding="utf-8").splitlines()[1] == "#EXTINF:6,Bright Morning"
