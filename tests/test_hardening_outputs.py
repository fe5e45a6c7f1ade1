"""Issue 19, group 2: one output transaction per command; user files are never deleted, moved
aside or silently overwritten (docs/hardening.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from hardening_helpers import EXAMPLE, example_copy, sub

from scaleplan.cli._common import handle_errors
from scaleplan.outputs import commit_outputs
from scaleplan.yamlio import parse_yaml_documents

MELANGE = Path(__file__).parent / "data" / "melange" / "example.json"


def _optimize(cli, spec: Path, out: Path, code: int = 0, *extra: str):
    return cli(["optimize", str(spec), "--out", str(out), "--no-alternatives", *extra], exit_code=code)


def test_optimize_refuses_user_files_in_manifests(tmp_path: Path, cli) -> None:
    """optimize --out DIR silently deleted user files in DIR/manifests (render refuses)."""
    spec = example_copy(tmp_path)
    mine = tmp_path / "out" / "manifests" / "my-secret-patch.yaml"
    mine.parent.mkdir(parents=True)
    mine.write_text("kind: Secret\n", encoding="utf-8")
    r = _optimize(cli, spec, tmp_path / "out", 3)
    assert "did not write: my-secret-patch.yaml" in r.stderr  # the user's file, named
    assert mine.read_text(encoding="utf-8") == "kind: Secret\n"
    assert not (tmp_path / "out" / "plan.yaml").exists()


def test_optimize_refuses_a_file_named_manifests(tmp_path: Path, cli) -> None:
    """A user file named DIR/manifests was moved aside."""
    spec = example_copy(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "manifests").write_text("notes\n", encoding="utf-8")
    _optimize(cli, spec, tmp_path / "out", 3)
    assert (tmp_path / "out" / "manifests").read_text(encoding="utf-8") == "notes\n"


def test_optimize_failure_after_solving_keeps_old_plan(tmp_path: Path, cli) -> None:
    """A run failing after the solve (here: render refuses a label) had already replaced plan.yaml."""
    spec = example_copy(tmp_path)
    out = tmp_path / "out"
    _optimize(cli, spec, out)
    before = (out / "plan.yaml").read_bytes()
    sub(spec, r"^  name: vision$", "  name: vision\n  labels: {team: 'a b'}")
    sub(spec, r"min_replicas: 2$", "min_replicas: 3")
    _optimize(cli, spec, out, 3)
    assert (out / "plan.yaml").read_bytes() == before


def test_optimize_refuses_empty_out(tmp_path: Path, cli) -> None:
    """`--out ''` wrote into the current folder. A bad option value: exit 2 (it was 3)."""
    spec = example_copy(tmp_path)
    r = cli(["optimize", str(spec), "--out", ""], exit_code=2)
    assert "Invalid value for --out: must not be empty" in " ".join(r.stderr.split())


def test_render_refuses_empty_out(tmp_path: Path, cli) -> None:
    r = cli(["render", str(EXAMPLE / "plan.yaml"), "--out", ""], exit_code=2)
    assert "Invalid value for --out: must not be empty" in " ".join(r.stderr.split())


def test_import_melange_does_not_replace_hand_written_spec(tmp_path: Path, cli) -> None:
    """`import melange --out` replaced a hand-written spec.yaml."""
    mine = tmp_path / "spec.yaml"
    mine.write_text("# my hand-written spec\n", encoding="utf-8")
    r = cli(["import", "melange", str(MELANGE), "--out", str(tmp_path)], exit_code=3)
    assert "--force" in r.stderr
    assert mine.read_text(encoding="utf-8") == "# my hand-written spec\n"
    cli(["import", "melange", str(MELANGE), "--out", str(tmp_path), "--force"])
    assert "InferenceService" in mine.read_text(encoding="utf-8")


def test_commit_is_not_split_by_ctrl_c(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C right after plan.yaml was replaced left new plan + old manifests (5 of 5 runs)."""
    out = tmp_path / "out"
    commit_outputs(out, {"plan.yaml": "old\n"}, {"manifests": {"a.yaml": "old\n"}})
    real = os.replace
    calls = []

    def replace_then_interrupt(src, dst):  # a real rename, then a real SIGINT to this process
        real(src, dst)
        calls.append(dst)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(os, "replace", replace_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        commit_outputs(out, {"plan.yaml": "new\n"}, {"manifests": {"a.yaml": "new\n"}})
    assert (out / "plan.yaml").read_text() == "new\n"
    assert (out / "manifests" / "a.yaml").read_text() == "new\n"
    assert sorted(p.name for p in out.iterdir()) == [".scaleplan.lock", "manifests", "plan.yaml"]


def test_concurrent_runs_into_one_folder_stay_consistent(tmp_path: Path) -> None:
    """Two concurrent runs into one folder mixed their outputs (2 of 8)."""
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    example_copy(a)
    example_copy(b)
    sub(b / "spec.yaml", r"min_replicas: 2$", "min_replicas: 4")
    out = tmp_path / "out"
    env = {**os.environ, "COLUMNS": "100"}
    procs = [subprocess.Popen([sys.executable, "-m", "scaleplan", "optimize", str(d / "spec.yaml"), "--out", str(out), "--no-alternatives"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env) for d in (a, b)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    plan_hash = next(line.split()[-1] for line in (out / "plan.yaml").read_text().splitlines() if line.strip().startswith("plan_hash:"))
    hashes = set()
    for f in sorted((out / "manifests").rglob("*.yaml")):
        for d in parse_yaml_documents(f.read_text(), str(f)):
            ann = (d.data.get("metadata") or {}).get("annotations") or {}
            if "scaleplan.dev/plan-hash" in ann:
                hashes.add(ann["scaleplan.dev/plan-hash"])
    assert hashes == {plan_hash}


def test_interrupt_that_surfaces_as_another_error_exits_130() -> None:
    """Ctrl-C during solver start gave exit 70 (an AttributeError) in 8 of 29 runs."""
    with pytest.raises(typer.Exit) as info, handle_errors():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise AttributeError("partially initialized module 'pulp' has no attribute 'HiGHS'") from None
    assert info.value.exit_code == 130


def test_commit_fsyncs_every_file_before_the_swap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The staged files' fsyncs run concurrently (one journal commit for a batch): every file is
    still synced, complete, before the first rename; more files than one batch holds included."""
    import errno
    import threading

    from scaleplan import outputs
    from scaleplan.errors import ExternalError

    out = tmp_path / "out"
    tree = {f"m{i:02d}.yaml": f"kind: ConfigMap\nn: {i}\n" * 50 for i in range(outputs.SYNC_BATCH + 8)}
    synced: dict[str, str] = {}
    real_fsync, real_replace = os.fsync, os.replace
    lock = threading.Lock()

    def fsync(fd: int) -> None:
        real_fsync(fd)
        path = os.readlink(f"/proc/self/fd/{fd}")
        with lock:
            synced[Path(path).name] = Path(path).read_text()

    def replace(src, dst):  # nothing is swapped in before every file was synced
        assert set(synced) == {"plan.yaml", *tree}
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    commit_outputs(out, {"plan.yaml": "plan\n"}, {"manifests": tree})
    assert synced == {"plan.yaml": "plan\n", **tree}
    assert {p.name: p.read_text() for p in (out / "manifests").iterdir()} == tree

    def fsync_fails(fd: int) -> None:  # one file of the second batch cannot be synced
        if os.readlink(f"/proc/self/fd/{fd}").endswith("m35.yaml"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_fails)
    monkeypatch.setattr(os, "replace", real_replace)
    with pytest.raises(ExternalError, match="No space left"):  # exit 5, as a full disk is
        commit_outputs(out, {"plan.yaml": "new\n"}, {"manifests": dict.fromkeys(tree, "new\n")})
    assert (out / "plan.yaml").read_text() == "plan\n"  # the old set, untouched
    assert {p.name: p.read_text() for p in (out / "manifests").iterdir()} == tree
    assert sorted(p.name for p in out.iterdir()) == [".scaleplan.lock", "manifests", "plan.yaml"]


def test_replace_folder_replaces_as_a_whole_and_refuses_user_files(tmp_path: Path) -> None:
    """``render --out`` and ``--emit-jobs``: the folder's content becomes the new set, old files
    not in it go; a folder with a user's file is refused; no lock, stage or temporary folder is
    left next to it (the parent is locked on itself)."""
    from scaleplan.errors import InputError
    from scaleplan.outputs import replace_folder

    out = tmp_path / "out"
    replace_folder(out, {"a.yaml": "a\n", "sub/b.yaml": "b\n"}, foreign=lambda d: [])
    assert (out / "sub" / "b.yaml").read_text() == "b\n"
    replace_folder(out, {"c.yaml": "c\n"}, foreign=lambda d: [])
    assert sorted(p.name for p in out.iterdir()) == ["c.yaml"]  # replaced as a whole
    with pytest.raises(InputError, match=r"files scaleplan did not write: mine\.txt"):
        replace_folder(out, {"d.yaml": "d\n"}, foreign=lambda d: [d / "mine.txt"])
    assert sorted(p.name for p in out.iterdir()) == ["c.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize("fault", ["fsync", "interrupt"])
def test_render_out_failing_mid_write_leaves_the_old_folder(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    """``render --out DIR`` wrote through its own, weaker writer (no lock, no fsync): a run that
    fails or is interrupted while the files are written leaves the old manifests, byte for
    byte, and nothing half-written or staged next to them."""
    import errno

    from scaleplan import outputs

    plan = EXAMPLE / "plan.yaml"
    out = tmp_path / "deploy" / "manifests"
    cli(["render", str(plan), "--out", str(out), "--layout", "single"])
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real_fsync, written = os.fsync, []

    def fail_mid_write(fd: int) -> None:  # the first file is synced; the write fails after it
        written.append(fd)
        if len(written) > 1:
            if fault == "interrupt":
                raise KeyboardInterrupt
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(outputs, "SYNC_BATCH", 1)  # one file at a time: the failure is mid-set
    monkeypatch.setattr(os, "fsync", fail_mid_write)
    r = cli(["render", str(plan), "--out", str(out)], exit_code=130 if fault == "interrupt" else 5)
    if fault == "fsync":
        assert "Input/output error" in r.stderr and "nothing was replaced" in r.stderr
    assert len(written) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["manifests"]


def test_replace_folder_waits_for_the_lock_on_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another run holding the parent folder's lock keeps replace_folder out (refused after the
    timeout, nothing written); where the file system has no folder locks (NFS: EBADF) the
    folder is still replaced, unlocked."""
    import errno
    import fcntl

    from scaleplan.errors import InputError
    from scaleplan.outputs import replace_folder

    out = tmp_path / "out"
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another scaleplan run"):
            replace_folder(out, {"a.yaml": "a\n"}, foreign=lambda d: [], lock_timeout=0.3)
        assert not out.exists()
    finally:
        os.close(fd)

    def no_folder_locks(fd: int, op: int) -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(fcntl, "flock", no_folder_locks)
    replace_folder(out, {"a.yaml": "a\n"}, foreign=lambda d: [])
    assert (out / "a.yaml").read_text() == "a\n"
