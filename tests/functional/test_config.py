"""The command line takes a station and a config file (a real `moodtui` process). The settings
themselves: tests/unit/test_settings.py.
"""

from __future__ import annotations

from pathlib import Path


def test_the_command_line_takes_a_station_and_a_config_file(tmp_path: Path) -> None:
    from conftest import run_moodtui
    from moodtui.cli.main import build_parser

    args = build_parser().parse_args(["play", "--radio", "wind-down", "--config", "my.toml", "music"])
    assert (args.radio, args.config, args.directory) == ("wind-down", Path("my.toml"), "music")
    result = run_moodtui("--radio", "happy", str(tmp_path), env_home=tmp_path)
    assert result.returncode == 2
    assert "invalid choice: 'happy'" in result.stderr.decode() and "positive" in result.stderr.decode()
