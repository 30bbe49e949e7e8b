"""The `moodtui` command: `main` parses (cli/main.py); each sub-command has its module here."""

from moodtui.cli.main import main

__all__ = ["main"]
