#!/usr/bin/env bash
# restructure.sh: issue 12 part 3, "packages that show the architecture", as one mechanical step.
#
# WHAT IT DOES (run it at the root of a clean moodtui checkout, on main, when no branch is open):
#  1. Moves the flat core modules into packages whose names say what they hold (`git mv`, so
#     history follows), by the MOVES table below:
#       moodtui/audio/     decode (was audio.py), formats
#       moodtui/player/    playback, order (was playorder.py), radio, session, mpris -- no Textual
#       moodtui/mood/      features, model, analysis, pool, scheduler (was library_analysis.py),
#                          versions (was registry.py), palette (was mood_palette.py)
#       moodtui/listener/  labels (was store.py), identity, label_writer, label_next (was
#                          insights.py), retrain (the runner of the training job), progress
#       moodtui/library/   scan (was library.py), watcher, imac, playlist
#       moodtui/sqlite_cache.py (was cache.py: the sqlite file shared by the library index and
#                          the analysis cache; `AnalysisCache` stays in mood/analysis.py)
#     errors, paths, fileio, config, _pool_env, __init__, __main__, train/ and tui/ stay put.
#     A core module that is in no table (a helper added it later) stays in place and is listed
#     at the end: add it to MOVES and run again on a fresh checkout if it belongs in a package.
#  2. Turns moodtui/cli.py into the package moodtui/cli/ with one module per sub-command:
#     cli/main.py keeps the parser and `main` (cli/__init__.py re-exports `main`, so the
#     `moodtui = "moodtui.cli:main"` entry point and `from moodtui.cli import main` keep working);
#     predict.py, analyse.py, models.py (models, rollback), labels.py (label, labels: from store.py),
#     export.py (from playlist.py), imac_match.py (from imac.py). A moved function takes along the private helpers only it
#     uses; the module it came from keeps the rest. The new modules get the old module's import
#     block and `ruff check --fix` drops the imports they do not use.
#  3. Rewrites every reference: imports (also `from moodtui import identity` and imports inside
#     functions), dotted names in code and strings (`moodtui.store.X`, monkeypatch targets),
#     file paths (`moodtui/store.py`), in moodtui/, tests/, scripts/, pyproject.toml (import-linter
#     contracts, mypy) and the Markdown docs; then `ruff check --fix --select I,F401` sorts the
#     imports it touched.
#  4. Rewrites docs/ARCHITECTURE.md's map: the diagram (first code block) and a "Map" section
#     listing every package and module with the first line of its docstring (so it is true on
#     the day it is written), and DEVELOPERS.md's "Layout" paragraph. Short names in backticks in
#     ARCHITECTURE.md (`store.LabelStore`, `library.py`) get their new package prefix.
#  5. Checks: every module imports, `lint-imports`, `ruff check .`, `mypy moodtui`. It does not run
#     the tests and does not commit: run `python -m pytest -n 2 -q`, read `git diff --stat -M`,
#     then commit (or pass --commit to commit when the checks pass).
#
# Usage:   bash /work/restructure.sh [--commit]     (in the repository root, venv active)
# Undo:    git reset --hard && git clean -fd moodtui     (before committing)
# Tested:  on throwaway clones of main: at 65dc82f the script, lint-imports, ruff check and mypy
#          passed and `python -m pytest -n 2 -q` gave 322 passed, 1 skipped (earlier clones at
#          2df2808 and a9c7fe0: 253 and 289 passed); at db08f6a the script and the checks passed.
#          Then /work/format_once.sh on top: checks passed. A module added after that and not in
#          MOVES stays in place and is listed at the end of the run.
set -euo pipefail

COMMIT=0
[ "${1:-}" = "--commit" ] && COMMIT=1

[ -f pyproject.toml ] && [ -d moodtui ] || { echo "restructure: run me at the root of the moodtui repository" >&2; exit 2; }
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "restructure: the work tree has uncommitted changes; commit or stash them first" >&2
    exit 2
fi
if [ -d moodtui/mood ] || [ -d moodtui/listener ]; then
    echo "restructure: moodtui/mood or moodtui/listener exists already: this tree is restructured" >&2
    exit 2
fi
command -v ruff >/dev/null || { echo "restructure: ruff not found (activate the venv: pip install -e '.[test]')" >&2; exit 2; }

python3 - "$@" <<'PY'
import ast
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

# Old module (relative to moodtui) -> new module. Edit here if the tree has changed.
MOVES = {
    "audio": "audio.decode",
    "formats": "audio.formats",
    "playback": "player.playback",
    "playorder": "player.order",
    "radio": "player.radio",
    "session": "player.session",
    "features": "mood.features",
    "model": "mood.model",
    "analysis": "mood.analysis",
    "mood_palette": "mood.palette",
    "library_analysis": "mood.scheduler",
    "pool": "mood.pool",
    "registry": "mood.versions",
    "store": "listener.labels",
    "identity": "listener.identity",
    "label_writer": "listener.label_writer",
    "insights": "listener.label_next",
    "retrain": "listener.retrain",
    "progress": "listener.progress",
    "library": "library.scan",
    "imac": "library.imac",
    "playlist": "library.playlist",
    "cache": "sqlite_cache",
    # Names other helpers may still add (moved only if the file exists).
    "mpris": "player.mpris",
    "replaygain": "audio.replaygain",
    "watcher": "library.watcher",
    "tags": "library.tags",
}
STAY = {"__init__", "__main__", "_pool_env", "errors", "paths", "fileio", "config", "cli"}
PACKAGES = {
    "audio": "Audio files: the formats table and the decoder (blocks of mono float32 at 22,050 Hz).",
    "player": "The player's core, no Textual: sound output, what plays next, mood radio, the session.",
    "mood": "From audio to mood: the feature function, the ONNX model, analysis and its cache, "
            "model versions, the mood palette (colours and glyphs).",
    "listener": "The listener's side: labels, file identity, the label writer, label-next, and "
                "the personal retrain (its runner and progress events).",
    "library": "The music library: the folder scan, tags and index, IMAC matching, playlists.",
}
# (module after the moves, [functions]) -> new CLI module. Private helpers follow their users.
FUNCTION_MOVES = [
    ("cli.main", ["run_predict"], "cli.predict", "`moodtui predict`: per-slice and song-level moods of audio files."),
    ("cli.main", ["run_analyse"], "cli.analyse", "`moodtui analyse [DIR]`: analyse a library ahead of listening, on every core."),
    ("cli.main", ["run_models", "run_rollback"], "cli.models", "`moodtui models` and `moodtui rollback`: the model versions."),
    ("listener.labels", ["run_label", "run_labels"], "cli.labels", "`moodtui label` and `moodtui labels`."),
    ("library.playlist", ["run_export"], "cli.export", "`moodtui export`: an m3u playlist of one mood."),
    ("library.imac", ["run_imac_match"], "cli.imac_match", "`moodtui imac-match`: your songs in the IMAC label table."),
]
TEXT_FILES = ["pyproject.toml", "README.md", "DEVELOPERS.md", ".pre-commit-config.yaml", ".ci/run",
              "models/MODEL_CARD.md", *map(str, Path("docs").glob("*.md"))]
PY_ROOTS = ["moodtui", "tests", "scripts"]
PKG = Path("moodtui")


def git(*args: str) -> None:
    subprocess.run(["git", *args], check=True)


def mod_path(module: str) -> Path:
    """moodtui-relative dotted name -> file (package -> its __init__.py)."""
    p = PKG.joinpath(*module.split("."))
    return p / "__init__.py" if p.is_dir() else p.with_suffix(".py")


# -- 1. move the modules ----------------------------------------------------------------------------
present = {p.stem for p in PKG.glob("*.py")}
moves = {old: new for old, new in MOVES.items() if old in present}
missing = sorted(set(MOVES) - present)
left = sorted(present - set(MOVES) - STAY)
for package, doc in PACKAGES.items():
    if package == "cli" or not any(new.startswith(package + ".") for new in moves.values()):
        continue
    (PKG / package).mkdir()
    (PKG / package / "__init__.py").write_text(f'"""{doc}"""\n', encoding="utf-8")
    git("add", str(PKG / package / "__init__.py"))
for old, new in moves.items():
    git("mv", str(PKG / f"{old}.py"), str(mod_path(new)))
(PKG / "cli").mkdir()
git("mv", str(PKG / "cli.py"), str(PKG / "cli" / "main.py"))
(PKG / "cli" / "__init__.py").write_text(
    '"""The `moodtui` command: `main` parses (cli/main.py); each sub-command has its module here."""\n\n'
    "from moodtui.cli.main import main\n\n__all__ = [\"main\"]\n", encoding="utf-8")
git("add", str(PKG / "cli" / "__init__.py"))

# -- 3a. rewrite dotted names and paths (one pass per file, so a new name is never rewritten again)
dotted = re.compile(r"(?<![\w.])moodtui\.(" + "|".join(sorted(moves, key=len, reverse=True)) + r")(?![\w])")
slashed = re.compile(r"(?<![\w/])moodtui/(" + "|".join(sorted(moves, key=len, reverse=True)) + r")\.py\b")


def rewrite_names(text: str) -> str:
    text = dotted.sub(lambda m: "moodtui." + moves[m.group(1)], text)
    text = slashed.sub(lambda m: "moodtui/" + moves[m.group(1)].replace(".", "/") + ".py", text)
    text = text.replace("moodtui/cli.py", "moodtui/cli/main.py")
    # import-linter: the CLI's modules are now below moodtui.cli.
    text = text.replace('-> moodtui.cli"', '-> moodtui.cli.main"')  # `from moodtui.cli import main`
    return re.sub(r'"moodtui\.cli -> ', '"moodtui.cli.** -> ', text)


py_files = sorted(p for root in PY_ROOTS for p in Path(root).rglob("*.py") if ".venv" not in p.parts)
for path in py_files + [Path(f) for f in TEXT_FILES if Path(f).is_file()]:
    text = path.read_text(encoding="utf-8")
    new = rewrite_names(text)
    if new != text:
        path.write_text(new, encoding="utf-8")


# -- 2. split the CLI: move functions (with the private helpers only they use) --------------------
def top_level_names(tree: ast.Module) -> dict[str, ast.stmt]:
    names: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            names[node.targets[0].id] = node
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
    return names


def used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def span(node: ast.stmt, lines: list[str]) -> tuple[int, int]:
    """0-based [start, end) lines of a statement with its decorators and the comments above it."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
    while start > 0 and lines[start - 1].lstrip().startswith("#"):
        start -= 1
    return start, node.end_lineno


moved_names: dict[tuple[str, str], str] = {}  # (old module, name) -> new module
for source_mod, wanted, target_mod, doc in FUNCTION_MOVES:
    source = mod_path(source_mod)
    if not source.exists():
        print(f"restructure: skip {target_mod}: {source} does not exist")
        continue
    text = source.read_text(encoding="utf-8")
    tree = ast.parse(text)
    defined = top_level_names(tree)
    chosen = [name for name in wanted if name in defined]
    if not chosen:
        print(f"restructure: skip {target_mod}: none of {wanted} in {source}")
        continue
    # Private helpers used only by the chosen ones follow them.
    while True:
        users: dict[str, set[str]] = {}
        for name, node in defined.items():
            for used in used_names(node) - {name}:
                users.setdefault(used, set()).add(name)
        rest = [n for n in tree.body if n not in defined.values()]  # module-level code
        extra = [name for name in defined if name.startswith("_") and name not in chosen
                 and users.get(name) and users[name] <= set(chosen)
                 and not any(name in used_names(n) for n in rest)]
        if not extra:
            break
        chosen += extra
    lines = text.splitlines(keepends=True)
    nodes = sorted((defined[n] for n in chosen), key=lambda n: n.lineno)
    pieces = ["".join(lines[slice(*span(n, lines))]) for n in nodes]
    imports = [ast.get_source_segment(text, n) for n in tree.body
               if isinstance(n, (ast.Import, ast.ImportFrom)) and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]
    needed = sorted((set().union(*(used_names(n) for n in nodes)) & set(defined)) - set(chosen))
    from_source = [f"from moodtui.{source_mod} import {', '.join(needed)}"] if needed else []
    body = (f'"""{doc}"""\n\nfrom __future__ import annotations\n\n' + "\n".join(imports + from_source)
            + "\n\n\n" + "\n\n".join(p.rstrip() + "\n" for p in pieces))
    target = mod_path(target_mod)
    target.write_text(body, encoding="utf-8")
    git("add", str(target))
    for start, end in sorted((span(n, lines) for n in nodes), reverse=True):
        del lines[start:end]
    remaining = "".join(lines)
    # A section heading for the command line has nothing under it any more.
    remaining = re.sub(r"(?im)^# -+ *(?:cli\b|command line).*\n", "", remaining)
    remaining = re.sub(r"\n{4,}", "\n\n\n", remaining).rstrip() + "\n"
    still_used = sorted(n for n in chosen if re.search(rf"\b{re.escape(n)}\b", remaining))
    if still_used:
        if source_mod.split(".")[0] == "cli":
            # The dispatcher calls the moved handlers: import them in each function that does, as
            # the other sub-commands are (no import cycle, and `moodtui --help` stays light).
            tail = ast.parse(remaining)
            rlines = remaining.splitlines(keepends=True)
            inserts = []
            for func in tail.body:
                if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                names = sorted(used_names(func) & set(still_used))
                if not names:
                    continue
                first = func.body[0]
                is_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
                    and isinstance(first.value.value, str)
                at = first.end_lineno if is_doc else first.lineno - 1
                inserts.append((at, " " * first.col_offset + f"from moodtui.{target_mod} import {', '.join(names)}\n"))
            for at, line in sorted(inserts, reverse=True):
                rlines.insert(at, line)
            remaining = "".join(rlines)
        else:
            print(f"restructure: WARNING {source} still uses {still_used} (moved to {target_mod})")
    source.write_text(remaining, encoding="utf-8")
    for name in chosen:
        moved_names[(source_mod, name)] = target_mod


# `from moodtui.cli import X` (X was in cli.py): X is in cli.main now, or where it moved.
main_tree = ast.parse(mod_path("cli.main").read_text(encoding="utf-8"))
for name in top_level_names(main_tree):
    if name != "main":
        moved_names[("cli", name)] = "cli.main"
for (source_mod, name), target_mod in list(moved_names.items()):
    if source_mod == "cli.main":
        moved_names[("cli", name)] = target_mod

# -- 3b. imports of moved functions, and `from moodtui import <moved module>` -------------------------
def rewrite_imports(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return
    lines = text.splitlines(keepends=True)
    edits = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
            continue
        groups: dict[str, list[str]] = {}
        for alias in node.names:
            module = node.module
            if module.startswith("moodtui.") and (module[8:], alias.name) in moved_names:
                target = "moodtui." + moved_names[(module[8:], alias.name)]
                name = alias.name
            elif module == "moodtui" and alias.name in moves:
                parent, _, leaf = ("moodtui." + moves[alias.name]).rpartition(".")
                target, name = parent, leaf if leaf == (alias.asname or alias.name) else f"{leaf} as {alias.asname or alias.name}"
            else:
                target, name = module, alias.name
            if alias.asname and " as " not in name:
                name = f"{name} as {alias.asname}"
            groups.setdefault(target, []).append(name)
        if list(groups) == [node.module]:
            continue
        indent = " " * node.col_offset
        new = "\n".join(f"{indent}from {t} import {', '.join(n)}" for t, n in groups.items()) + "\n"
        edits.append((node.lineno - 1, node.end_lineno, new))
    for start, end, new in sorted(edits, reverse=True):
        lines[start:end] = [new]
    if edits:
        path.write_text("".join(lines), encoding="utf-8")


py_files = sorted(p for root in PY_ROOTS for p in Path(root).rglob("*.py") if ".venv" not in p.parts)
for path in py_files:
    rewrite_imports(path)


# -- 4. the map in docs/ARCHITECTURE.md and DEVELOPERS.md -------------------------------------------
def first_line(path: Path) -> str:
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    except SyntaxError:
        doc = ""
    return doc.strip().split("\n\n")[0].replace("\n", " ")


def map_lines() -> list[str]:
    out = []
    for entry in sorted(PKG.iterdir()):
        if entry.name.startswith(("_", ".")) and entry.name not in ("__init__.py", "__main__.py"):
            continue
        if entry.is_dir() and (entry / "__init__.py").exists():
            out.append(f"- `moodtui/{entry.name}/`: {first_line(entry / '__init__.py')}")
            for module in sorted(entry.rglob("*.py")):
                if module.name != "__init__.py" or module.parent != entry:
                    rel = module.relative_to(entry)
                    out.append(f"  - `{rel}`: {first_line(module)}")
        elif entry.suffix == ".py":
            out.append(f"- `moodtui/{entry.name}`: {first_line(entry)}")
    return out


DIAGRAM = """```
 moodtui.cli  (the `moodtui` command: cli/main.py parses, one module per sub-command)
      |                                   \\
      v                                    v
 moodtui.tui (Textual: app, screens,   moodtui.train (TensorFlow; only in the `moodtui train`
      |       widgets, .tcss)               |          process: data, network, job)
      v                                    v
 ---------------------------- the core (no Textual, no TensorFlow) -------------------------------
  player/  playback, order, radio,        library/  scan (walk, tags, index), watcher, imac,
           session, mpris                          playlist
  audio/   formats, decode  ------------>  mood/    features -> model (onnxruntime) -> analysis
  listener/ labels, identity, label_writer,          (+ AnalysisCache), pool, scheduler, versions, palette
            label_next, retrain (runs `moodtui train`, reads progress events)
  errors, paths, fileio, config (config.toml), sqlite_cache (cache.sqlite: index, analysis, embeddings)
```"""

arch = Path("docs/ARCHITECTURE.md")
if arch.exists():
    text = arch.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", lambda m: DIAGRAM, text, count=1, flags=re.S)
    short = {old: new for old, new in moves.items()}
    text = re.sub(r"`(" + "|".join(sorted(short, key=len, reverse=True)) + r")\.py`",
                  lambda m: f"`{short[m.group(1)].replace('.', '/')}.py`", text)
    # `store.LabelStore` -> `listener.labels.LabelStore`; not file names such as `model.json`.
    text = re.sub(r"`(" + "|".join(sorted(short, key=len, reverse=True))
                  + r")\.(?=[A-Za-z_])(?!(?:json|onnx|keras|sqlite|npz|py|toml|tcss|lock)\b)",
                  lambda m: f"`{short[m.group(1)]}.", text)
    text = text.replace("`cli.py`", "`cli/`")
    section = "## Map (every module; the first line of its docstring)\n" + "\n".join(map_lines()) + "\n\n"
    text = re.sub(r"## Map \(every module.*?(?=\n## )\n?", "", text, flags=re.S)
    marker = text.find("\n## ", text.find(DIAGRAM) + len(DIAGRAM))
    text = text[: marker + 1] + section + text[marker + 1 :] if marker >= 0 else text + "\n" + section
    arch.write_text(text, encoding="utf-8")
dev = Path("DEVELOPERS.md")
if dev.exists():
    text = dev.read_text(encoding="utf-8")
    layout = ("## Layout\n`moodtui/` core in packages: `audio/` (formats, decode), `player/` (playback, play "
              "order, radio, session, mpris), `mood/` (features, model, analysis, pool, scheduler, versions, palette), `listener/` (labels, "
              "identity, label writer, label next, retrain runner, progress events), `library/` (scan, watcher, imac, "
              "playlist), and `errors`, `paths`, `fileio`, `config`, `sqlite_cache` at the top; `moodtui/cli/` (one "
              "module per sub-command), `moodtui/train/` (TensorFlow), `moodtui/tui/` (Textual), `models/` "
              "(shipped base model + card), `library/` (demo library, generated by "
              "`scripts/make_demo_library.py`), `scripts/` (corpus, base training, benchmarks), `tests/`. "
              "The map of every module: docs/ARCHITECTURE.md.\n")
    layout = "## Layout\n" + textwrap.fill(layout.removeprefix("## Layout\n").strip(), width=100) + "\n"
    text = re.sub(r"## Layout\n.*?(?=\n## |\Z)", lambda m: layout, text, count=1, flags=re.S)
    dev.write_text(text, encoding="utf-8")

# -- report ---------------------------------------------------------------------------------------
print("restructure: moved", ", ".join(f"{o}.py -> {n.replace('.', '/')}.py" for o, n in moves.items()))
print("restructure: CLI modules", ", ".join(sorted({t for t in moved_names.values()})))
if missing:
    print("restructure: not in this tree (skipped):", ", ".join(missing))
if left:
    print("restructure: LEFT IN PLACE (in no table; add to MOVES if they belong in a package):",
          ", ".join(f"moodtui/{m}.py" for m in left))
PY

echo "restructure: sorting imports and dropping the ones a move left unused (ruff --select I,F401)"
git add -A moodtui tests scripts docs
ruff check --fix --select I,F401 --quiet moodtui tests scripts || true
git add -A moodtui tests scripts docs

echo "restructure: checking"
python - <<'PY'
import importlib
import pkgutil
import sys

import moodtui

failed = []
for info in pkgutil.walk_packages(moodtui.__path__, "moodtui."):
    if info.name.startswith(("moodtui.train.job", "moodtui.train.network", "moodtui.__main__")):
        continue  # import TensorFlow / run the CLI
    try:
        importlib.import_module(info.name)
    except Exception as error:  # noqa: BLE001 - report every module that fails
        failed.append(f"{info.name}: {type(error).__name__}: {error}")
print("\n".join(failed) or "every module imports")
sys.exit(1 if failed else 0)
PY
lint-imports --no-cache | tail -3
ruff check .
mypy moodtui
git add -A
echo "restructure: done. Now: python -m pytest -n 2 -q ; git diff --cached --stat -M | tail -40"
if [ "$COMMIT" = 1 ]; then
    git commit -q -m "Packages that show the architecture: moodtui/{audio,player,mood,listener,library}/ and moodtui/cli/ (one module per sub-command); imports, docs and contracts rewritten (restructure.sh)"
    echo "restructure: committed"
fi
