"""One output transaction per command: stage every file, then swap them in together.

``optimize --out DIR`` writes ``DIR/plan.yaml`` and ``DIR/manifests/``. They must never
disagree: an interrupt, a failure or a second run into the same folder leaves either the old
set or the new one. :func:`commit_outputs` does that:

1. takes a lock on the folder (``DIR/.scaleplan.lock``, ``flock``), waiting up to
   ``lock_timeout`` seconds for another run to finish, then refusing (exit 3);
2. refuses (exit 3) when a folder it would replace holds files scaleplan did not write (the
   ``foreign`` function lists them, as ``render`` does) or is a file: user files are never deleted or
   moved aside;
3. writes everything into a staging folder inside ``DIR`` (same file system: renames are
   atomic), fsyncing each file (the fsyncs of up to 32 files at a time run concurrently, so the
   file system commits them together);
4. swaps the staged entries in with ``os.replace`` while SIGINT is held back (the swap is a few
   renames; Ctrl-C during it takes effect right after, so it never splits the set).

A crash of the machine in the middle of step 4 can still leave a mixed set; no interrupt,
error or concurrent run can. Nothing is written before the command has computed every file.

``render --out DIR`` and ``profile --emit-jobs DIR`` replace a whole folder: :func:`replace_folder`
runs the same transaction with ``DIR`` as the one tree of its parent folder, locked by ``flock`` on
the parent folder itself (no lock file appears next to ``DIR``). This module is the only writer of
a folder of outputs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from scaleplan.errors import InputError, OptionError, Problem
from scaleplan.yamlio import (
    atomic_write,
    cannot_write_error,
    current_umask,
    file_not_folder,
    foreign_files_problem,
)

LOCK_NAME = ".scaleplan.lock"


def check_out_path(value: str, option: str = "--out", example: str | None = None) -> Path:
    """Refuse an empty ``--out`` (it would write into the current folder), ``-`` (standard
    output, where this command writes no file: it made a file or folder named '-') or a NUL
    byte: bad option values, exit 2. A command that prints to stdout for ``-`` (``profile``,
    ``render``, ``check --output``) decides so before calling this. ``example``: the file name
    an output that must be a file suggests (None: the option takes a folder, or either)."""
    if not value.strip():
        fix = (
            f"give a file path such as {example}"
            if example
            else "give a folder or file path; use '.' for the current folder"
        )
        raise OptionError(f"must not be empty ({fix})", option=option)
    if value == "-":
        message = (
            "'-' is standard output, where this command writes no files (give a path; "
            "./- names a file or folder called '-')"
        )
        raise OptionError(message, option=option)
    if "\x00" in value:
        raise OptionError("contains a NUL byte (give a plain path)", option=option)
    return Path(value)


def check_out_file(value: str, option: str = "--out", *, example: str) -> Path:
    """An output file's path: :func:`check_out_path`, and a path ending in ``/`` refused as a
    folder (exit 3, as an existing folder is): the path would otherwise lose the slash and
    become a file named as the folder the user meant (UX trial 26 F2)."""
    path = check_out_path(value, option, example)
    if value.endswith(("/", os.sep)):
        what = "names a folder (it ends in /), expected a file path"
        problem = Problem("", what, hint=f"give a file path such as {path / example}")
        raise InputError(value, [problem])
    return path


def refuse_input_as_output(
    value: str, inputs: Sequence[str | Path], *, option: str, example: str,
    read_in_folders: tuple[str, ...] = (".yaml", ".yml"),
) -> None:
    """Refuse (exit 2) an output file that is one of the command's inputs, or a file inside an
    input folder of a kind read there (``read_in_folders``: the suffixes; ``check`` reads the
    YAML under a folder, so a ``check.sarif`` from the last run beside them stays writable):
    writing it would replace what was just read (``check --output plan.yaml`` replaced the
    plan and passed; UX trial 26 F1). A new file of such a kind inside an input folder (not
    under a hidden folder, which ``check`` skips) is refused too: the next run over that
    folder would read the report as an input and fail (UX trial 27 F1). ``inputs``: files and
    folders read; ``-`` (standard input) is skipped. Nothing has been written when this
    refuses."""
    out = Path(value)
    exists = out.exists() or out.is_symlink()
    if exists and not out.is_file():
        return
    real = Path(os.path.realpath(out))
    for raw in inputs:
        name = str(raw)
        if name == "-":
            continue
        src = Path(os.path.realpath(name))
        if real == src:
            raise OptionError(_replaces(value, "an input of this run", example), option=option)
        if not (src.is_dir() and src in real.parents):
            continue
        if real.suffix.lower() not in read_in_folders:
            continue
        if exists:
            what = f"inside {name}, an input folder of this run"
            raise OptionError(_replaces(value, what, example), option=option)
        if any(part.startswith(".") for part in real.relative_to(src).parts[:-1]):
            continue  # a hidden folder: check does not read it
        beside = Path(name).parent / example
        message = (
            f"{value} would be a new {real.suffix} file inside {name}, an input folder of this "
            f"run: the next check of {name} would read the report as a manifest and fail "
            f"(exit 3) (give a file outside the input folders, e.g. {beside}, or one whose "
            f"name does not end in {' or '.join(read_in_folders)})"
        )
        raise OptionError(message, option=option)


def _replaces(value: str, what: str, example: str) -> str:
    """The refusal of an output file that is (or is in a folder of) what the run read."""
    return (
        f"{value} is {what}: writing the output there would replace what was read "
        f"(give another file, e.g. {example} outside the input folders)"
    )


def refuse_input_in_out_dir(
    out: str, writes: Sequence[str], inputs: Sequence[str | None], *, option: str = "--out"
) -> None:
    """Refuse (exit 2) an output folder ``out`` where a file the command writes (``writes``,
    relative to ``out``) is one of its input files: ``optimize spec/plan.yaml --out spec``
    replaced the spec with the plan and exited 0 (UX trial 27). Nothing is read or written."""
    for name in writes:
        target = Path(out) / name
        real = os.path.realpath(target)
        for raw in inputs:
            if raw is None or raw == "-" or os.path.realpath(raw) != real:
                continue
            what = raw if os.path.normpath(raw) == os.path.normpath(target) else f"{target} ({raw})"
            message = (
                f"{what} is an input of this run, and the command writes its {name} to "
                f"{out}: it would replace what was read (give another folder, e.g. --out "
                f"{Path(out) / 'out'}, or rename the input)"
            )
            raise OptionError(message, option=option)


def write_output_file(
    value: str, text: str, *, option: str = "--out", example: str,
    inputs: Sequence[str | Path] = (),
) -> None:
    """One output file (``profile --out``, ``check --output``): the path checked
    (:func:`check_out_file`; not one of ``inputs``, :func:`refuse_input_as_output`), then
    ``text`` written atomically (a path that cannot be written is bad input, exit 3, never a
    half-written file; ``example`` is the file name its hint gives in a folder named as the
    path)."""
    path = check_out_file(value, option, example=example)
    refuse_input_as_output(value, inputs, option=option, example=example)
    atomic_write(path, text, example=example)


def check_out_dir(value: str) -> Path:
    """An output folder (``optimize --out``): :func:`check_out_path`, and not an existing file."""
    path = check_out_path(value)
    if path.exists() and not path.is_dir():
        raise file_not_folder(value)
    return path


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C back for a short critical section; re-raise it right after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        got.append(signum)

    old: Any = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if got:
            raise KeyboardInterrupt


# flock on a folder's descriptor where the file system has no such lock (NFS: EBADF)
_NO_FOLDER_FLOCK = frozenset({errno.EBADF, errno.EINVAL, errno.ENOLCK, errno.EOPNOTSUPP})


@contextlib.contextmanager
def folder_lock(folder: Path, timeout: float = 30.0, *, lock_file: bool = True) -> Iterator[None]:
    """An exclusive lock on ``folder`` (created if missing) for one writing run: on
    ``folder/.scaleplan.lock``, or (``lock_file=False``) on the folder itself, which leaves no
    file behind (a file system without such locks writes unlocked; the swap stays atomic). A
    run that created the folder and then fails leaves nothing behind: the lock file and the
    (empty) folder are removed again."""
    import fcntl

    created = not folder.exists()
    _mkdir(folder)
    try:
        if lock_file:
            fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        else:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise cannot_write_error(folder, exc) from None
    ok = False
    try:
        end = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > end:
                    raise InputError(
                        str(folder),
                        [
                            Problem(
                                "",
                                "another scaleplan run has been writing to this folder for over "
                                    f"{timeout:g} s",
                                hint="wait for it to finish, or write to another --out folder",
                            )
                        ],
                    ) from None
                time.sleep(0.1)
            except OSError as exc:
                if lock_file or exc.errno not in _NO_FOLDER_FLOCK:
                    raise cannot_write_error(folder, exc) from None
                break
        yield
        ok = True
    finally:
        if not ok and created:
            with contextlib.suppress(OSError):
                if lock_file:
                    (folder / LOCK_NAME).unlink()
                folder.rmdir()  # only if the failed run left it empty
        os.close(fd)


def _mkdir(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise cannot_write_error(folder, exc) from None
    if not folder.is_dir():
        raise file_not_folder(folder, option="")


SYNC_BATCH = 32  # files open at once while their fsyncs run together


def _write_files(files: Sequence[tuple[Path, str]]) -> None:
    """Write the staged files and fsync every one of them before returning.

    The fsyncs of a batch run at the same time, each in its own thread: the file system commits
    its journal once for the whole batch instead of once per file (ext4 on the development
    machine: 9 manifests 6 ms instead of 67 ms of wall clock, docs/benchmarks/speed.md). Each
    file is still on disk before anything is swapped in.
    """
    for start in range(0, len(files), SYNC_BATCH):
        handles: list[Any] = []
        try:
            for path, text in files[start : start + SYNC_BATCH]:
                path.parent.mkdir(parents=True, exist_ok=True)
                fh = path.open("w", encoding="utf-8", newline="\n")
                handles.append(fh)
                fh.write(text)
                fh.flush()
            _fsync_together([fh.fileno() for fh in handles])
        finally:
            for fh in handles:
                fh.close()


def _fsync_together(fds: Sequence[int]) -> None:
    """``os.fsync`` each descriptor, concurrently; the first failure is raised."""
    if len(fds) == 1:
        os.fsync(fds[0])
        return
    errors: list[OSError] = []

    def sync(fd: int) -> None:
        try:
            os.fsync(fd)
        except OSError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sync, args=(fd,), daemon=True) for fd in fds]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def commit_outputs(
    folder: Path,
    files: Mapping[str, str],
    trees: Mapping[str, Mapping[str, str]] | None = None,
    *,
    foreign: Callable[[Path], Sequence[Path]] | None = None,
    lock_timeout: float = 30.0,
    lock_file: bool = True,
) -> list[Path]:
    """Write ``files`` (name -> text) and ``trees`` (folder name -> {relative path -> text}) into
    ``folder`` as one transaction; return the paths written (files and tree folders).
    ``lock_file``: see :func:`folder_lock`."""
    trees = trees or {}
    with folder_lock(folder, lock_timeout, lock_file=lock_file):
        for name in trees:
            target = folder / name
            if target.is_symlink() or (target.exists() and not target.is_dir()):
                raise InputError(
                    str(target),
                    [
                        Problem(
                            "",
                            "exists and is not a folder scaleplan wrote",
                            hint="move it away or choose another --out folder; scaleplan never "
                                "deletes your files",
                        )
                    ],
                )
            found = list(foreign(target)) if foreign is not None and target.exists() else []
            if found:
                raise InputError(str(target), [foreign_files_problem(target, found)])
        for name in files:
            target = folder / name
            if target.is_dir() and not target.is_symlink():
                raise InputError(
                    str(target),
                    [
                        Problem(
                            "",
                            "exists and is a folder",
                            hint="move it away or choose another --out folder",
                        )
                    ],
                )
        try:
            stage = Path(tempfile.mkdtemp(prefix=".stage-", dir=folder))
        except OSError as exc:
            raise cannot_write_error(folder, exc) from None
        try:
            try:
                staged = [(stage / name, text) for name, text in files.items()]
                for name, tree in trees.items():
                    (stage / name).mkdir()
                    staged += [(stage / name / rel, text) for rel, text in tree.items()]
                _write_files(staged)
            except OSError as exc:
                raise cannot_write_error(folder, exc) from None
            umask = current_umask()
            with sigint_deferred():
                moved: list[tuple[Path, Path]] = []
                try:
                    for name in trees:
                        if (folder / name).exists():
                            aside = stage / f".old-{name}"
                            os.replace(folder / name, aside)
                            moved.append((aside, folder / name))
                        os.replace(stage / name, folder / name)
                    for name in files:
                        os.chmod(stage / name, 0o666 & ~umask)
                        os.replace(stage / name, folder / name)
                except OSError as exc:
                    for aside, back in moved:  # put the old set back
                        with contextlib.suppress(OSError):
                            if back.exists():
                                shutil.rmtree(back)
                            os.replace(aside, back)
                    raise cannot_write_error(folder, exc) from None
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return [*(folder / n for n in files), *(folder / n for n in trees)]


def replace_folder(
    folder: Path,
    files: Mapping[str, str],
    *,
    foreign: Callable[[Path], Sequence[Path]],
    lock_timeout: float = 30.0,
) -> Path:
    """Make ``folder``'s content exactly ``files`` (relative path -> text) in one transaction:
    :func:`commit_outputs` with ``folder`` as the one tree of its parent, which is locked on
    itself (no lock file next to ``folder``). Refused (exit 3) when ``folder`` holds files that
    ``foreign`` lists, is a file or a link; the parent folders are created when missing."""
    target = folder if folder.name not in ("", "..") else Path(os.path.abspath(folder))
    if target.name == "":  # the root folder
        raise InputError(
            str(folder), [Problem("", "cannot replace the root folder", hint="give a folder path")]
        )
    commit_outputs(
        target.parent,
        {},
        {target.name: files},
        foreign=foreign,
        lock_timeout=lock_timeout,
        lock_file=False,
    )
    return folder
