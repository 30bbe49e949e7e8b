"""Model versions in the data folder, which one is current, and rollback.

Layout: ``<home>/models/<version>/model.onnx`` (+ ``model.json``, ``model.keras``) and
``<home>/models/current`` holding the name of the version in use. A new version is staged in a
temporary folder and moved into place with one ``os.replace``, then ``current`` is rewritten
atomically, so a crash at any moment leaves a working model. The shipped base model is always
available as version ``base``; with no personal version the base is used.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moodtui.errors import ModelError, MoodtuiError
from moodtui.fileio import atomic_write_text, fsync_directory
from moodtui.model import MoodModel, read_metadata
from moodtui.paths import data_home, shipped_model_path

BASE = "base"
KEEP_VERSIONS = 5
MODEL_FILE = "model.onnx"


@dataclass(frozen=True)
class ModelVersion:
    name: str
    onnx_path: Path
    metadata: dict[str, Any]
    is_current: bool


def models_root(home: Path | None = None) -> Path:
    root = (home or data_home()) / "models"
    root.mkdir(parents=True, exist_ok=True)
    return root


def version_path(name: str, home: Path | None = None) -> Path:
    if name == BASE:
        return shipped_model_path()
    return models_root(home) / name / MODEL_FILE


def current_name(home: Path | None = None) -> str:
    pointer = models_root(home) / "current"
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        return BASE
    if name != BASE and not version_path(name, home).is_file():
        return BASE
    return name or BASE


def current_model_path(home: Path | None = None) -> Path:
    return version_path(current_name(home), home)


def set_current(name: str, home: Path | None = None) -> None:
    """Make ``name`` the model in use (atomic); refuses a version that does not exist."""
    if name != BASE and not version_path(name, home).is_file():
        raise MoodtuiError(f"no model version {name!r} in {models_root(home)}")
    atomic_write_text(models_root(home) / "current", name + "\n")


def list_versions(home: Path | None = None) -> list[ModelVersion]:
    """The base model, then personal versions from newest to oldest."""
    current = current_name(home)
    versions = [ModelVersion(BASE, shipped_model_path(), _metadata_or_error(shipped_model_path()), current == BASE)]
    root = models_root(home)
    names = sorted((p.name for p in root.iterdir() if (p / MODEL_FILE).is_file()), reverse=True)
    for name in names:
        path = root / name / MODEL_FILE
        versions.append(ModelVersion(name, path, _metadata_or_error(path), current == name))
    return versions


def install_version(staged_dir: Path, name: str, home: Path | None = None, make_current: bool = True) -> Path:
    """Move a fully written and checked model folder into place, make it current, prune old ones."""
    target = models_root(home) / name
    if target.exists():
        raise MoodtuiError(f"model version {name} already exists")
    os.replace(staged_dir, target)
    fsync_directory(target.parent)
    if make_current:
        set_current(name, home)
    prune(home)
    return target / MODEL_FILE


def prune(home: Path | None = None, keep: int = KEEP_VERSIONS) -> None:
    """Keep the newest ``keep`` personal versions (and always the current one and the base)."""
    root = models_root(home)
    current = current_name(home)
    names = sorted((p.name for p in root.iterdir() if (p / MODEL_FILE).is_file()), reverse=True)
    for name in names[keep:]:
        if name != current:
            shutil.rmtree(root / name, ignore_errors=True)
    for stale in root.glob(".staging-*"):
        # Left by a training job that was killed; only remove old ones (a job may be running).
        try:
            if stale.stat().st_mtime < time.time() - 24 * 3600:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            pass


def load_current_model(home: Path | None = None) -> tuple[MoodModel, str | None]:
    """The model in use, or the shipped base with a notice when the current one fails to load."""
    path = current_model_path(home)
    try:
        return MoodModel.load(path), None
    except ModelError as exc:
        if path == shipped_model_path():
            raise
        return MoodModel.load(shipped_model_path()), f"{exc}; using the shipped base model"


def _metadata_or_error(path: Path) -> dict[str, Any]:
    try:
        return read_metadata(path)
    except ModelError as exc:
        return {"error": str(exc)}


def describe(version: ModelVersion) -> dict[str, Any]:
    """The figures `moodtui models` shows for one version."""
    meta = version.metadata
    val = meta.get("validation", {}) if isinstance(meta.get("validation"), dict) else {}
    return {
        "version": version.name,
        "model_version": meta.get("version"),
        "current": version.is_current,
        "created": meta.get("created"),
        "kind": meta.get("kind"),
        "songs": meta.get("data", {}).get("songs") if isinstance(meta.get("data"), dict) else None,
        "song_accuracy": val.get("song_accuracy"),
        "agreement": meta.get("agreement", {}).get("song_agreement") if isinstance(meta.get("agreement"), dict) else None,
        "error": meta.get("error"),
        "path": str(version.onnx_path),
    }
