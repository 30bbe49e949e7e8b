"""The fault suite (issue 10): real full disks, real kill -9, real planted symlinks, real FIFOs,
key sequences through Pilot, and strace. Each test reproduces one fault the probe found.

Run alone with ``python -m pytest -m faults -q``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_tools import Filler, small_disk
from test_tui import SIZE, make_library, play_title, run, wait_settled, wait_until

from audio_factory import write_song
from conftest import run_moodtui
from moodtui.listener.labels import LabelStore
from moodtui.tui.app import MoodApp

pytestmark = pytest.mark.faults


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[tuple[Path, Filler]]:
    """(a mounted 2 MiB tmpfs, its filler): call ``filler.fill()`` / ``filler.free()``."""
    with small_disk(tmp_path / "small-disk") as disk:
        yield disk, Filler(disk)


# -- 1. labels through a full disk (TUI) -------------------------------------------------------------


def test_labels_given_while_the_disk_is_full_are_kept_and_written_when_space_returns(
    model_env: Path, tmp_path: Path, full_disk, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk, filler = full_disk
    monkeypatch.setenv("MOODTUI_HOME", str(disk))
    library = make_library(tmp_path / "music")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            await play_title(pilot, app, "Night Drive")
            row = app.playing
            await wait_until(pilot, lambda: app.now_playing.song is not None, "the analysis")
            filler.fill()
            await pilot.press("p")
            await wait_until(pilot, lambda: any("not saved yet" in n for n in app.notices), "the not-saved notice")
            failure = next(n for n in app.notices if "not saved yet" in n)
            assert failure.startswith("label positive for “Night Drive”"), failure
            assert "no space left on device while writing" in failure, failure
            await pilot.press("x")
            await pilot.press("n")
            await wait_until(
                pilot,
                lambda: sum("waiting to be saved" in n for n in app.notices) == 2,
                "a waiting notice for each later label",
            )
            assert app.label_keeper.writer.unsaved() == [
                f"label {mood} for “Night Drive”" for mood in ("positive", "negative", "neutral")
            ]
            filler.free()
            store = LabelStore(disk / "labels.json")
            await wait_until(pilot, lambda: len(store.history()) == 3, "the three labels written", timeout=20)
            assert [r.label for r in store.history()] == ["positive", "negative", "neutral"]
            await wait_until(pilot, lambda: row.user_label == "neutral", "the last label shown")
            assert "label positive for “Night Drive”: saved now" in app.notices
            assert app.label_keeper.writer.unsaved() == []

    run(scenario)


def test_label_cli_on_a_full_disk_says_so_in_one_line_and_works_once_space_returns(
    home: Path, tmp_path: Path, full_disk
) -> None:
    disk, filler = full_disk
    song = write_song(tmp_path / "song.wav", "positive", 4.0)
    filler.fill()
    result = run_moodtui("label", str(song), "positive", env_home=disk, text=True)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"moodtui: no space left on device while writing {disk / 'labels.json'}"
    ], result.stderr
    filler.free()
    result = run_moodtui("label", str(song), "positive", env_home=disk, text=True)
    assert result.returncode == 0, result.stderr
    assert [r.label for r in LabelStore(disk / "labels.json").history()] == ["positive"]


# -- 2. a symlink planted where a temporary file would go --------------------------------------------


def _labelled_library(tmp_path: Path, home: Path, names: list[str]) -> list[Path]:
    """Songs the listener labelled positive (export then needs no analysis)."""
    store = LabelStore(home / "labels.json")
    songs = []
    for k, name in enumerate(names):
        song = write_song(tmp_path / "music" / name, "positive", 4.0, seed=k)
        store.add_label(song, "positive")
        songs.append(song)
    return songs


def test_export_never_follows_a_symlink_planted_at_the_old_temporary_name(model_env: Path, tmp_path: Path) -> None:
    _labelled_library(tmp_path, model_env, ["a.wav"])
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # a shared sticky folder such as /tmp
    planted = shared / ".happy.m3u.tmp"
    planted.symlink_to(victim)
    result = run_moodtui("export", "--mood", "positive", "-o", str(shared / "happy.m3u"), str(tmp_path / "music"))
    assert result.returncode == 0, result.stderr
    assert victim.read_text() == "precious\n"
    assert planted.is_symlink() and os.readlink(planted) == str(victim)
    assert sorted(p.name for p in shared.iterdir()) == [".happy.m3u.tmp", "happy.m3u"]
    assert not (shared / "happy.m3u").is_symlink()
    assert (shared / "happy.m3u").read_text().splitlines()[-1] == str((tmp_path / "music" / "a.wav").resolve())


# -- 8. names that are not UTF-8 in playlists and JSON ----------------------------------------------


def test_export_and_predict_json_keep_the_real_bytes_of_names_that_are_not_utf8(
    model_env: Path, tmp_path: Path
) -> None:
    name = os.fsdecode(b"caf\xe9.wav")
    (song,) = _labelled_library(tmp_path, model_env, [name])
    playlist = tmp_path / "mine.m3u"
    result = run_moodtui("export", "--mood", "positive", "-o", str(playlist), str(tmp_path / "music"))
    assert result.returncode == 0, result.stderr
    lines = playlist.read_bytes().splitlines()
    assert lines[-1] == os.fsencode(song.resolve())
    assert lines[-2] == b"#EXTINF:4,caf\\xe9"
    assert os.path.isfile(lines[-1])

    result = run_moodtui("predict", "--json", os.fsencode(song))
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(result.stdout)
    assert os.fsencode(entry["path"]) == os.fsencode(song)


# -- 3. a training job killed at export -------------------------------------------------------------


def _label_songs(tmp_path: Path, home: Path) -> None:
    store = LabelStore(home / "labels.json")
    for k, (kind, label) in enumerate([("positive", "negative"), ("negative", "positive"), ("neutral", "neutral")] * 2):
        store.add_label(write_song(tmp_path / "songs" / f"{kind}{k}.wav", kind, 6.0, seed=70 + k), label)


def test_a_training_job_killed_at_export_leaves_no_version_and_its_staging_folder_goes(
    model_env: Path, tmp_path: Path
) -> None:
    from moodtui.mood.versions import current_name, list_versions, read_current

    _label_songs(tmp_path, model_env)
    models = model_env / "models"
    job = subprocess.Popen(
        [sys.executable, "-m", "moodtui", "train"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 300
        while not list(models.glob(".staging-*/model.onnx")):
            assert job.poll() is None, f"the job ended ({job.returncode}) before its export could be killed"
            assert time.monotonic() < deadline, "the job never reached its export"
            time.sleep(0.005)
    finally:
        job.send_signal(signal.SIGKILL)
        job.wait()
    (staging,) = models.glob(".staging-*")
    assert (staging / "model.onnx").is_file()

    listing = json.loads(run_moodtui("models", "--json").stdout)
    assert [row["version"] for row in listing] == ["base"]
    rolled = run_moodtui("rollback", "base", text=True)
    assert rolled.returncode == 0 and "now using model base" in rolled.stdout, rolled.stderr
    nothing = run_moodtui("rollback", text=True)  # only the base: nothing to roll back to
    assert nothing.returncode == 1 and "nothing to roll back to" in nothing.stderr
    assert current_name() == "base"
    refused = run_moodtui("rollback", staging.name, text=True)
    assert refused.returncode == 1 and "no model version" in refused.stderr
    # A pointer naming the staging folder (as rollback wrote before) is not followed.
    (models / "current").write_text(staging.name + "\n")
    name, notice = read_current()
    assert name == "base" and "not a model version" in notice and "rollback base" in notice
    assert [v.name for v in list_versions()] == ["base"]

    # The next training job (any, even one that fails at once) removes what the killed one left.
    failed = run_moodtui("train", "--manifest", str(tmp_path / "missing.csv"), "--mode", "full", text=True)
    assert failed.returncode == 1
    assert not list(models.glob(".staging-*"))


# -- 4. no network syscall at all --------------------------------------------------------------------

TELEMETRY_DELAY_S = 13.0
"""onnxruntime's telemetry made its first lookup about 9-11 s after the first session was made."""


def test_the_player_and_predict_make_no_network_syscall(model_env: Path, small_model: Path, tmp_path: Path) -> None:
    from fault_tools import network_calls, strace_command
    from test_e2e_tmux import MOODTUI, Terminal

    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: cannot run the real player in a terminal")
    song = write_song(tmp_path / "music" / "a.flac", "positive", 5.0)
    log = tmp_path / "predict.strace"
    traced = subprocess.run(
        [*strace_command(log), sys.executable, "-m", "moodtui", "predict", str(song)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert traced.returncode == 0, traced.stderr[-1000:]
    assert network_calls(log) == []

    log = tmp_path / "player.strace"
    env = f"MOODTUI_HOME={shlex.quote(str(model_env))} MOODTUI_BASE_MODEL={shlex.quote(str(small_model))}"
    strace = " ".join(map(shlex.quote, strace_command(log)))
    terminal = Terminal(
        f"moodtui-faults-{os.getpid()}",
        f"env -u COLUMNS -u LINES {env} {strace} {shlex.quote(str(MOODTUI))} {shlex.quote(str(song.parent))}; sleep 30",
    )
    try:
        terminal.wait_for(lambda s: "model " in s and "Quit" in s, "the player with its model")
        terminal.keys("Enter")
        time.sleep(TELEMETRY_DELAY_S)
        terminal.keys("q")
        terminal.wait_for(lambda s: "Quit" not in s, "the player to quit")
    finally:
        terminal.close()
    assert log.stat().st_size > 0, "strace wrote nothing: was the player traced?"
    assert network_calls(log) == []


# -- 5. a file name that reads like a URL -------------------------------------------------------------


def test_a_file_named_like_a_url_is_read_as_a_local_file_never_a_connection(
    model_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fault_tools import network_calls, strace_command

    from moodtui.player.playback import Player

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed: m4a files are refused before any name reaches it")
    folder = tmp_path / "music"
    wav = write_song(folder / "source.wav", "positive", 4.0)
    name = "tcp:127.0.0.1:9.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "aac", f"file:{folder / name}"], check=True)
    log = tmp_path / "predict.strace"
    result = subprocess.run(
        [*strace_command(log), sys.executable, "-m", "moodtui", "predict", "--json", name],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-1000:]
    (entry,) = json.loads(result.stdout)
    assert entry["path"].endswith(name) and len(entry["slices"]) >= 1
    assert network_calls(log) == []

    monkeypatch.chdir(folder)
    player = Player()
    try:
        assert player.open(name) is not False
        assert player.duration_s == pytest.approx(4.0, abs=0.2)
    finally:
        player.close()


# -- 6. the command palette opened, chosen from and escaped in quick succession ----------------------


def test_ctrl_p_enter_escape_twenty_times_never_ends_the_app(model_env: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "music")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            for _ in range(20):
                await pilot.press("ctrl+p", "enter", "escape")
                assert app.is_running and app.return_code is None
            await pilot.pause(0.3)
            assert app.is_running and app.return_code is None
            errors = [n for n in app.notices if "failed" in n or "Error" in n]
            assert errors == []
            await pilot.press("escape", "escape")
            # Still a working player: the palette opens and a command runs.
            await pilot.press("ctrl+p", *"help", "enter")
            await wait_until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", "the help screen")

    run(scenario)


def test_a_palette_selection_handled_after_escape_does_not_pop_the_players_screen(
    model_env: Path, tmp_path: Path
) -> None:
    from textual.command import CommandList, CommandPalette
    from textual.widgets import OptionList

    library = make_library(tmp_path / "music")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            player_screen = app.screen
            await pilot.press("ctrl+p")
            palette = app.screen
            assert isinstance(palette, CommandPalette)
            commands = palette.query_one(CommandList)
            await wait_until(
                pilot, lambda: commands.option_count > 0 and commands.highlighted is not None, "the palette's commands"
            )
            index = commands.highlighted
            # The order a terminal's one read of Ctrl+P, Enter, Escape was handled in (textual 8.2):
            # Escape dismissed the palette, then the selection Enter made arrived at it.
            palette._action_escape()
            palette._select_command(OptionList.OptionSelected(commands, commands.get_option_at_index(index), index))
            await pilot.pause(0.3)
            assert app.is_running and app.screen_stack == [player_screen]
            await pilot.press("ctrl+p")
            assert isinstance(app.screen, CommandPalette)

    run(scenario)


# -- 7 and 14. a models/current that cannot be followed ------------------------------------------------


@pytest.mark.parametrize("problem", ["not text", "missing version", "empty model", "folder model", "no model file"])
def test_a_pointer_that_cannot_be_followed_means_the_base_model_with_one_line_and_rollback_repairs_it(
    model_env: Path, problem: str
) -> None:
    models = model_env / "models"
    models.mkdir()
    version = models / "20300101-000000"
    if problem == "not text":
        (models / "current").write_bytes(b"\xff\xfe caf\xe9\n")
    else:
        (models / "current").write_text(version.name + "\n")
        if problem != "missing version":
            version.mkdir()
        if problem == "empty model":
            (version / "model.onnx").write_bytes(b"")
        elif problem == "folder model":
            (version / "model.onnx").mkdir()
    expected = {
        "not text": "is not text",
        "missing version": "which does not exist",
        "empty model": "whose model.onnx is empty",
        "folder model": "which has no model.onnx",
        "no model file": "which has no model.onnx",
    }[problem]
    song = write_song(model_env.parent / "a.wav", "positive", 4.0)
    for command in (["predict", str(song)], ["models"]):
        result = run_moodtui(*command, text=True)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        (line,) = [ln for ln in result.stderr.splitlines() if "models/current" in ln]
        assert expected in line and "using the shipped base model" in line and "rollback base" in line, line
    repaired = run_moodtui("rollback", "base", text=True)
    assert repaired.returncode == 0, repaired.stderr
    assert (models / "current").read_text() == "base\n"
    assert "models/current" not in run_moodtui("models", text=True).stderr


def test_rollback_to_a_version_whose_metadata_does_not_load_leaves_current_alone(model_env: Path) -> None:
    broken = model_env / "models" / "20300101-000000"
    broken.mkdir(parents=True)
    (broken / "model.onnx").write_bytes(b"onnx")
    (broken / "model.json").write_text("{not json")
    result = run_moodtui("rollback", broken.name, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "model version 20300101-000000 does not load" in result.stderr and "still using base" in result.stderr
    assert not (model_env / "models" / "current").exists()


# -- 9. full disk: predict, the library analysis, train ---------------------------------------------------


def test_predict_on_a_full_disk_prints_every_result_says_why_once_and_caches_again_later(
    model_env: Path, tmp_path: Path, full_disk
) -> None:
    disk, filler = full_disk
    songs = [write_song(tmp_path / f"s{k}.wav", kind, 4.0, seed=k) for k, kind in enumerate(("positive", "negative"))]
    assert run_moodtui("predict", str(songs[0]), env_home=disk).returncode == 0  # the cache exists
    keep_wal = sqlite3.connect(disk / "cache.sqlite")  # another process holding the cache open
    keep_wal.execute("SELECT count(*) FROM analysis_v1").fetchone()
    try:
        filler.fill()
        result = run_moodtui("predict", "--json", *map(str, songs), env_home=disk, text=True)
        assert result.returncode == 0, result.stderr
        assert [Path(entry["path"]).name for entry in json.loads(result.stdout)] == ["s0.wav", "s1.wav"]
        assert "Traceback" not in result.stderr
        assert result.stderr.splitlines() == [
            f"moodtui: no space left on device while writing {disk / 'cache.sqlite'}; results are not cached"
        ]
        filler.free()
        again = run_moodtui("predict", str(songs[1]), env_home=disk, text=True)
        assert again.returncode == 0 and again.stderr == ""
    finally:
        keep_wal.close()
    with sqlite3.connect(disk / "cache.sqlite") as conn:
        cached = {os.fsdecode(row[0]) for row in conn.execute("SELECT path FROM analysis_v1")}
    assert cached == {str(songs[0]), str(songs[1])}


def test_the_library_analysis_goes_on_through_a_full_disk_with_one_notice(
    model_env: Path, tmp_path: Path, full_disk, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk, filler = full_disk
    monkeypatch.setenv("MOODTUI_HOME", str(disk))
    library = make_library(tmp_path / "music")

    async def first_start() -> None:  # the cache as an earlier session leaves it
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)

    async def start_on_a_full_disk() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            assert len(app.view.rows) == 6 and all(row.predicted is not None for row in app.view.rows)
            problems = [n for n in app.notices if "no space left on device" in n]
            assert len(problems) == 1 and "not kept for the next start" in problems[0], app.notices
            assert not [n for n in app.notices if "failed" in n], app.notices

    run(first_start)
    for k, kind in enumerate(("positive", "negative")):  # new songs: analysed on the full disk
        write_song(library / "New" / f"new{k}.wav", kind, 4.0, seed=90 + k)
    keep_wal = sqlite3.connect(disk / "cache.sqlite")  # another process holding the cache open
    keep_wal.execute("SELECT count(*) FROM analysis_v1").fetchone()
    try:
        filler.fill()
        run(start_on_a_full_disk)
    finally:
        filler.free()
        keep_wal.close()


def test_train_on_a_full_disk_is_one_line_and_the_previous_model_stays(
    model_env: Path, tmp_path: Path, full_disk
) -> None:
    from moodtui.mood.versions import current_name

    disk, filler = full_disk
    _label_songs(tmp_path, disk)
    filler.fill()
    result = run_moodtui("train", env_home=disk, text=True, timeout=600)
    filler.free()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    (line,) = result.stderr.splitlines()
    assert line.startswith("moodtui train: no space left on device while writing"), line
    assert current_name(disk) == "base" and not list((disk / "models").glob(".staging-*"))


# -- 10. label refuses what is not a song ---------------------------------------------------------------------


def test_label_refuses_a_fifo_an_empty_file_and_text_named_mp3_at_once(home: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mp3"
    os.mkfifo(fifo)
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp3"
    text.write_text("these are my notes, not a song\n" * 50)
    for path, reason in (
        (fifo, "not a regular file"),
        (empty, "empty file (0 bytes)"),
        (text, "not audio (a text file)"),
    ):
        result = run_moodtui("label", str(path), "positive", text=True, timeout=30)
        assert result.returncode == 1, (path, result.stdout)
        assert result.stderr.startswith(f"moodtui: {path}: {reason}"), result.stderr
        assert len(result.stderr.splitlines()) == 1
    assert LabelStore(home / "labels.json").history() == []


# -- 12. the player goes while a retrain runs ----------------------------------------------------------------

_PLAYER_STAND_IN = """
import sys, time
from moodtui.listener.retrain import RetrainJob
job = RetrainJob()
job.start()
print(job.pid, flush=True)
for event in job.events():
    if type(event).__name__ == "JobStarted":
        print("started", flush=True)
        break
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


def test_a_retrain_ends_when_the_player_that_started_it_is_killed(model_env: Path, tmp_path: Path) -> None:
    from moodtui.mood.versions import current_name

    _label_songs(tmp_path, model_env)
    player = subprocess.Popen([sys.executable, "-c", _PLAYER_STAND_IN], stdout=subprocess.PIPE, text=True)
    job_pid = 0
    try:
        job_pid = int(player.stdout.readline())
        assert player.stdout.readline().strip() == "started"
        player.send_signal(signal.SIGKILL)  # the player dies without a word (as on a closed terminal)
        player.wait()
        deadline = time.monotonic() + 60
        while _alive(job_pid):
            assert time.monotonic() < deadline, "the training job outlived its player by 60 s (an orphan)"
            time.sleep(0.1)
    finally:
        if player.poll() is None:
            player.kill()
        if job_pid and _alive(job_pid):
            os.kill(job_pid, signal.SIGKILL)
    assert current_name() == "base"
    assert not list((model_env / "models").glob(".staging-*"))
    # It stopped when its player went, not at its next progress line: the songs it was
    # analysing for a player that was gone did not all get analysed (its first line after
    # "started" comes once all six are).
    cache = model_env / "cache.sqlite"
    if cache.exists():
        with sqlite3.connect(cache) as conn:
            analysed = conn.execute("SELECT count(*) FROM analysis_v1").fetchone()[0]
        assert analysed < 6, "the job worked on for a player that was gone"


# -- 17. a labels database that is a directory, or a symlink ---------------------------------------------


def test_a_symlinked_labels_database_is_written_through_the_link(home: Path, tmp_path: Path) -> None:
    synced = tmp_path / "synced"
    synced.mkdir()
    (home / "labels.json").symlink_to(synced / "real-labels.json")
    song = write_song(tmp_path / "a.wav", "positive", 4.0)
    for mood in ("positive", "negative"):
        assert run_moodtui("label", str(song), mood, text=True).returncode == 0
    assert (home / "labels.json").is_symlink()
    assert [r.label for r in LabelStore(synced / "real-labels.json").history()] == ["positive", "negative"]


def test_a_labels_database_that_is_a_directory_turns_labels_off_and_p_says_why(model_env: Path, tmp_path: Path) -> None:
    (model_env / "labels.json").mkdir()
    library = make_library(tmp_path / "music")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.label_keeper.off is not None, "the labels database to be refused")
            await wait_until(pilot, lambda: app.scan_done and app.model_state == "ready", "the library and model")
            await play_title(pilot, app, "Hum")
            await pilot.press("p")
            said = [n for n in app.notices if n.startswith("labels are off for this session:")]
            assert said and "labels.json" in said[-1] and "directory" in said[-1].lower(), app.notices

    run(scenario)


# -- 17. a damaged cache.sqlite: moved aside and rebuilt, with one notice ----------------------------------


def _damage_cache(home: Path, damage: str, song: Path) -> None:
    cache = home / "cache.sqlite"
    if damage == "garbage":
        cache.write_bytes(os.urandom(8192))
    elif damage == "truncated":  # a real cache cut in half (as a crash of the disk or a bad copy leaves it)
        assert run_moodtui("predict", str(song), env_home=home).returncode == 0
        with sqlite3.connect(cache) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for side in home.glob("cache.sqlite-*"):
            side.unlink()
        os.truncate(cache, cache.stat().st_size // 2)
    else:
        cache.mkdir()
        (cache / "something").write_text("not a database\n")


def _asides(home: Path) -> list[Path]:
    """The damaged caches kept (their -wal / -shm files, moved with them, not counted)."""
    return sorted(p for p in home.glob("cache.sqlite.corrupt-*") if not p.name.endswith(("-wal", "-shm")))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "folder"])
def test_a_damaged_cache_is_moved_aside_and_rebuilt_with_one_line(model_env: Path, tmp_path: Path, damage: str) -> None:
    song = write_song(tmp_path / "a.wav", "positive", 4.0)
    _damage_cache(model_env, damage, song)
    kept = model_env / "cache.sqlite"
    before = sorted(kept.iterdir()) if kept.is_dir() else kept.read_bytes()
    result = run_moodtui("predict", "--json", str(song), text=True)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 1
    (aside,) = _asides(model_env)
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"moodtui: {kept}: the cache was damaged (") and f"kept it as {aside.name}" in line, line
    assert "delete it" not in line
    assert (
        (sorted(p.name for p in aside.iterdir()) == ["something"])
        if damage == "folder"
        else aside.read_bytes() == before
    )
    with sqlite3.connect(kept) as conn:  # the new cache holds the result
        assert conn.execute("PRAGMA quick_check").fetchone() == ("ok",)
        assert [os.fsdecode(r[0]) for r in conn.execute("SELECT path FROM analysis_v1")] == [str(song)]
    again = run_moodtui("predict", str(song), text=True)
    assert again.returncode == 0 and again.stderr == ""
    assert len(_asides(model_env)) == 1
    for command in (
        ["analyse", str(song.parent)],
        ["export", "--mood", "positive", "-o", str(tmp_path / "p.m3u"), str(song.parent)],
    ):
        _damage_cache(model_env, "garbage", song)
        result = run_moodtui(*command, text=True)
        assert result.returncode == 0, result.stderr
        assert [ln for ln in result.stderr.splitlines() if "the cache was damaged (file is not a database)" in ln], (
            result.stderr
        )
    assert len(_asides(model_env)) == 3


def test_moving_aside_never_replaces_a_name_already_taken(tmp_path: Path) -> None:
    from moodtui.fileio import move_aside

    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    damaged = tmp_path / "cache.sqlite"
    damaged.write_bytes(b"garbage")
    now = time.time()
    planted = []
    for second in range(3):  # the names this second and the next two would take
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now + second))
        link = tmp_path / f"cache.sqlite.corrupt-{stamp}"
        link.symlink_to(victim)
        planted.append(link)
    aside = move_aside(damaged, "corrupt")
    assert aside not in planted and aside.read_bytes() == b"garbage" and not damaged.exists()
    assert victim.read_text() == "precious\n" and all(os.readlink(link) == str(victim) for link in planted)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "inside").write_text("x")
    moved = move_aside(folder, "corrupt")
    assert (moved / "inside").read_text() == "x" and not folder.exists()


def test_the_player_rebuilds_a_damaged_cache_with_one_notice_and_keeps_its_mood_model(
    model_env: Path, tmp_path: Path
) -> None:
    (model_env / "cache.sqlite").write_bytes(os.urandom(8192))
    library = make_library(tmp_path / "music")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            assert app.model_state == "ready" and app.model is not None
            assert all(row.predicted is not None for row in app.view.rows)
            said = [n for n in app.notices if "the cache was damaged" in n]
            assert len(said) == 1 and "file is not a database" in said[0], app.notices
            assert not [n for n in app.notices if "no mood model" in n or "without mood analysis" in n], app.notices
            assert app.now_playing.model_notice is None

    run(scenario)
    assert len(_asides(model_env)) == 1
    with sqlite3.connect(model_env / "cache.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM analysis_v1").fetchone()[0] == 4


# -- 16. the errors screen names the real cause -------------------------------------------------------------


def _broken_files(folder: Path) -> dict[str, str]:
    """Real broken files below ``folder``: name -> the reason the player must give."""
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "pipe.mp3")
    (folder / "empty.mp3").write_bytes(b"")
    (folder / "notes.mp3").write_text("these are my notes, not a song\n" * 50)
    (folder / "bad.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 2)
    return {
        "pipe.mp3": "not a regular file",
        "empty.mp3": "empty file",
        "notes.mp3": "not audio",
        "bad.wav": "not a readable wav file",
    }


def test_the_errors_screen_and_notices_name_the_real_cause_of_each_broken_file(model_env: Path, tmp_path: Path) -> None:
    from moodtui.tui.screens.errors import ErrorsScreen

    library = make_library(tmp_path / "music")
    expected = _broken_files(library / "Broken")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            errors = {row.track.path.name: row.error for row in app.view.error_rows()}
            assert set(errors) == set(expected), errors
            for name, reason in expected.items():
                assert errors[name] is not None and errors[name].startswith(reason), (name, errors[name])
            for name in expected:  # Enter on each: the notice names the same cause
                row = next(r for r in app.view.rows if r.track.path.name == name)
                assert app.track_list.move_to(row)
                await pilot.press("enter")
                await wait_until(
                    pilot, lambda t=row.track.title: any(n.startswith(f"cannot play {t}:") for n in app.notices), name
                )
            await pilot.press("e")
            await wait_until(pilot, lambda: isinstance(app.screen, ErrorsScreen), "the errors screen")
            shown = {row.track.path.name: row.error for row in app.screen.rows}
            assert shown == errors
            texts = " ".join(app.notices)
            assert "codec" not in texts and "codec" not in str(errors), (app.notices, errors)
            for name, reason in expected.items():
                said = [n for n in app.notices if n.startswith(f"cannot play {Path(name).stem}:")]
                assert said and all(reason in n for n in said), (name, app.notices)

    run(scenario)


# -- 11. a folder of files that cannot be played ----------------------------------------------------------


def test_one_enter_on_a_folder_of_broken_files_is_not_a_chain_of_failed_plays(model_env: Path, tmp_path: Path) -> None:
    library = tmp_path / "music"
    damaged = library / "1 Damaged"  # the scan reads them; only playing them fails
    damaged.mkdir(parents=True)
    for k in range(10):
        (damaged / f"{k} bad.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(256)) * 2)
    silent = library / "2 Silent"
    silent.mkdir()
    for k in range(200):
        (silent / f"{k:03d} nothing.mp3").write_bytes(b"")

    def failed_plays(app: MoodApp) -> list[str]:
        return [n for n in app.notices if n.startswith("cannot play")]

    async def enter_on(pilot, app: MoodApp, title: str) -> None:
        row = next(r for r in app.view.visible if r.track.title == title)
        assert app.track_list.move_to(row)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.playing is None, "the player to stop trying")
        await pilot.pause(1.0)  # and it stays stopped
        assert app.playing is None

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done and len(app.view.rows) == 210, "the scan")
            await enter_on(pilot, app, "000 nothing")  # the other 199 are known empty: not tried
            assert failed_plays(app) == ["cannot play 000 nothing: empty file (0 bytes)"]
            assert app.notices[-1] == "200 files could not be played, see `e`", app.notices

            await enter_on(pilot, app, "0 bad")  # three failures in a row, then it stops
            assert [n.split(":")[0] for n in failed_plays(app)[1:]] == [f"cannot play {k} bad" for k in range(3)]
            assert all("not a readable wav file" in n for n in failed_plays(app)[1:])
            assert app.notices[-1] == "203 files could not be played, see `e`", app.notices

            await enter_on(pilot, app, "0 bad")  # chosen again: tried; 1 and 2 are known broken now
            assert [n.split(":")[0] for n in failed_plays(app)[4:]] == [f"cannot play {k} bad" for k in (0, 3, 4)]
            assert len(failed_plays(app)) == 7
            played = {row.track.title: row.play_error for row in app.view.error_rows() if row.play_error}
            assert sorted(played) == ["0 bad", "000 nothing", "1 bad", "2 bad", "3 bad", "4 bad"]  # listed by `e`

    run(scenario)


# -- 14. every fallback to the base model says so; a version that does not load is never made current ------


def _version_that_does_not_load(home: Path, small_model: Path, name: str = "20300101-000000") -> Path:
    """A version folder whose metadata loads but whose ONNX model is garbage (a torn copy)."""
    version = home / "models" / name
    version.mkdir(parents=True)
    shutil.copy(small_model.with_suffix(".json"), version / "model.json")
    (version / "model.onnx").write_bytes(b"\x08\x01garbage, not an ONNX graph" * 40)
    return version


def test_rollback_to_a_version_whose_model_does_not_load_leaves_current_alone(
    model_env: Path, small_model: Path
) -> None:
    version = _version_that_does_not_load(model_env, small_model)
    result = run_moodtui("rollback", version.name, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    (line,) = result.stderr.splitlines()
    assert f"model version {version.name} does not load" in line and "still using base" in line, line
    assert not (model_env / "models" / "current").exists()
    listing = run_moodtui("models", text=True)
    assert listing.returncode == 0 and "models/current" not in listing.stderr


def test_the_models_screen_never_makes_current_a_version_that_does_not_load(
    model_env: Path, small_model: Path, tmp_path: Path
) -> None:
    version = _version_that_does_not_load(model_env, small_model)
    library = make_library(tmp_path / "music")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            before = app.model
            app.model_keeper.roll_back(version.name)  # what Enter on its row in the `m` screen runs
            await wait_until(pilot, lambda: any("cannot switch to model" in n for n in app.notices), "the refusal")
            (said,) = [n for n in app.notices if "cannot switch to model" in n]
            assert "does not load" in said and "still using base" in said, said
            assert app.model is before
            assert not any("using the shipped base model" in n for n in app.notices), app.notices

    run(scenario)
    assert not (model_env / "models" / "current").exists()


@pytest.mark.parametrize("problem", ["missing version", "no model file", "model does not load"])
def test_the_player_says_why_it_fell_back_to_the_base_model_and_how_to_repair_it(
    model_env: Path, small_model: Path, tmp_path: Path, problem: str
) -> None:
    name = "20300101-000000"
    models = model_env / "models"
    models.mkdir()
    (models / "current").write_text(name + "\n")
    if problem == "no model file":
        (models / name).mkdir()
        shutil.copy(small_model.with_suffix(".json"), models / name / "model.json")
    elif problem == "model does not load":
        _version_that_does_not_load(model_env, small_model, name)
    library = make_library(tmp_path / "music")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            assert app.model is not None and app.model.version == "test-small"  # the base stands in
            said = [n for n in app.notices if "using the shipped base model" in n]
            assert len(said) == 1, app.notices
            assert name in said[0] and ("rollback" in said[0] and "`m`" in said[0]), said

    run(scenario)


# -- 15. unreadable folders, link loops, a file linked twice ----------------------------------------------------

_ERRORS_OF_THE_PLAYER = """
import asyncio, json, sys
from moodtui.tui.app import MoodApp

async def main():
    app = MoodApp(sys.argv[1])
    async with app.run_test(size=(110, 34)) as pilot:
        while not app.scan_done and not app.notices:
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        print(json.dumps({"rows": sorted(r.path for r in app.view.rows),
                          "errors": {r.path: r.error for r in app.view.error_rows()}, "notices": app.notices}))

asyncio.run(main())
"""


def _shared_folder(tmp_path: Path) -> Path:
    """A folder outside pytest's (root-only) temporary tree, removed by the test's finalizer."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="moodtui-faults-"))
    folder.chmod(0o755)
    (tmp_path / "shared-folder").symlink_to(folder)
    return folder


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[Path]:
    folder = _shared_folder(tmp_path)
    try:
        yield folder
    finally:
        for sub in folder.rglob("*"):
            if sub.is_dir() and not sub.is_symlink():
                sub.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


def test_an_unreadable_library_says_permission_denied_and_export_exits_1(
    model_env: Path, small_model: Path, shared: Path
) -> None:
    from fault_tools import without_permission_override

    prefix = without_permission_override()
    home = shared / "home"
    home.mkdir()
    shutil.copy(small_model, shared / "model.onnx")
    shutil.copy(small_model.with_suffix(".json"), shared / "model.json")
    library = shared / "music"
    write_song(library / "Open" / "a.wav", "positive", 4.0)
    write_song(library / "Locked" / "b.wav", "positive", 4.0, seed=1)
    env = dict(os.environ, MOODTUI_HOME=str(home), MOODTUI_BASE_MODEL=str(shared / "model.onnx"))
    command = [*prefix, sys.executable, "-m", "moodtui", "export", "--mood", "positive", "-o", str(shared / "p.m3u")]

    (library / "Locked").chmod(0)
    result = subprocess.run([*command, str(library)], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert f"moodtui: {library / 'Locked'}: cannot read the folder (permission denied)" in result.stderr.splitlines()
    assert (shared / "p.m3u").read_text().splitlines()[1:] == ["#EXTINF:4,a", str(library / "Open" / "a.wav")]

    player = subprocess.run(
        [*prefix, sys.executable, "-c", _ERRORS_OF_THE_PLAYER, str(library)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert player.returncode == 0, player.stderr[-2000:]
    seen = json.loads(player.stdout.splitlines()[-1])
    assert seen["errors"] == {str(library / "Locked"): "cannot read the folder (permission denied)"}, seen

    (library).chmod(0)
    result = subprocess.run([*command, str(library)], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "wrote" not in result.stdout, (result.stdout, result.stderr)
    assert result.stderr.splitlines() == [f"moodtui: {library}: cannot read the folder (permission denied)"]


def test_link_loops_are_listed_like_dangling_links_and_a_linked_file_once(model_env: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "music")
    links = library / "Links"
    links.mkdir()
    (links / "loop1.mp3").symlink_to("loop2.mp3")
    (links / "loop2.mp3").symlink_to("loop1.mp3")
    (links / "dangling.flac").symlink_to("gone.flac")
    target = library / "Beta Crew" / "Hum.ogg"
    (links / "also hum.ogg").symlink_to(target)  # walked before its target: listed by the target's path
    (library / "Zed").mkdir()
    (library / "Zed" / "hum again.ogg").symlink_to(target)

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            paths = [row.path for row in app.view.rows]
            assert paths.count(str(target)) == 1 and len(paths) == 4 + 3, paths
            errors = {Path(row.path).name: row.error for row in app.view.error_rows()}
            assert errors == {
                "loop1.mp3": "Too many levels of symbolic links",
                "loop2.mp3": "Too many levels of symbolic links",
                "dangling.flac": "No such file or directory",
            }, errors

    run(scenario)


# -- 13. a long m4a starts at once: its head plays while the rest is transcoded ----------------------------


def test_a_long_m4a_plays_its_head_at_once_and_the_whole_file_follows_at_the_same_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import soundfile

    from moodtui.player import playback

    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed: m4a files are not played")
    song = tmp_path / "long.m4a"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=150",
         "-ac", "2", "-c:a", "aac", str(song)],
        check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    monkeypatch.setattr(playback, "LARGE_TRANSCODE_BYTES", 10 * 1024 * 1024)  # 150 s of wav: 26 MB
    player = playback.Player()
    try:
        assert player.open(song)
        player.play()
        head = player._playing_temp
        assert head is not None
        # What plays first is only the head, not the whole file.
        assert soundfile.info(str(head)).duration == pytest.approx(playback.HEAD_S, abs=0.1)
        assert player.duration_s == pytest.approx(150.0, abs=0.2)  # the file's real length meanwhile
        notices = [player.take_notice(), player.take_notice()]
        (said,) = [n for n in notices if n and "temporary wav" in n]
        assert said.startswith("long.m4a: transcoding to a 26 MB temporary wav in "), said
        deadline = time.monotonic() + 120
        while player._playing_temp == head:
            assert not player.at_end, "the head's end is not the song's end"
            assert time.monotonic() < deadline, "the whole file was never swapped in"
            time.sleep(0.05)
        before = player.position_s
        whole = player._playing_temp
        assert soundfile.info(str(whole)).duration == pytest.approx(150.0, abs=0.2) and not head.exists()
        assert player.is_playing and player.position_s >= before
        player.seek(140.0)
        assert player.position_s == pytest.approx(140.0, abs=1.0)
    finally:
        player.close()
