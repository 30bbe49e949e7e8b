"""The listener's settings: ``config.toml`` in the user config folder (no Textual here).

``$XDG_CONFIG_HOME/moodtui/config.toml`` (platformdirs' user config folder; ``MOODTUI_CONFIG`` or
``moodtui --config FILE`` names another file). Every setting is optional; the README lists them
all with their defaults. A bad file or a bad value gives one line naming the file, the line and
the cause (:attr:`Settings.problems`), and the defaults stand for the rest: a typo never stops
the player.

Keys: a ``[keys]`` table maps the player's stable binding ids to keys (``label_positive = "P"``),
over a preset (``keys = "cmus"`` at the top, or ``preset = "cmus"`` in the table). Whatever the
preset, the label keys never sit on a peer player's play/pause key (:data:`PEER_PLAY_PAUSE_KEYS`):
a habit from cmus or kew must not write a training label. Only the listener's own ``[keys]`` can
put them there.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from moodtui.errors import display_path

CONFIG_NAME = "config.toml"
RESUME_MODES = ("paused", "playing", "off")
REPLAYGAIN_MODES = ("off", "track", "album")

PEER_PLAY_PAUSE_KEYS = frozenset({"space", "p", "c", "x"})
"""Play / pause in the peers a listener comes from: space (most), p (kew, ncmpcpp), c and x (cmus)."""

PRESETS: dict[str, dict[str, str]] = {
    "moodtui": {},
    # cmus: c pause, x play, b / z next / previous, s shuffle, r repeat, e add to the queue,
    # left / right seek, + / - volume. Labels move to shifted letters; sort moves off s, errors off e.
    "cmus": {
        "toggle_pause": "c,x,space",
        "next_track": "b",
        "previous_track": "z",
        "shuffle": "s",
        "repeat": "r",
        "queue_add": "e",
        "errors": "E",
        "cycle_sort": "o",
        "reverse_sort": "O",
        "label_positive": "P",
        "label_neutral": "N",
        "label_negative": "X",
    },
    # kew: space / p pause, left / right (h / l) previous / next, a / d seek, s shuffle, r repeat
    # (so the queue moves to A, label next to L, sorting to o / O).
    "kew": {
        "toggle_pause": "space,p",
        "next_track": "right,l",
        "previous_track": "left,h",
        "seek_back": "a",
        "seek_forward": "d",
        "shuffle": "s",
        "repeat": "r",
        "queue_add": "A",
        "label_next": "L",
        "cycle_sort": "o",
        "reverse_sort": "O",
        "label_positive": "P",
        "label_neutral": "N",
        "label_negative": "X",
    },
}
LABEL_BINDINGS = ("label_positive", "label_neutral", "label_negative")

_KEY_NAME = re.compile(r"^((ctrl|shift|alt|meta|super)\+)*([A-Za-z0-9_]+|[^\sA-Za-z0-9_,])$")


def config_path() -> Path:
    """The config file: ``MOODTUI_CONFIG``, else ``config.toml`` in the user config folder."""
    override = os.environ.get("MOODTUI_CONFIG")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir("moodtui", appauthor=False)) / CONFIG_NAME


@dataclass
class Settings:
    """Every setting with its default (the README's table is this class)."""

    library: str | None = None
    """Music folder when none is given on the command line (default ~/Music, else the demo library)."""
    resume: str = "paused"
    """On start, restore the last session paused at its position ("paused"), playing, or not ("off")."""
    cursor_follows_playing: bool = False
    """After a track ends and the next starts, move the cursor to it."""
    replaygain: str = "off"
    """ReplayGain: "off", "track" or "album" gain from the files' tags."""
    seek_step: float = 5.0
    """Seconds the seek keys move."""
    volume_step: int = 5
    """Percent the volume keys change."""
    analysis_workers: int | None = None
    """Processes analysing the library (the player's background analysis, ``moodtui analyse``,
    ``predict``, ``train``); default one per core, one fewer while music plays."""
    theme: str = "textual-dark"
    """A Textual theme name (the command palette's "Change theme" lists them)."""
    keys_preset: str = "moodtui"
    """Key preset: "moodtui", "cmus" or "kew"."""
    keys: dict[str, str] = field(default_factory=dict)
    """Binding id -> keys (comma-separated) from the ``[keys]`` table, over the preset."""
    source: Path | None = None
    problems: list[str] = field(default_factory=list)
    """One line per bad part of the file: ``file:line: cause``."""
    lines: dict[str, int] = field(default_factory=dict)
    """Line of each setting in the file ("theme", "keys.quit"): for problems found later."""

    def problem(self, where: str, cause: str) -> None:
        line = self.lines.get(where)
        source = self.source or Path(CONFIG_NAME)
        place = f"{display_path(source)}:{line}" if line else display_path(source)
        self.problems.append(f"{place}: {cause}")

    @property
    def volume_fraction(self) -> float:
        return self.volume_step / 100

    def keymap(self, known_ids: set[str]) -> dict[str, str]:
        """Binding id -> keys in force: the preset, then the listener's ``[keys]``; unknown ids
        and bad key names are problems (and ignored)."""
        keymap = {}
        for binding_id, keys in {**PRESETS.get(self.keys_preset, {}), **self.keys}.items():
            if binding_id not in known_ids:
                self.problem(
                    f"keys.{binding_id}",
                    f"no key binding named {binding_id!r} (the README lists them: {', '.join(sorted(known_ids))})",
                )
                continue
            keymap[binding_id] = keys
        return keymap


def _line_numbers(text: str) -> dict[str, int]:
    """Line of each ``name = ...`` assignment, as ``name`` at the top and ``table.name`` in a table."""
    lines: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = re.match(r"^\[\s*([A-Za-z0-9_.-]+)\s*\]", stripped)
        if header:
            table = header.group(1)
            continue
        assignment = re.match(r"^[\"']?([A-Za-z0-9_-]+)[\"']?\s*=", stripped)
        if assignment:
            name = assignment.group(1)
            lines.setdefault(f"{table}.{name}" if table else name, number)
    return lines


def _check_keys(value: object, settings: Settings, where: str) -> str | None:
    if not isinstance(value, str) or not value.strip():
        settings.problem(where, f'{where.split(".")[-1]} must be a key name in quotes, e.g. "P" or "ctrl+q"')
        return None
    keys = [key.strip() for key in value.split(",")]
    bad = [key for key in keys if not _KEY_NAME.match(key)]
    if bad:
        settings.problem(where, f"not a key name: {bad[0]!r}")
        return None
    return ",".join(keys)


def parse_settings(text: str, source: Path) -> Settings:
    """Settings from the text of a config file (problems listed, never raised)."""
    settings = Settings(source=source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        found = re.search(r"at line (\d+)", str(error))
        cause = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error))
        where = f"{display_path(source)}:{found.group(1)}" if found else display_path(source)
        settings.problems.append(f"{where}: not valid TOML ({cause}): using the defaults")
        return settings
    settings.lines = _line_numbers(text)

    def choice(name: str, options: tuple[str, ...]) -> None:
        if name in data:
            value = data.pop(name)
            if value in options:
                setattr(settings, name, value)
            else:
                settings.problem(name, f"{name} must be one of {', '.join(options)} (not {value!r})")

    def number(name: str, low: float, high: float, kind: type) -> None:
        if name in data:
            value = data.pop(name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not low <= value <= high
                or (kind is int and not float(value).is_integer())
            ):
                settings.problem(name, f"{name} must be a number from {low:g} to {high:g} (not {value!r})")
            else:
                setattr(settings, name, kind(value))

    if "library" in data:
        value = data.pop("library")
        if isinstance(value, str) and value:
            settings.library = os.path.expanduser(value)
        else:
            settings.problem("library", "library must be a folder name in quotes")
    choice("resume", RESUME_MODES)
    choice("replaygain", REPLAYGAIN_MODES)
    if "cursor_follows_playing" in data:
        value = data.pop("cursor_follows_playing")
        if isinstance(value, bool):
            settings.cursor_follows_playing = value
        else:
            settings.problem("cursor_follows_playing", "cursor_follows_playing must be true or false")
    number("seek_step", 0.5, 600, float)
    number("volume_step", 1, 50, int)
    number("analysis_workers", 1, 256, int)
    if "theme" in data:
        value = data.pop("theme")
        if isinstance(value, str) and value:
            settings.theme = value
        else:
            settings.problem("theme", "theme must be a theme name in quotes")
    keys = data.pop("keys", {})
    if isinstance(keys, str):
        keys = {"preset": keys}
        settings.lines.setdefault("keys.preset", settings.lines.get("keys", 0))
    if not isinstance(keys, dict):
        settings.problem("keys", "keys must be a preset name or a [keys] table")
        keys = {}
    preset = keys.pop("preset", "moodtui")
    if preset in PRESETS:
        settings.keys_preset = preset
    else:
        settings.problem("keys.preset", f"no key preset {preset!r} (there are {', '.join(PRESETS)})")
    for binding_id, value in keys.items():
        checked = _check_keys(value, settings, f"keys.{binding_id}")
        if checked is not None:
            settings.keys[binding_id] = checked
    for name in data:
        settings.problem(name, f"unknown setting {name!r}")
    return settings


def load_settings(path: Path | None = None) -> Settings:
    """The settings of ``path`` (default :func:`config_path`); a missing default file is no problem."""
    named = path is not None or bool(os.environ.get("MOODTUI_CONFIG"))
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        settings = Settings(source=path)
        if named:
            settings.problems.append(f"{display_path(path)}: no such file: using the defaults")
        return settings
    except (OSError, UnicodeDecodeError) as error:
        settings = Settings(source=path)
        cause = error.strerror if isinstance(error, OSError) and error.strerror else "not UTF-8 text"
        settings.problems.append(f"{display_path(path)}: {cause}: using the defaults")
        return settings
    return parse_settings(text, path)
