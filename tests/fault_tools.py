"""Real faults for the fault suite: a small real file system that can be filled, real FIFOs, real
strace. Nothing here simulates a fault: a full disk is a tmpfs with no byte left."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SMALL_DISK_SIZE = "2m"


@contextmanager
def small_disk(where: Path) -> Iterator[Path]:
    """A real 2 MiB tmpfs mounted at ``where`` (skips the test where mounting is not permitted)."""
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make a real small file system to fill")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK_SIZE}", "tmpfs", str(where)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(
            f"cannot mount a small tmpfs here (needs root: {result.stderr.strip() or result.returncode}); "
            "the full-disk faults run in CI, which runs as root"
        )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


class Filler:
    """Fills a file system to the last byte, and frees it again."""

    def __init__(self, disk: Path) -> None:
        self.path = disk / f"filler-{uuid.uuid4().hex}"

    def fill(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            chunk = 1 << 16
            while chunk:
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    chunk //= 2
        finally:
            os.close(fd)
        assert free_bytes(self.path.parent) == 0

    def free(self) -> None:
        self.path.unlink(missing_ok=True)


def free_bytes(folder: Path) -> int:
    info = os.statvfs(folder)
    return info.f_bavail * info.f_frsize


NETWORK_MARKS = ("AF_INET", "AF_INET6", "AF_NETLINK", "AF_PACKET", "nscd")
"""What a network syscall (or a name lookup through nscd) shows in ``strace -e trace=network``:
AF_UNIX socket pairs (asyncio's self-pipe) are local and allowed."""


def strace_command(log: Path) -> list[str]:
    """``strace -f -e trace=network -o log`` (skips the test where strace is missing or cannot trace)."""
    exe = shutil.which("strace")
    if exe is None:
        pytest.skip("strace is not installed: cannot check for network syscalls (.ci/run installs it)")
    probe = subprocess.run(
        [exe, "-f", "-qq", "-e", "trace=network", "-o", os.devnull, "true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        pytest.skip(f"strace cannot trace here ({probe.stderr.strip()[:200]})")
    return [exe, "-f", "-qq", "-e", "trace=network", "-o", str(log)]


def network_calls(log: Path) -> list[str]:
    return [line for line in log.read_text(errors="replace").splitlines() if any(m in line for m in NETWORK_MARKS)]


def without_permission_override() -> list[str]:
    """A command prefix under which file permissions are enforced: as root (who may read any
    folder) ``setpriv`` drops the two capabilities that override them (CAP_DAC_OVERRIDE,
    CAP_DAC_READ_SEARCH: root then reads only what its mode bits allow, like any user; running as
    ``nobody`` is not possible where the interpreter lives in /root); as any other user, nothing.
    Skips the test where neither is possible."""
    if os.geteuid() != 0:
        return []
    exe = shutil.which("setpriv")
    if exe is None:
        pytest.skip("running as root without setpriv: folder permissions cannot be enforced here")
    prefix = [exe, "--bounding-set=-dac_override,-dac_read_search", "--"]
    import tempfile

    with tempfile.NamedTemporaryFile() as closed:
        os.chmod(closed.name, 0)  # nobody may read it, root neither once the override is gone
        probe = subprocess.run([*prefix, "test", "-r", closed.name], capture_output=True)
    if probe.returncode == 0 or probe.stderr:
        pytest.skip(f"setpriv cannot drop root's permission override here ({probe.stderr.decode()[:200]})")
    return prefix
