"""`moodtui analyse [DIR]`: analyse a library ahead of listening, on every core."""

from __future__ import annotations

from moodtui.errors import display_path


def run_analyse(directory: str | None, workers: int | None = None) -> int:
    """``moodtui analyse [DIR]``: every audio file below DIR into the analysis cache, on every
    core, with a progress bar (files/s, ETA) on stderr and a summary of failures; exit code 1 if
    any file failed."""
    import time

    from moodtui.mood.pool import start_helpers, worker_count

    count = worker_count(playing=False, setting=workers)
    if count > 1:  # the files go to the pool (one worker: analysed in this process)
        start_helpers()

    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from moodtui.library.scan import resolve_library_dir, walk_audio_files
    from moodtui.mood.analysis import AnalysisCache, analyse_paths
    from moodtui.mood.versions import load_current_model

    err = Console(stderr=True, highlight=False)
    folder, notice = resolve_library_dir(directory)
    if notice:
        err.print(f"moodtui: {notice}", markup=False)
    model, model_notice = load_current_model()
    if model_notice:
        err.print(f"moodtui: {model_notice}", markup=False)
    paths = [
        entry.path
        for entry in walk_audio_files(
            folder,
            on_error=lambda e: err.print(
                f"moodtui: {display_path(e.filename or folder)}: cannot read the folder ({e.strerror or e})",
                markup=False,
            ),
        )
    ]
    cache = AnalysisCache()
    if recovered := cache.cache.take_recovery_notice():
        err.print(f"moodtui: {recovered}", markup=False, soft_wrap=True)
    failures: dict[str, str] = {}
    cached = analysed = decoded = 0  # decoded: files read this run (analysed or failed)
    started = time.monotonic()
    progress = Progress(
        TextColumn("analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TextColumn("elapsed"),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    )
    with progress:
        task = progress.add_task("analyse", total=len(paths), rate="")

        def arrived(result) -> None:
            nonlocal cached, analysed, decoded
            if not result.cached:
                decoded += 1
            if result.error is not None:
                failures[result.path] = result.error
                progress.console.print(
                    f"moodtui: {escape(display_path(result.path))}: {escape(result.error)}", soft_wrap=True
                )
            elif result.cached:
                cached += 1
            else:
                analysed += 1
            elapsed = time.monotonic() - started
            progress.update(task, advance=1, rate=f"{decoded / elapsed:.2f} files/s" if decoded else "")

        analyse_paths(paths, model, cache, workers=count, on_result=arrived)
    seconds = time.monotonic() - started
    rate = f", {decoded / seconds:.2f} files/s" if decoded and seconds > 0 else ""
    print(
        f"{len(paths)} files in {display_path(folder)}: {analysed} analysed, {cached} from the cache, "
        f"{len(failures)} failed; {seconds:.1f} s on {count} processes{rate} (model {model.version})"
    )
    if failures:
        print("failed:")
        for path, reason in failures.items():
            print(f"  {display_path(path)}: {reason}")
    return 1 if failures else 0
