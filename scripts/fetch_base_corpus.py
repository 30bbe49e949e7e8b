#!/usr/bin/env python3
"""Fetch the base training corpus: freely licensed game music from Debian's archive.

Usage::

    /work/venv/bin/python scripts/fetch_base_corpus.py [DEST] [--packages PKG ...]

DEST defaults to ``./corpus`` (gitignored; never commit audio). For each package in
``MUSIC_SOURCES`` the script runs ``apt-get download`` (``apt-get update`` first if apt
has no lists), unpacks the .deb with ``dpkg -x`` (nothing is installed), takes the audio
files from the package's music folder (recognised by magic bytes, so blobwars' files
without extensions count; tracker modules and other files do not), keeps those of at
least ``MIN_DURATION_S`` seconds, and copies them to ``DEST/<package>/...``. It then
writes ``DEST/manifest.csv``:

    path, package, package_version, licence, sha256, duration_s, licence_source, source_path

``licence`` comes from ``/usr/share/doc/<package>/copyright``: in a machine-readable
(DEP-5) file, the License of the last Files stanza whose pattern matches the music file
(DEP-5's own rule); otherwise every licence named in the file, separated by `` | ``
(the file does not say which of them covers the music). ``licence_source`` says which
(the matched Files pattern, or ``whole copyright file``). ``source_path`` is the
file's path inside the package (``archive.pk3!member`` for files inside a zip).

Duplicates are dropped: byte-identical files (same sha256) anywhere in the corpus, and
re-encodings of the same music inside one package (drascula ships one track twice),
found by comparing chroma features over every time offset; those are listed in
``DEST/near_duplicates.csv``.

Idempotent: a package whose ``DEST/.state/<package>.csv`` exists and whose files are
all present is skipped; delete ``DEST/<package>`` and that file to fetch it again. The
.deb and the unpacked tree are removed once a package is done.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import hashlib
import io
import itertools
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

MIN_DURATION_S = 20.0
"""Shorter files are jingles or sound effects, not songs."""

NEAR_DUPLICATE_SIMILARITY = 0.87
"""Mean chroma cosine above which two tracks are the same music (see ``best_alignment``).
Measured on this corpus: drascula's track30 re-encodes track1 (0.93), naev's ambient2_5
is a longer mix of ambient2 (0.92), freedroidrpg's TechBattle aligns with AmbientBattle
from start to end (0.89; same length to the sample); distinct tracks score at most 0.84."""


MANIFEST_COLUMNS = [
    "path",
    "package",
    "package_version",
    "licence",
    "sha256",
    "duration_s",
    "licence_source",
    "source_path",
]


@dataclass(frozen=True)
class MusicFile:
    """One candidate audio file inside an unpacked package."""

    source_path: str
    """Path inside the package (``a/b.pk3!member`` for a zip member)."""
    dest_name: str
    """Path below ``DEST/<package>/`` without the extension that detection adds."""
    read: Callable[[], bytes]


def music_in_folders(base: str, patterns: list[str]) -> Callable[[Path], Iterator[MusicFile]]:
    """Regular files (not symlinks) matching ``patterns`` below ``root/base``."""

    def find(root: Path) -> Iterator[MusicFile]:
        for pattern in patterns:
            for path in sorted((root / base).glob(pattern)):
                if path.is_file() and not path.is_symlink():
                    yield MusicFile(
                        source_path=path.relative_to(root).as_posix(),
                        dest_name=path.relative_to(root / base).as_posix(),
                        read=path.read_bytes,
                    )

    return find


def music_in_zip(base: str, archive: str, member_prefix: str) -> Callable[[Path], Iterator[MusicFile]]:
    """Members of a zip archive (Nexuiz packs its music into a .pk3)."""

    def find(root: Path) -> Iterator[MusicFile]:
        archive_path = root / base / archive
        with zipfile.ZipFile(archive_path) as zf:
            names = sorted(n for n in zf.namelist() if n.startswith(member_prefix) and not n.endswith("/"))
        for name in names:
            yield MusicFile(
                source_path=f"{archive_path.relative_to(root).as_posix()}!{name}",
                dest_name=name[len(member_prefix) :],
                read=lambda name=name: _read_zip_member(archive_path, name),
            )

    return find


def _read_zip_member(archive_path: Path, name: str) -> bytes:
    with zipfile.ZipFile(archive_path) as zf:
        return zf.read(name)


def supertuxkart_music(base: str) -> Callable[[Path], Iterator[MusicFile]]:
    """The songs named by SuperTuxKart's ``*.music`` descriptors.

    Each descriptor names a song (``file``) and possibly a sped-up copy for the last lap
    (``fast-filename``); only the song is taken. Some songs live in track folders.
    """

    def find(root: Path) -> Iterator[MusicFile]:
        seen: set[Path] = set()
        for descriptor in sorted((root / base).glob("data/**/*.music")):
            match = re.search(r'\bfile\s*=\s*"([^"]+)"', descriptor.read_text(encoding="utf-8"))
            if not match:
                continue
            path = descriptor.parent / match.group(1)
            if path in seen or not path.is_file():
                continue
            seen.add(path)
            yield MusicFile(
                source_path=path.relative_to(root).as_posix(),
                dest_name=path.relative_to(root / base).as_posix(),
                read=path.read_bytes,
            )

    return find


MUSIC_SOURCES: dict[str, Callable[[Path], Iterator[MusicFile]]] = {
    "naev-data": music_in_folders("usr/share/naev", ["dat/snd/music/*"]),
    "widelands-data": music_in_folders("usr/share/games/widelands", ["data/music/*"]),
    "supertuxkart-data": supertuxkart_music("usr/share/games/supertuxkart"),
    "nexuiz-music": music_in_zip("usr/share/games/nexuiz", "data/music.pk3", "sound/cdtracks/"),
    "singularity-music": music_in_folders("usr/share/games/singularity", ["music/**/*"]),
    "blobwars-data": music_in_folders("usr/share/games/blobwars", ["music/*"]),
    "freedroidrpg-data": music_in_folders("usr/share/freedroidrpg", ["data/sound/music/*"]),
    "megaglest-data": music_in_folders(
        "usr/share/games/megaglest", ["data/core/menu/music/*", "techs/*/factions/*/music/*"]
    ),
    # The language folders hold symlinks to audio/; only audio/ has the files.
    "drascula-music": music_in_folders("usr/share/scummvm/drascula", ["audio/*"]),
    "openclonk-data": music_in_folders("usr/share/games/openclonk", ["Music.ocg/*"]),
    "starfighter-data": music_in_folders("usr/share/starfighter", ["music/*"]),
    "pushover-data": music_in_folders("usr/share/pushover", ["themes/*"]),
    # Added in the second session to widen the base model's training data (more styles:
    # orchestral, ethnic, chiptune-like, rock, ambient).
    "wesnoth-1.16-music": music_in_folders("usr/share/games/wesnoth/1.16", ["data/core/music/*"]),
    "0ad-data": music_in_zip("usr/share/games/0ad/mods/public", "public.zip", "audio/music/"),
    "supertux-data": music_in_folders("usr/share/games/supertux2", ["music/**/*"]),
    "warzone2100-music": music_in_folders("usr/share/games/warzone2100", ["music/**/*"]),
    "hedgewars-data": music_in_folders("usr/share/games/hedgewars", ["Data/Music/*"]),
    "colobot-common-sounds": music_in_folders("usr/share/games/colobot", ["music/*"]),
    "flare-game": music_in_folders("usr/share/games/flare", ["mods/*/music/*"]),
    "extremetuxracer-data": music_in_folders("usr/share/games/etr", ["music/*"]),
    "fillets-ng-data": music_in_folders("usr/share/games/fillets-ng", ["music/*"]),
    "xmoto-data": music_in_folders("usr/share/games/xmoto", ["Textures/Musics/*"]),
    "asc-music": music_in_folders("usr/share/games/asc", ["music/*"]),
    "frozen-bubble-data": music_in_folders("usr/share/games/frozen-bubble", ["snd/*"]),
}


def audio_format(head: bytes) -> str | None:
    """The audio container recognised from a file's first bytes, or None (not audio we read)."""
    if head.startswith(b"OggS"):
        return "opus" if b"OpusHead" in head[:64] else "ogg"
    if head.startswith(b"fLaC"):
        return "flac"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


# ---------------------------------------------------------------------------------------
# Licences from /usr/share/doc/<package>/copyright


@dataclass(frozen=True)
class FilesStanza:
    patterns: list[str]
    licence: str


def parse_dep5(text: str) -> list[FilesStanza] | None:
    """The Files stanzas of a machine-readable copyright file, or None if it is not one."""
    if not text.startswith("Format:"):
        return None
    stanzas = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        current = None
        for line in paragraph.splitlines():
            if line[:1] in (" ", "\t") and current:
                fields[current] += "\n" + line.strip()
            elif ":" in line:
                current, _, value = line.partition(":")
                current = current.strip()
                fields[current] = value.strip()
        if "Files" in fields and "License" in fields:
            licence = fields["License"].split("\n", 1)[0].strip()
            stanzas.append(FilesStanza(fields["Files"].split(), licence))
    return stanzas


def dep5_licence(stanzas: list[FilesStanza], source_path: str) -> tuple[str, str] | None:
    """(licence, matched pattern) of the last stanza matching any tail of ``source_path``.

    Copyright files name paths in the upstream source tree (``data/music/x.ogg``), while
    the package installs them elsewhere (``usr/share/games/x/data/music/x.ogg``), so the
    pattern is matched against each tail of the installed path. In DEP-5 ``*`` also
    matches ``/``, as in fnmatch.
    """
    parts = source_path.replace("!", "/").split("/")
    tails = ["/".join(parts[i:]) for i in range(len(parts))]
    found = None
    for stanza in stanzas:
        for pattern in stanza.patterns:
            pattern = pattern.removeprefix("./")
            if any(fnmatch.fnmatchcase(tail, pattern) for tail in tails):
                found = (stanza.licence, pattern)
    return found


LICENCE_PHRASES = [
    (r"GNU General Public License.{0,300}?version 2.{0,200}?any later version", "GPL-2+"),
    (r"GNU General Public License.{0,300}?version 3.{0,200}?any later version", "GPL-3+"),
    (r"ISC license", "ISC"),
    (r"MIT license", "MIT"),
    (r"License Elements.{0,300}?Attribution, ShareAlike", "CC-BY-SA-3.0"),
    (r"Creative Commons Attribution 3\.0", "CC-BY-3.0"),
    (r"Creative Commons\s+CC0|publicdomain/zero/1\.0", "CC0-1.0"),
]
"""Phrases naming a licence in a copyright file that is not machine-readable."""


def licences_named_in(text: str) -> str:
    """Every licence ``LICENCE_PHRASES`` finds in a free-form copyright file, in text order."""
    flat = " ".join(text.split())
    found = []
    for phrase, licence in LICENCE_PHRASES:
        match = re.search(phrase, flat, flags=re.IGNORECASE)
        if match:
            found.append((match.start(), licence))
    return " | ".join(licence for _, licence in sorted(found)) or "unknown"


def licence_of(copyright_text: str, source_path: str) -> tuple[str, str]:
    """(licence, how it was found) for one file of a package."""
    stanzas = parse_dep5(copyright_text)
    if stanzas is not None:
        match = dep5_licence(stanzas, source_path)
        if match:
            return match[0], f"Files: {match[1]}"
        all_licences = sorted({s.licence for s in stanzas})
        return " | ".join(all_licences), "no stanza matched; all licences"
    return licences_named_in(copyright_text), "whole copyright file"


# ---------------------------------------------------------------------------------------
# Near-duplicate detection


def chroma_fingerprint(path: Path) -> np.ndarray:
    """Unit-norm chroma vectors at 5 frames/s, the features compared for near-duplicates."""
    import librosa  # only needed here; imported late to keep start-up fast

    y, sr = librosa.load(path, sr=11025, mono=True)
    chroma = librosa.feature.chroma_stft(y=y, sr=sr, n_fft=4096, hop_length=2205)
    return chroma / (np.linalg.norm(chroma, axis=0, keepdims=True) + 1e-9)


def best_alignment(a: np.ndarray, b: np.ndarray) -> float:
    """Highest mean cosine between ``a`` and ``b`` over time offsets.

    Only offsets where the tracks overlap for at least 80 % of the shorter one (and 20 s)
    count: a copy or remix overlaps its original almost whole, while distinct pieces of
    one game may share a short motif.
    """
    similarity = a.T @ b
    n, m = similarity.shape
    min_overlap = max(100, int(0.8 * min(n, m)))
    best = 0.0
    for offset in range(-(n - min_overlap), m - min_overlap + 1):
        best = max(best, float(np.diagonal(similarity, offset=offset).mean()))
    return best


def near_duplicates(paths: list[Path]) -> list[tuple[Path, Path, float]]:
    """(kept, dropped, similarity) for tracks that repeat an earlier one in ``paths``."""
    fingerprints = {p: chroma_fingerprint(p) for p in paths}
    dropped: dict[Path, tuple[Path, float]] = {}
    for a, b in itertools.combinations(paths, 2):
        if a in dropped or b in dropped:
            continue
        score = best_alignment(fingerprints[a], fingerprints[b])
        if score >= NEAR_DUPLICATE_SIMILARITY:
            dropped[b] = (a, score)
    return [(kept, d, score) for d, (kept, score) in dropped.items()]


# ---------------------------------------------------------------------------------------
# Fetching


def run(cmd: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)


def download_deb(package: str, debs: Path) -> Path:
    """``apt-get download`` the package into ``debs`` (once), running ``apt-get update`` if needed."""
    existing = sorted(debs.glob(f"{package}_*.deb"))
    if existing:
        return existing[-1]
    debs.mkdir(parents=True, exist_ok=True)
    try:
        run(["apt-get", "download", package], cwd=debs)
    except subprocess.CalledProcessError:
        print("  apt-get download failed; running apt-get update and retrying", flush=True)
        run(["apt-get", "update"])
        run(["apt-get", "download", package], cwd=debs)
    return sorted(debs.glob(f"{package}_*.deb"))[-1]


def read_state(state_file: Path, dest: Path) -> list[dict[str, str]] | None:
    """The rows recorded for a finished package, or None if any recorded file is missing."""
    if not state_file.exists():
        return None
    with state_file.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if all((dest / row["path"]).is_file() for row in rows):
        return rows
    return None


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write atomically so an interrupted run never leaves a half-written file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def fetch_package(package: str, dest: Path, known_sha: set[str]) -> tuple[list[dict], list[dict]]:
    """Download, unpack and copy one package's music; return (manifest rows, near-duplicate rows)."""
    deb = download_deb(package, dest / ".debs")
    version = run(["dpkg-deb", "-f", str(deb), "Version"]).stdout.strip()
    root = dest / ".extract" / package
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    run(["dpkg", "-x", str(deb), str(root)])
    copyright_text = (root / "usr/share/doc" / package / "copyright").read_text(encoding="utf-8", errors="replace")

    package_dir = dest / package
    shutil.rmtree(package_dir, ignore_errors=True)
    rows: list[dict] = []
    skipped: list[str] = []
    for music in MUSIC_SOURCES[package](root):
        data = music.read()
        fmt = audio_format(data[:64])
        if fmt is None:
            skipped.append(f"{music.source_path} (not audio)")
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha in known_sha:
            skipped.append(f"{music.source_path} (same bytes as an earlier file)")
            continue
        duration = soundfile.info(io.BytesIO(data)).duration
        if duration < MIN_DURATION_S:
            skipped.append(f"{music.source_path} ({duration:.1f} s)")
            continue
        name = music.dest_name
        if Path(name).suffix.lower().lstrip(".") not in {"ogg", "opus", "flac", "wav", "mp3"}:
            name = f"{name}.{fmt}"
        target = package_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        known_sha.add(sha)
        licence, licence_source = licence_of(copyright_text, music.source_path)
        rows.append(
            {
                "path": target.relative_to(dest).as_posix(),
                "package": package,
                "package_version": version,
                "licence": licence,
                "sha256": sha,
                "duration_s": f"{duration:.2f}",
                "licence_source": licence_source,
                "source_path": music.source_path,
            }
        )

    duplicates = []
    for kept, dropped, score in near_duplicates([dest / row["path"] for row in rows]):
        kept_rel, dropped_rel = kept.relative_to(dest).as_posix(), dropped.relative_to(dest).as_posix()
        duplicates.append({"kept": kept_rel, "dropped": dropped_rel, "similarity": f"{score:.3f}"})
        skipped.append(f"{dropped_rel} (same music as {kept_rel}, similarity {score:.3f})")
        dropped.unlink()
        rows = [row for row in rows if row["path"] != dropped_rel]

    for line in skipped:
        print(f"  skipped {line}")
    shutil.rmtree(root)
    deb.unlink()
    return rows, duplicates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", nargs="?", default="corpus", type=Path, help="corpus folder (default ./corpus)")
    parser.add_argument("--packages", nargs="+", choices=sorted(MUSIC_SOURCES), default=list(MUSIC_SOURCES))
    args = parser.parse_args(argv)
    dest: Path = args.dest.resolve()
    state_dir = dest / ".state"
    state_dir.mkdir(parents=True, exist_ok=True)

    all_rows: list[dict] = []
    known_sha: set[str] = set()
    for package in args.packages:
        state_file = state_dir / f"{package}.csv"
        duplicates_file = state_dir / f"{package}.near_duplicates.csv"
        rows = read_state(state_file, dest)
        if rows is None:
            print(f"{package}: fetching", flush=True)
            rows, duplicates = fetch_package(package, dest, known_sha)
            write_csv(duplicates_file, ["kept", "dropped", "similarity"], duplicates)
            write_csv(state_file, MANIFEST_COLUMNS, rows)
        else:
            print(f"{package}: already there ({len(rows)} tracks)", flush=True)
        known_sha.update(row["sha256"] for row in rows)
        hours = sum(float(row["duration_s"]) for row in rows) / 3600
        licences = sorted({row["licence"] for row in rows})
        print(f"  {len(rows)} tracks, {hours:.2f} h, licences: {'; '.join(licences)}", flush=True)
        all_rows.extend(rows)

    write_csv(dest / "manifest.csv", MANIFEST_COLUMNS, all_rows)
    duplicate_rows = []
    for package in args.packages:
        duplicates_file = state_dir / f"{package}.near_duplicates.csv"
        if duplicates_file.exists():
            with duplicates_file.open(newline="", encoding="utf-8") as fh:
                duplicate_rows.extend(csv.DictReader(fh))
    write_csv(dest / "near_duplicates.csv", ["kept", "dropped", "similarity"], duplicate_rows)
    total_hours = sum(float(row["duration_s"]) for row in all_rows) / 3600
    print(f"total: {len(all_rows)} tracks, {total_hours:.2f} h -> {dest / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
