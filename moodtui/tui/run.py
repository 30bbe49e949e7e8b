"""``moodtui [DIR]`` and ``moodtui FILE``: open the player, then print what it could not save."""

from __future__ import annotations

import os
import sys

from moodtui.config import load_settings
from moodtui.errors import MoodtuiError
from moodtui.library.scan import resolve_library_dir
from moodtui.tui.app import MoodApp


def run_app(directory: str | None, *, radio: str | None = None) -> int:
    """``moodtui [DIR]``: open the player on DIR (default ~/Music, else the demo library);
    ``moodtui FILE`` opens FILE's folder playing FILE.

    Native libraries that write to file descriptor 2 (where Textual draws) are silenced at the C
    level instead (ALSA/JACK handlers in moodtui.player.playback, dr_mp3 rather than libsndfile's
    mpg123 for mp3, onnxruntime's log level): descriptor 2 is never redirected.
    """
    settings = load_settings()
    play_file = None
    if directory is not None and os.path.isfile(directory):
        # `moodtui song.ogg`: its folder, with the song selected and playing.
        play_file, directory = directory, os.path.dirname(os.path.abspath(directory))
    try:
        folder, notice = resolve_library_dir(directory or settings.library)
    except MoodtuiError as error:
        print(f"moodtui: {error}", file=sys.stderr)
        return 1
    app = MoodApp(folder, notice=notice, settings=settings, radio=radio, play_file=play_file)
    result = app.run()
    if app.session_keeper.error:
        print(f"moodtui: {app.session_keeper.error}", file=sys.stderr)
    for what in app.unsaved_labels:
        print(f"moodtui: {what}: NOT saved (the labels database could not be written)", file=sys.stderr)
    return result if isinstance(result, int) else (app.return_code or 0)
