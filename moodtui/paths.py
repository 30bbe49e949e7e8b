"""Where moodtui keeps things.

The data folder holds the listener's models, labels and caches. It defaults to the
platformdirs user data dir and is overridden by ``MOODTUI_HOME`` (and ``--home``, which the CLI
turns into ``MOODTUI_HOME`` so that child processes such as the training job see the same folder).

Shipped files (the base model, the demo library, the IMAC table) are found next to the installed
package (a wheel copies them into ``moodtui/_shipped``) or, in a source checkout, at the top of the
repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from moodtui.errors import MoodtuiError, display_path

PACKAGE_DIR = Path(__file__).resolve().parent
_SHIPPED_DIR = PACKAGE_DIR / "_shipped"
_REPO_DIR = PACKAGE_DIR.parent

BASE_MODEL_NAME = "moodtui-base"


def data_home() -> Path:
    """The data folder (created on first use)."""
    env = os.environ.get("MOODTUI_HOME")
    home = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("moodtui", appauthor=False))
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise MoodtuiError(
            f"{display_path(home)}: cannot create the data folder "
            f"({error.strerror or error}); choose another with --home or MOODTUI_HOME"
        ) from None
    return home


def _shipped(name: str) -> Path:
    installed = _SHIPPED_DIR / name
    if installed.exists():
        return installed
    return _REPO_DIR / name


def shipped_models_dir() -> Path:
    return _shipped("models")


def shipped_model_path() -> Path:
    """The base ONNX model (metadata JSON, Keras weights and replay set beside it).

    ``MOODTUI_BASE_MODEL`` names another base model file: the tests use it to run everything on a
    small model they train themselves, and a developer can try a freshly trained base with it.
    """
    override = os.environ.get("MOODTUI_BASE_MODEL")
    if override:
        return Path(override).expanduser()
    return shipped_models_dir() / f"{BASE_MODEL_NAME}.onnx"


def demo_library_dir() -> Path:
    return _shipped("library")


def imac_table_path() -> Path:
    return PACKAGE_DIR / "data" / "imac" / "SongEmotionScore.csv"
