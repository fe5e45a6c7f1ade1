"""stdout after a write the device refused (a full disk, a quota, a failing device).

``scaleplan ... --json`` prints one JSON object on stdout when it fails, never half of one.
When a write that no output writer caught fails for lack of space (exit 5, "a write
failed"), stdout may be on that device. If the command printed nothing on stdout yet, that
write was not stdout's, so stdout may still take the object: :func:`last_words` writes it
whole or takes back what part of it reached a regular file (truncated to where it began), and
then sends stdout to /dev/null, so nothing more is tried there.

The other two ways stdout's file descriptor is redirected live here too: :func:`discard_stdout`
when stdout's reader went away, :func:`quiet_fd1` around C libraries that print there.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
from collections.abc import Iterator
from typing import Any

_SET_ASIDE: list[Any] = []


def json_document(obj: Any) -> str:
    """``obj`` as the one JSON document ``--json`` prints (indented, UTF-8 as is, no NaN)."""
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def last_words(text: str | None) -> None:
    """``text`` (None: nothing) on stdout whole or not at all; then stdout is /dev/null."""
    if text is not None:
        _whole(text)
    _SET_ASIDE.append(sys.stdout)  # not closed when dropped: its close would write again
    with contextlib.suppress(Exception):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115


def discard_stdout() -> None:
    """stdout's reader went away (``| head -1``): the rest of the output goes to /dev/null and
    the command finishes with its own exit code (a closed pipe changes no verdict)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


@contextlib.contextmanager
def quiet_fd1() -> Iterator[None]:
    """Silence file descriptor 1 (C libraries such as HiGHS print banners there)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def _whole(text: str) -> None:
    out = sys.stdout
    try:
        fd = out.fileno()
    except (OSError, ValueError):  # not a file (a test runner's capture): written as any print
        with contextlib.suppress(OSError, ValueError):
            out.write(text)
            out.flush()
        return
    with contextlib.suppress(OSError, ValueError):
        out.flush()  # nothing was printed: its buffer is empty
    start = _start(fd)
    data = text.encode("utf-8")
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        if start is not None:  # a regular file on the full device: take the part back
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
                os.lseek(fd, start, os.SEEK_SET)


def _start(fd: int) -> int | None:
    """Where a write to ``fd`` lands, if it is a regular file (its end when opened to append,
    ``>>``); None for a pipe, a terminal or a device, which take a write whole or not at all
    here."""
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        import fcntl

        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
            return info.st_size
        return os.lseek(fd, 0, os.SEEK_CUR)
    except OSError:
        return None
