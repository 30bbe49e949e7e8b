"""config.toml: every setting, its default, and one clear line per problem (no Textual here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodtui.config import LABEL_BINDINGS, PEER_PLAY_PAUSE_KEYS, PRESETS, config_path, load_settings, parse_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOODTUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "moodtui" / "config.toml"
    settings = load_settings()
    assert settings.problems == []
    assert (
        settings.library,
        settings.resume,
        settings.cursor_follows_playing,
        settings.replaygain,
        settings.seek_step,
        settings.volume_step,
        settings.theme,
        settings.keys_preset,
        settings.keys,
    ) == (None, "paused", False, "off", 5.0, 5, "textual-dark", "moodtui", {})


def test_every_setting_is_read(tmp_path: Path) -> None:
    settings = load_settings(
        write(
            tmp_path,
            """
library = "~/Songs"
resume = "playing"
cursor_follows_playing = true
replaygain = "album"
seek_step = 10
volume_step = 2
theme = "nord"

[keys]
preset = "kew"
label_positive = "ctrl+p, P"
quit = "Q"
""",
        )
    )
    assert settings.problems == []
    assert settings.library == str(Path.home() / "Songs")
    assert (
        settings.resume,
        settings.cursor_follows_playing,
        settings.replaygain,
        settings.seek_step,
        settings.volume_step,
        settings.theme,
    ) == ("playing", True, "album", 10.0, 2, "nord")
    assert settings.volume_fraction == pytest.approx(0.02)
    keymap = settings.keymap({"label_positive", "quit", *PRESETS["kew"]})
    assert keymap["label_positive"] == "ctrl+p,P" and keymap["quit"] == "Q" and keymap["seek_back"] == "a"


def test_a_preset_can_be_named_at_the_top() -> None:
    settings = parse_settings('keys = "cmus"\n', Path("c.toml"))
    assert settings.problems == [] and settings.keys_preset == "cmus"


def test_bad_values_name_the_file_and_line_and_the_rest_stands(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """seek_step = 10
resume = "sometimes"
volume_step = 0
colour = "blue"
theme = "nord"

[keys]
quit = "Q"
label_positive = "two words"
not_a_binding = "k"
""",
    )
    settings = load_settings(path)
    assert settings.seek_step == 10 and settings.theme == "nord" and settings.resume == "paused"
    assert settings.problems == [
        f"{path}:2: resume must be one of paused, playing, off (not 'sometimes')",
        f"{path}:3: volume_step must be a number from 1 to 50 (not 0)",
        f"{path}:9: not a key name: 'two words'",
        f"{path}:4: unknown setting 'colour'",
    ]
    keymap = settings.keymap({"quit", "label_positive"})
    assert keymap == {"quit": "Q"}
    assert settings.problems[-1].startswith(f"{path}:10: no key binding named 'not_a_binding'")


def test_a_file_that_is_not_toml_is_one_line_and_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, 'seek_step = 10\ntheme = "nord\n')
    settings = load_settings(path)
    assert len(settings.problems) == 1
    assert (
        settings.problems[0].startswith(f"{path}:2: not valid TOML (") and "using the defaults" in settings.problems[0]
    )
    assert settings.seek_step == 5.0


def test_a_named_file_that_does_not_exist_says_so(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "nope.toml")
    assert settings.problems == [f"{tmp_path / 'nope.toml'}: no such file: using the defaults"]


def test_no_preset_puts_a_label_key_on_a_peers_play_pause_key() -> None:
    for name, preset in PRESETS.items():
        if name == "moodtui":
            continue
        for binding in LABEL_BINDINGS:
            keys = set(preset[binding].split(","))
            assert not keys & PEER_PLAY_PAUSE_KEYS, (name, binding)
        assert set(preset) - {"toggle_pause"}, name
