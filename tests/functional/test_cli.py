"""`moodtui predict` and friends through the real command line, on real (and really broken) files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from audio_factory import write_song
from conftest import run_moodtui


@pytest.fixture
def bad_files(tmp_path):
    """Every kind of bad input the issue lists, plus two good songs around them."""
    d = tmp_path / "bad"
    d.mkdir()
    good_mp3 = write_song(d / "good.mp3", "positive", 10.0)
    files = {"good_first": write_song(d / "first.wav", "neutral", 4.0)}
    files["missing"] = d / "missing.mp3"
    files["directory"] = d / "folder.mp3"
    files["directory"].mkdir()
    (d / "empty.mp3").write_bytes(b"")
    files["empty"] = d / "empty.mp3"
    data = good_mp3.read_bytes()
    files["truncated"] = d / "truncated.mp3"
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["text"] = d / "notes.mp3"
    files["text"].write_text("these are my shopping notes, not music\n" * 50)
    garbage = bytearray(write_song(d / "tmp.wav", "positive", 4.0).read_bytes())
    garbage[12:40] = b"\xff" * 28
    files["garbage_wav"] = d / "garbage.wav"
    files["garbage_wav"].write_bytes(bytes(garbage))
    files["short"] = write_song(d / "short.flac", "positive", 1.5)
    files["fifo"] = d / "pipe.ogg"
    os.mkfifo(files["fifo"])
    files["non_utf8"] = write_song(d / os.fsdecode(b"caf\xe9-\xff.wav"), "negative", 4.0)
    files["good_last"] = good_mp3
    return files


def test_bad_inputs_each_get_one_line_and_the_rest_is_processed(bad_files, model_env):
    paths = [os.fsencode(p) for p in bad_files.values()]
    result = run_moodtui("predict", "--json", *paths, timeout=120)
    assert result.returncode == 1
    stderr = result.stderr.decode("utf-8")
    assert "Traceback" not in stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    expected = {
        "missing": "missing.mp3: no such file",
        "directory": "folder.mp3: no audio files in this folder",
        "empty": "empty.mp3: empty file (0 bytes)",
        "text": "notes.mp3: not audio (a text file)",
        "garbage_wav": "garbage.wav: not a readable wav file",
        "short": "short.flac: too short (1.5 s; at least 3 s needed)",
        "fifo": "pipe.ogg: not a regular file",
        "truncated": "truncated.mp3: truncated or damaged: decoded",
    }
    for key, text in expected.items():
        matching = [ln for ln in lines if text in ln]
        assert len(matching) == 1, f"{key}: {text!r} not found once in {lines}"
        assert matching[0].startswith("moodtui: ") and str(bad_files[key].parent) in matching[0]
    assert len(lines) == len(expected)
    out = json.loads(result.stdout)
    assert len(out) == len(bad_files)
    by_name = {os.path.basename(o["path"]): o for o in out}
    assert "error" in by_name["missing.mp3"] and "slices" in by_name["good.mp3"]
    # The truncated file is analysed as far as it decodes, with a warning.
    assert by_name["truncated.mp3"]["duration_s"] < 6 and "truncated" in by_name["truncated.mp3"]["warning"]
    # A non-UTF-8 name comes back as its own bytes (os.fsencode), never a crash.
    assert any(b"caf\xe9" in os.fsencode(o["path"]) and "slices" in o for o in out)
    # Asked again, the answer comes from the analysis cache and still carries the warning.
    again = run_moodtui("predict", "--json", os.fsencode(bad_files["truncated"]), timeout=60)
    assert again.returncode == 0
    assert "truncated or damaged: decoded" in again.stderr.decode()
    assert json.loads(again.stdout)[0]["warning"] == by_name["truncated.mp3"]["warning"]


def test_predict_json_schema(tmp_path, model_env):
    song = write_song(tmp_path / "song.ogg", "positive", 7.5)
    result = run_moodtui("predict", "--json", str(song))
    assert result.returncode == 0, result.stderr
    [entry] = json.loads(result.stdout)
    assert set(entry) == {"path", "duration_s", "slices", "song", "model"}
    assert entry["duration_s"] == pytest.approx(7.5, abs=0.05)
    assert [s["start_s"] for s in entry["slices"]] == [0.0, 3.0, 4.5]
    # The small test model is trained with an energy target, so it has the energy output.
    assert set(entry["slices"][0]) == {"start_s", "end_s", "positive", "neutral", "negative", "energy"}
    assert all(0.0 <= s["energy"] <= 1.0 for s in entry["slices"])
    song_level = entry["song"]
    assert set(song_level) == {"positive", "neutral", "negative", "label", "votes", "confidence", "unsure", "energy"}
    assert song_level["energy"] == pytest.approx(sum(s["energy"] for s in entry["slices"]) / 3, abs=1e-3)
    assert song_level["confidence"] == max(song_level[c] for c in ("positive", "neutral", "negative"))
    assert sum(song_level[c] for c in ("positive", "neutral", "negative")) == pytest.approx(1.0, abs=1e-3)
    assert entry["model"]["version"] == "test-small"


def test_predict_table_output(tmp_path, model_env):
    song = write_song(tmp_path / "song.flac", "negative", 6.0)
    result = run_moodtui("predict", str(song))
    assert result.returncode == 0
    out = result.stdout.decode()
    assert "song" in out and "votes" in out and "energy" in out and "0.0-" in out


def test_home_option_and_env_select_the_data_folder(tmp_path, small_model, monkeypatch):
    monkeypatch.setenv("MOODTUI_BASE_MODEL", str(small_model))
    monkeypatch.delenv("MOODTUI_HOME", raising=False)
    song = write_song(tmp_path / "song.wav", "neutral", 4.0)
    result = run_moodtui("predict", "--home", str(tmp_path / "h"), str(song))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "h" / "cache.sqlite").is_file()


def test_no_model_at_all_is_a_clear_error(tmp_path, home, monkeypatch):
    monkeypatch.setenv("MOODTUI_BASE_MODEL", str(tmp_path / "nowhere.onnx"))
    song = write_song(tmp_path / "song.wav", "neutral", 4.0)
    result = run_moodtui("predict", str(song))
    assert result.returncode == 1
    assert result.stderr.decode().strip() == f"moodtui: {tmp_path / 'nowhere.onnx'}: model file missing"


@pytest.mark.skipif(os.geteuid() == 0, reason="running as root: file permissions are not enforced")
def test_unreadable_file_is_one_line(tmp_path, model_env):
    song = write_song(tmp_path / "locked.wav", "neutral", 4.0)
    song.chmod(0)
    result = run_moodtui("predict", str(song))
    assert result.returncode == 1
    assert result.stderr.decode().strip() == f"moodtui: {song}: permission denied"


def test_export_writes_a_playlist_of_one_mood_with_the_listeners_labels_first(tmp_path, model_env):
    library = tmp_path / "music"
    bright = [write_song(library / f"bright{k}.wav", "positive", 6.0, seed=50 + k) for k in range(2)]
    dark = write_song(library / "dark.wav", "negative", 6.0, seed=60)
    (library / "broken.mp3").write_text("not audio")
    assert run_moodtui("label", str(dark), "positive").returncode == 0  # the listener disagrees
    playlist = tmp_path / "happy.m3u"
    result = run_moodtui("export", "--mood", "positive", "-o", str(playlist), str(library))
    # The playlist is written, but a file could not be read: exit status 1, as for predict.
    assert result.returncode == 1, result.stderr.decode()
    assert "moodtui: 1 file could not be read (not in the playlist)" in result.stderr.decode()
    lines = playlist.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#EXTM3U"
    entries = [ln for ln in lines if not ln.startswith("#")]
    predicted = json.loads(run_moodtui("predict", "--json", *map(str, bright)).stdout)
    by_model = {e["path"] for e in predicted if e["song"]["label"] == "positive"}
    # The listener's label wins over the model's; the others follow the model.
    assert sorted(entries) == sorted({str(dark)} | by_model)
    assert "broken.mp3" in result.stderr.decode()
    assert "1 by your labels" in result.stdout.decode()


def test_only_the_train_command_loads_the_training_job():
    """The job's options (and its scipy.optimize, heads ...) are built only for `moodtui train`:
    every other command starts half a second sooner."""
    import subprocess
    import sys

    probe = (
        "import sys; from moodtui.cli.main import build_parser; build_parser({argv}).parse_args({argv}); "
        "print('moodtui.train.job' in sys.modules)"
    )
    for argv, loaded in ((["predict", "song.ogg"], "False"), (["train", "--json"], "True")):
        out = subprocess.run(
            [sys.executable, "-c", probe.format(argv=argv)], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == loaded, (argv, out.stdout, out.stderr[-500:])


def test_models_says_when_the_model_in_use_was_fitted_to_older_musical_cues(
    home: Path, small_model: Path, tmp_path: Path
) -> None:
    from moodtui.mood.descriptors import DESCRIPTOR_NAMES, DESCRIPTORS_VERSION

    base = tmp_path / "older" / "base.onnx"
    base.parent.mkdir()
    shutil.copy(small_model, base)
    meta = json.loads(small_model.with_suffix(".json").read_text())
    head = meta.get("head") if isinstance(meta.get("head"), dict) else {"kernel": [], "bias": [0.0, 0.0, 0.0]}
    part = {"names": list(DESCRIPTOR_NAMES), "kernel": [], "mean": [], "version": DESCRIPTORS_VERSION}
    env = {**os.environ, "MOODTUI_HOME": str(home), "MOODTUI_BASE_MODEL": str(base)}

    def listing() -> subprocess.CompletedProcess:
        base.with_suffix(".json").write_text(json.dumps({**meta, "head": {**head, "descriptors": part}}))
        return subprocess.run(
            [sys.executable, "-m", "moodtui", "models"], env=env, capture_output=True, text=True, timeout=120
        )

    current = listing()
    assert current.returncode == 0, current.stderr
    assert "older moodtui" not in current.stdout
    part["version"] = "desc-3"
    older = listing()
    assert older.returncode == 0, older.stderr
    assert "fitted to the musical cues of an older moodtui (desc-3)" in older.stdout
    assert "until you retrain" in older.stdout
