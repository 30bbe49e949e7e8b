"""Opening the player's screens: what each screen is given, and what the App does with the choice made there.

The screens are imported when first opened, not with the App: the player starts without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class ScreenOpener:
    """One method per screen the keys, the palette or a notice can open."""

    def __init__(self, app: MoodApp) -> None:
        self.player_app = app

    def queue(self) -> None:
        from moodtui.tui.screens.queue import QueueScreen

        app = self.player_app
        app.push_screen(QueueScreen(), lambda _: app.update_status())

    def radio(self) -> None:
        from moodtui.tui.screens.radio import RadioScreen

        self.player_app.push_screen(RadioScreen(), self.player_app.order_keeper.start_station)

    def mood_changes(self) -> None:
        """The songs the last model switch changed the mood of (the playing song first)."""
        from moodtui.tui.screens.changes import ChangesScreen

        app = self.player_app
        screen = ChangesScreen(app.model_keeper.last_changes, app.model.version if app.model else "-")
        app.push_screen(screen, self._play_chosen)

    def label_next(self) -> None:
        from moodtui.tui.screens.label_next import LabelNextScreen

        app = self.player_app
        if app.model is None:
            app.show_notice("no mood model: nothing to rank")
            return
        screen = LabelNextScreen()
        app.push_screen(screen, lambda path: self._play_chosen(path, screen.starts.get(path or "", 0.0)))

    def models(self) -> None:
        from moodtui.tui.screens.models import ModelsScreen

        app = self.player_app

        def chosen(name: str | None) -> None:
            if name is not None:
                app.model_keeper.roll_back(name)

        app.push_screen(ModelsScreen(), chosen)

    def errors(self) -> None:
        from moodtui.tui.screens.errors import ErrorsScreen

        app = self.player_app
        app.push_screen(ErrorsScreen(app.view.error_rows(), list(app.notices)))

    def help(self) -> None:
        from moodtui.tui.screens.help import HelpScreen

        self.player_app.push_screen(HelpScreen())

    def _play_chosen(self, path: str | None, start_s: float = 0.0) -> None:
        """A screen chose the song at ``path``: play it (unless it plays) and show it in the table."""
        app = self.player_app
        row = app.view.by_path.get(path) if path else None
        if row is not None:
            if app.playing is not row:
                app.play_row(row, start_s=start_s)
            app.track_list.move_to(row)
