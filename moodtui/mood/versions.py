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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moodtui.errors import ModelError, MoodtuiError, display_path
from moodtui.fileio import atomic_write_text, fsync_directory
from moodtui.mood.model import MoodModel, older_descriptors, read_metadata
from moodtui.paths import data_home, shipped_model_path

BASE = "base"
KEEP_VERSIONS = 5
MODEL_FILE = "model.onnx"
STAGING_PREFIX = ".staging-"
"""Training jobs write a new version in ``models/.staging-*`` first (never a version)."""


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


def is_version_name(name: str) -> bool:
    """True for a name that can be a version: never a hidden folder (a training job's staging
    folder, ``.staging-*``, is work in progress, never a version), never a path."""
    return bool(name) and not name.startswith(".") and "/" not in name and "\0" not in name and name != "current"


def _version_names(home: Path | None = None) -> list[str]:
    """Installed personal versions, newest first (names are creation times)."""
    root = models_root(home)
    return sorted(
        (p.name for p in root.iterdir() if is_version_name(p.name) and (p / MODEL_FILE).is_file()), reverse=True
    )


def read_current(home: Path | None = None) -> tuple[str, str | None]:
    """(the version in use, a one-line notice when ``models/current`` cannot be followed).

    Anything unusable in the pointer (bytes that are not text, a staging folder, a version that is
    gone or has no model file) means the shipped base model, with a notice saying why and how to
    repair it (``moodtui rollback`` rewrites the pointer).
    """
    pointer = models_root(home) / "current"
    try:
        raw = pointer.read_bytes()
    except FileNotFoundError:
        return BASE, None
    except OSError as error:
        return BASE, _pointer_notice(pointer, f"cannot be read ({error.strerror or error})")
    try:
        name = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        return BASE, _pointer_notice(pointer, "is not text")
    if not name or name == BASE:
        return BASE, None
    if not is_version_name(name):
        return BASE, _pointer_notice(pointer, f"names {display_path(name)!r}, which is not a model version")
    folder = models_root(home) / name
    if not folder.is_dir():
        what = "which does not exist" if not folder.exists() else "which is not a folder"
        return BASE, _pointer_notice(pointer, f"names version {display_path(name)}, {what}")
    model = folder / MODEL_FILE
    if not model.is_file():
        return BASE, _pointer_notice(pointer, f"names version {display_path(name)}, which has no {MODEL_FILE}")
    if model.stat().st_size == 0:
        return BASE, _pointer_notice(pointer, f"names version {display_path(name)}, whose {MODEL_FILE} is empty")
    return name, None


def _pointer_notice(pointer: Path, problem: str) -> str:
    return (
        f"{display_path(pointer)} {problem}: using the shipped base model "
        f"(`moodtui rollback base` or `m` in the player repairs it)"
    )


def current_name(home: Path | None = None) -> str:
    return read_current(home)[0]


def current_model_path(home: Path | None = None) -> Path:
    return version_path(current_name(home), home)


def set_current(name: str, home: Path | None = None) -> None:
    """Make ``name`` the model in use (atomic); refuses a version that does not exist."""
    _require_version(name, home)
    atomic_write_text(models_root(home) / "current", name + "\n")


def _require_version(name: str, home: Path | None) -> None:
    if name != BASE and (not is_version_name(name) or not version_path(name, home).is_file()):
        raise MoodtuiError(f"no model version {display_path(name)!r} in {display_path(models_root(home))}")


def roll_back(name: str, home: Path | None = None) -> MoodModel:
    """Switch to version ``name`` (or ``base``) if it loads (its metadata and its ONNX model: the
    player's own loading), and return it; else ``current`` is left as it was and MoodtuiError
    says why (a pointer to a version that does not load would only mean a silent fallback)."""
    _require_version(name, home)
    try:
        model = MoodModel.load(version_path(name, home))
    except ModelError as error:
        raise MoodtuiError(f"model version {name} does not load ({error}); still using {current_name(home)}") from None
    set_current(name, home)
    return model


def list_versions(home: Path | None = None) -> list[ModelVersion]:
    """The base model, then personal versions from newest to oldest."""
    current = current_name(home)
    versions = [ModelVersion(BASE, shipped_model_path(), _metadata_or_error(shipped_model_path()), current == BASE)]
    root = models_root(home)
    for name in _version_names(home):
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


def remove_staging(home: Path | None = None) -> list[Path]:
    """Delete staging folders left by training jobs that were killed; returns them.

    Only a training job calls this, right after taking the data folder's training lock: no other
    job can be writing a staging folder then.
    """
    removed = []
    for stale in models_root(home).glob(STAGING_PREFIX + "*"):
        shutil.rmtree(stale, ignore_errors=True)
        removed.append(stale)
    return removed


def prune(home: Path | None = None, keep: int = KEEP_VERSIONS) -> None:
    """Keep the newest ``keep`` personal versions (and always the current one, the newest one
    and the base); staging folders are not versions and are left to :func:`remove_staging`."""
    root = models_root(home)
    current = current_name(home)
    for name in _version_names(home)[max(keep, 1) :]:
        if name != current:
            shutil.rmtree(root / name, ignore_errors=True)


def load_current_model(home: Path | None = None) -> tuple[MoodModel, str | None]:
    """The model in use, or the shipped base with a notice when the current one fails to load
    (or ``models/current`` cannot be followed)."""
    name, notice = read_current(home)
    path = version_path(name, home)
    try:
        return MoodModel.load(path), notice
    except ModelError as exc:
        if path == shipped_model_path():
            raise
        return MoodModel.load(shipped_model_path()), (
            f"{exc}; using the shipped base model (`moodtui rollback` or `m` in the player picks another)"
        )


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
        "agreement": meta.get("agreement", {}).get("song_agreement")
        if isinstance(meta.get("agreement"), dict)
        else None,
        "error": meta.get("error"),
        "path": str(version.onnx_path),
        # A head fitted to another descriptor definition scores at its mean descriptors
        # (``mood.model.descriptor_part``) until the listener retrains.
        "older_descriptors": older_descriptors(meta["head"]) if isinstance(meta.get("head"), dict) else None,
        **_personal_figures(meta),
    }


def _personal_figures(meta: dict[str, Any]) -> dict[str, Any]:
    """What a personal version was chosen as: its head, its weak IMAC prior, and whether the
    retrain guard switched it on."""
    personal: dict[str, Any] = meta["personal"] if isinstance(meta.get("personal"), dict) else {}
    data: dict[str, Any] = meta["data"] if isinstance(meta.get("data"), dict) else {}
    guard = meta.get("guard") if isinstance(meta.get("guard"), dict) else None
    return {
        "head": personal.get("head"),
        "head_description": personal.get("head_description"),
        "head_candidates": personal.get("candidates"),
        "imac_prior_songs": data.get("imac_prior_songs"),
        "guard": guard,
    }


def songs_cell(row: dict[str, object]) -> str:
    """ "12 + 5 IMAC (weak)": the listener's labelled songs, and owned songs IMAC labels (a weaker prior)."""
    songs = str(row.get("songs") or "-")
    prior = row.get("imac_prior_songs")
    return f"{songs} + {prior} IMAC (weak)" if prior else songs


def head_cell(row: dict[str, object]) -> str:
    """The personal head chosen and how many held-out songs it agreed with ("ordered 9/12")."""
    head = row.get("head")
    if not head:
        return "-"
    candidates = row.get("head_candidates")
    hits = candidates.get(head) if isinstance(candidates, dict) else None
    return f"{head} {hits}/{row.get('songs')}" if hits is not None else str(head)
