"""The player's mood model: loading it, retraining it on the listener's labels, switching versions.

:class:`ModelKeeper` (a display-less part the App mounts, ``moodtui.tui.controller``) owns the
workers: ``load_model`` (the current model, warmed up so the first slice shows quickly),
``retrain`` (the training job, a subprocess, and its progress events), ``switch_model`` (the cached
moods rescored under a new model, no decoding: ``listener.label_next.switch_model``) and
``roll_back``. The App hears :class:`ModelReady` and :class:`ModelSwitched` and updates its widgets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.worker import Worker, get_current_worker

from moodtui.errors import ModelError, MoodtuiError
from moodtui.listener.label_next import MoodChange, changes_summary, switch_model
from moodtui.listener.retrain import RetrainJob, RetrainResult, stage_fraction, stage_words
from moodtui.mood.analysis import warm_up
from moodtui.mood.model import MoodModel
from moodtui.tui.controller import Controller
from moodtui.tui.messages import (
    ModelReady,
    ModelSwitched,
    MoodsUpdated,
    Notice,
    RetrainFinished,
    RetrainProgress,
)

if TYPE_CHECKING:
    from moodtui.tui.app import MoodApp


class ModelKeeper(Controller):
    """Loads, retrains and switches the App's model (``MoodApp.model``); see the module docstring."""

    def __init__(self, app: MoodApp) -> None:
        super().__init__(app, id="model-keeper")
        self.retraining: bool = False
        self.stage: str = ""
        """The status line's words for the running retrain."""
        self.progress: tuple[int, int] | None = None
        """(done, total) of the retrain stage that counts steps (epochs, heads), for the progress bar."""
        self.job: RetrainJob | None = None
        """The running training job (cancelled on quit)."""
        self.last_retrain: RetrainResult | None = None
        self.last_changes: list[MoodChange] = []
        """The songs whose mood the last model switch changed (the changes screen)."""
        self.retrain_args: tuple[str, ...] = ()
        """Extra ``moodtui train`` arguments (developers, tests)."""

    @work(thread=True, exclusive=True, group="model", exit_on_error=False)
    def load_model(self) -> None:
        from moodtui.mood.versions import load_current_model

        try:
            model, notice = load_current_model()
        except ModelError as error:
            self.post_message(ModelReady(None, f"{error}: no mood model, playing without mood analysis"))
            return
        warm_up(model)
        try:
            self.open_caches()
        except MoodtuiError as error:
            self.post_message(ModelReady(None, f"{error}: playing without mood analysis"))
            return
        self.post_message(ModelReady(model, notice))

    # -- retraining -------------------------------------------------------------------------------

    def start_retrain(self) -> None:
        if self.retraining:
            self.player_app.show_notice("a retrain is already running: wait for it to finish", severity="warning")
            return
        self.retraining, self.stage = True, "retrain: starting"
        self.player_app.update_status()
        self.retrain()

    @work(thread=True, exclusive=True, group="retrain", exit_on_error=False)
    def retrain(self) -> None:
        from moodtui.mood.versions import load_current_model

        worker = get_current_worker()
        job = RetrainJob(extra_args=self.retrain_args)
        try:
            job.start()
        except MoodtuiError as error:
            self.post_message(RetrainFinished(RetrainResult(False, None, str(error), None), None))
            return
        self.job = job
        try:
            for event in job.events():
                if worker.is_cancelled:
                    job.cancel()
                    break
                self.post_message(RetrainProgress(event))
            result = job.wait()
        finally:
            self.job = None
        if worker.is_cancelled:
            return
        model = notice = None
        if result.ok and result.switched:
            try:
                model, notice = load_current_model()
            except ModelError as error:
                result = RetrainResult(False, result.version, f"the new model does not load: {error}", None)
        self.post_message(RetrainFinished(result, model, notice))

    def on_retrain_progress(self, message: RetrainProgress) -> None:
        self.stage = stage_words(message.event, self.stage)
        self.progress = stage_fraction(message.event) or self.progress
        self.player_app.update_status()

    def on_retrain_finished(self, message: RetrainFinished) -> None:
        self._retrain_over()
        result = self.last_retrain = message.result
        if message.notice:
            self.player_app.show_notice(message.notice, severity="warning")
        if result.ok and message.model is not None:
            self.switch_model(message.model, result.switch_notice(), show_changes=True)
        else:  # ok: not as good as the current model on the listener's songs, kept as a version only
            self.player_app.show_notice(result.message, severity="warning" if result.ok else "error")

    def _retrain_over(self) -> None:
        self.retraining, self.stage, self.progress = False, "", None
        self.player_app.update_status()

    def worker_failed(self, worker: Worker) -> None:
        super().worker_failed(worker)
        if worker.group == "retrain":
            self._retrain_over()

    def cancel_retrain(self) -> None:
        """Quitting: stop the training job (it removes its staging folder)."""
        if self.job is not None:
            self.job.cancel()

    # -- switching models -------------------------------------------------------------------------

    @work(
        thread=True,
        exclusive=True,
        group="switch",
        exit_on_error=False,
        description="rescore the cached moods under a new model",
    )
    def switch_model(self, model: MoodModel, message: str, show_changes: bool = False) -> None:
        """Rescore the cached moods under ``model`` (no decoding) and make it the app's model; say
        which songs change mood."""
        app = self.player_app
        warm_up(model)
        playing = app.playing.path if app.playing is not None else None
        switch = switch_model(app.caches.loaded_analysis(), app.model, model, playing)
        summary = f"{message}; {changes_summary(switch.changes)}"
        self.post_message(
            ModelSwitched(model, switch.rescored, summary, switch.changes, show_changes and bool(switch.changes))
        )
        self.post_message(MoodsUpdated(model.version, switch.moods, durations=switch.durations, complete=True))

    def on_model_switched(self, message: ModelSwitched) -> None:
        self.last_changes = message.changes

    @work(thread=True, exclusive=True, group="rollback", exit_on_error=False)
    def roll_back(self, name: str) -> None:
        from moodtui.mood.versions import roll_back

        try:
            model = roll_back(name)  # loads it first: a version that does not load is never made current
        except MoodtuiError as error:
            self.post_message(Notice(f"cannot switch to model {name}: {error}", "error"))
            return
        self.switch_model(model, f"now using model {name} ({model.version})")
