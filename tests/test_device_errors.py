"""A full device is an external fault (exit 5) with a message, never an internal error (70),
and a run that created its output folder and failed leaves nothing behind."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str, stdout: int = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "scaleplan", *args]
    return subprocess.run(
        cmd, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=300, check=False
    )


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_stdout_on_a_full_device_exits_5() -> None:
    with open("/dev/full", "w") as full:
        r = _run("catalog", "list", "--provider", "aws", stdout=full.fileno())
    assert r.returncode == 5, r.stderr
    assert "No space left on device" in r.stderr and "internal error" not in r.stderr


@pytest.fixture
def full_fs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real 64 KiB tmpfs, filled up (needs root and permission to mount)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)]
    if subprocess.run(mount, capture_output=True, check=False).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        with (mnt / "fill").open("wb") as fh, contextlib.suppress(OSError):
            fh.write(b"\0" * (60 * 1024))
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_optimize_into_a_full_file_system_exits_5_and_leaves_nothing(full_fs: Path) -> None:
    out = full_fs / "plan"
    r = _run("optimize", str(ROOT / "examples" / "llm-chat" / "spec.yaml"), "--out", str(out))
    assert r.returncode == 5, r.stderr
    assert f"{out}: cannot write: No space left on device" in r.stderr
    assert "nothing was replaced" in r.stderr
    assert not out.exists()  # neither the folder nor its lock file


def test_the_old_output_set_survives_a_full_file_system(full_fs: Path, tmp_path: Path) -> None:
    # the plan folder exists (a previous run); the new run fails for lack of space: the old
    # files stay as they were, and the lock file the earlier run made stays too
    out = full_fs / "plan"
    out.mkdir()
    (out / "plan.yaml").write_text("old\n")
    r = _run("optimize", str(ROOT / "examples" / "llm-chat" / "spec.yaml"), "--out", str(out))
    assert r.returncode == 5, r.stderr
    assert (out / "plan.yaml").read_text() == "old\n"


def test_an_output_that_is_a_fifo_is_written_not_replaced(tmp_path: Path) -> None:
    """A path that names a FIFO or a device (``--out /dev/stdout``, ``/dev/null``) is written
    into: the temporary file and rename replaced it with a regular file (as root, ``--out
    /dev/full`` left a regular file at /dev/full)."""
    import stat
    import threading

    from scaleplan.yamlio import atomic_write

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    atomic_write(fifo, "kind: Profile\n")
    reader.join(10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got == [b"kind: Profile\n"]


@pytest.mark.skipif(
    not (os.path.exists("/dev/full") and Path("/dev/full").is_char_device()),
    reason="needs /dev/full",
)
def test_json_output_file_on_a_full_device_prints_the_error_object(tmp_path: Path) -> None:
    """``--out`` a full device (a link to /dev/full, so that a regression replaces the link,
    not /dev/full) under --json: exit 5, and stdout, which took nothing else, holds the error
    object."""
    import json

    out = tmp_path / "full.yaml"
    out.symlink_to("/dev/full")
    r = _run("profile", "llm", "llama-3.1-8b", "--accelerators", "L4", "--gpus", "1",
             "--out", str(out), "--json")
    assert r.returncode == 5, r.stderr
    err = json.loads(r.stdout)["error"]
    assert err["kind"] == "external" and "No space left on device" in err["message"]
    assert out.is_symlink() and Path("/dev/full").is_char_device()


_FAILING_DIFF = (
    "import errno, sys\n"
    "import scaleplan.plandiff as d\n"
    "def fail(*a):\n"
    "    raise OSError(errno.ENOSPC, 'No space left on device')\n"
    "d.diff_plans = fail\n"
    "from scaleplan.cli import main\n"
    "sys.argv = ['scaleplan', 'diff', sys.argv[1], sys.argv[1], '--json']\n"
    "main()\n"
)


def test_the_error_object_is_whole_or_not_there(full_fs: Path) -> None:
    """stdout appended to (``>>``) a file on the full file system, its last page part used: the
    object's first bytes fit, the rest does not; what did fit is taken back, so the file is as
    it was (never half an object). A write elsewhere failed, and nothing was printed before."""
    log = full_fs / "log.json"
    log.write_bytes(b"x" * 4000)  # 96 bytes left in its page
    with (full_fs / "more").open("wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 4096)
    plan = str(ROOT / "examples" / "llm-chat" / "plan.yaml")
    with log.open("ab") as out:
        r = subprocess.run(
            [sys.executable, "-c", _FAILING_DIFF, plan], stdout=out, stderr=subprocess.PIPE,
            text=True, timeout=120, check=False,
        )
    assert r.returncode == 5, r.stderr
    assert "a write failed: No space left on device" in r.stderr
    assert log.read_bytes() == b"x" * 4000


def test_the_error_object_reaches_a_pipe(tmp_path: Path) -> None:
    """The same failure with stdout a pipe: the object is printed."""
    import json

    plan = str(ROOT / "examples" / "llm-chat" / "plan.yaml")
    r = subprocess.run(
        [sys.executable, "-c", _FAILING_DIFF, plan], capture_output=True, text=True,
        timeout=120, check=False,
    )
    assert r.returncode == 5, r.stderr
    assert json.loads(r.stdout)["error"]["message"] == "a write failed: No space left on device"
