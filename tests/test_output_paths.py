"""An output path that cannot be written is bad input (exit 3, the path and a hint), never
"internal error" (exit 70): every command writes files through yamlio's atomic writer or the
output transaction (outputs.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scaleplan.errors import InputError
from scaleplan.outputs import replace_folder
from scaleplan.yamlio import atomic_write, check_writable

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "llm-chat" / "plan.yaml"


@pytest.fixture
def keep(tmp_path: Path) -> Path:
    """A user's file that an output path runs through (``keep.yaml/o.yaml``)."""
    p = tmp_path / "keep.yaml"
    p.write_text("mine: 1\n")
    return p


def test_atomic_writers_name_the_file_in_the_way(keep: Path) -> None:
    tree = {"a.yaml": "x: 1\n"}
    for write in (
        lambda: atomic_write(keep / "o.yaml", "x: 1\n"),
        lambda: replace_folder(keep / "d" / "m", tree, foreign=lambda d: []),
    ):
        with pytest.raises(InputError) as exc:
            write()
        assert f"{keep} is a file, not a folder" in str(exc.value)
    with pytest.raises(InputError) as exc:
        check_writable(keep / "sub" / "o.yaml")
    assert "is a file, not a folder" in str(exc.value)
    assert keep.read_text() == "mine: 1\n"
    assert sorted(p.name for p in keep.parent.iterdir()) == ["keep.yaml"]  # no probe or temp file left


def test_check_writable_refuses_a_folder_and_proc(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        check_writable(tmp_path)
    with pytest.raises(InputError, match="cannot write here"):
        check_writable("/proc/nope/o.yaml")
    check_writable(tmp_path / "new" / "deeper" / "o.yaml")  # missing folders are fine (created on write)
    assert not (tmp_path / "new").exists()


def _argv(command: str, target: str, manifest: Path) -> list[str]:
    return {
        "check": ["check", str(manifest), "--output", target],
        "profile llm": ["profile", "llm", "llama-3.1-8b", "--accelerators", "L4", "--gpus", "1", "--concurrency", "1", "--out", target],
        # port 9 answers nothing: exit 5 if the queries ran before the path was checked
        "observe": ["observe", "--prometheus", "http://127.0.0.1:9", "--plan", str(PLAN), "--end", "2026-01-15T00:00:00Z", "--out", target],
    }[command]


@pytest.mark.parametrize("command", ["check", "profile llm", "observe"])
def test_unwritable_out_is_exit_3_with_the_path(cli, keep: Path, command: str) -> None:
    manifest = keep.parent / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\ndata:\n  k: v\n")
    # an existing folder given as the output file said "Is a directory (choose a writable folder
    # you own (not /proc, ...))" on profile llm (new-user trial, 2026-12-05)
    folder = (str(keep.parent), "folder")
    for target, says in ((str(keep / "o.yaml"), f"{keep} is a file, not a folder"), ("/proc/nope/o.yaml", "cannot write here"), folder):
        t0 = time.monotonic()
        res = cli(_argv(command, target, manifest), exit_code=3)
        assert says in res.stderr and "internal error" not in res.stderr, res.stderr
        assert "not /proc" not in res.stderr or target.startswith("/proc"), res.stderr
        assert keep.read_text() == "mine: 1\n"
        if command == "observe":
            assert "127.0.0.1:9" not in res.stderr and time.monotonic() - t0 < 30  # refused before any query


ROOT_EXAMPLE = ROOT / "examples" / "vision-daily"
MELANGE = ROOT / "tests" / "data" / "melange" / "example.json"


def _writes(command: str, target: Path, manifest: Path) -> list[str]:
    """The command line of each command that writes a file or folder to ``target``."""
    return {
        "check --output": ["check", str(manifest), "--output", str(target)],
        "profile llm": _argv("profile llm", str(target), manifest),
        "render": ["render", str(ROOT_EXAMPLE / "plan.yaml"), "--out", str(target)],
        "optimize": ["optimize", str(ROOT_EXAMPLE / "spec.yaml"), "--out", str(target), "--no-alternatives"],
        "import melange": ["import", "melange", str(MELANGE), "--out", str(target)],
        "profile --emit-jobs": [
            "profile", "pkg.models:factory", "--emit-jobs", str(target), "--accelerators", "L4",
            "--image", "ghcr.io/me/model:1", "--batch-sizes", "1", "--input-shape", "3x8x8",
        ],
    }[command]


@pytest.mark.parametrize(
    "command",
    ["check --output", "profile llm", "render", "optimize", "import melange", "profile --emit-jobs"],
)
def test_missing_parent_folders_are_created(cli, tmp_path: Path, command: str) -> None:
    """One rule for an output under folders that do not exist yet: every command creates them
    (observe too: below, and tests/test_observe.py with a Prometheus)."""
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: default\ndata:\n  k: v\n")
    target = tmp_path / "new" / "deeper" / "out"
    cli(_writes(command, target, manifest))
    assert target.exists()


def test_observe_takes_missing_parent_folders_as_the_others_do(cli, tmp_path: Path) -> None:
    """observe --out a/b/c.yaml is not refused for its missing folders (the queries run: port 9
    answers nothing, exit 5), and a run that fails creates none of them."""
    target = tmp_path / "new" / "deeper" / "observed.yaml"
    res = cli(_argv("observe", str(target), tmp_path / "unused.yaml"), exit_code=5)
    assert "127.0.0.1:9" in res.stderr, res.stderr
    assert not (tmp_path / "new").exists()


FILE_NAMES = {"check": "check.txt", "profile llm": "profile.yaml", "observe": "observed.yaml"}


@pytest.mark.parametrize("command", list(FILE_NAMES))
def test_a_folder_as_the_output_file_is_named_as_such(cli, tmp_path: Path, command: str) -> None:
    """``check --output reports/`` (a folder where a file goes) said "cannot write here: Is a
    directory (choose a writable folder you own ...)", and profile's hint named observe's file:
    every file output now says the folder is not a file, with a file name fitting the command."""
    manifest = tmp_path / "cm.yaml"
    manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n")
    folder = tmp_path / "reports"
    folder.mkdir()
    res = cli(_argv(command, str(folder), manifest), exit_code=3)
    says = f"{folder}: is a folder, expected a file path"
    assert f"{says} (give a file path such as {folder / FILE_NAMES[command]})" in res.stderr
    assert list(folder.iterdir()) == []


def test_a_folder_that_cannot_be_written_keeps_the_real_reason(tmp_path: Path) -> None:
    """A writer that fails inside an existing --out folder (read-only mount, no permission)
    reports that reason; 'is a folder, expected a file path' (the words of every command's
    check of an output file, yamlio.folder_not_file) only answers EISDIR (a file path that
    names an existing folder). Found in review: every failure to write into an --out folder
    read 'it is a folder, not a file' after 03852d1."""
    import errno

    from scaleplan.yamlio import cannot_write_error

    ro = cannot_write_error(tmp_path, OSError(errno.EROFS, "Read-only file system"))
    assert "Read-only file system" in str(ro) and "is a folder" not in str(ro)
    denied = cannot_write_error(tmp_path, PermissionError(errno.EACCES, "Permission denied"))
    assert "Permission denied" in str(denied) and "is a folder" not in str(denied)
    isdir = cannot_write_error(tmp_path, IsADirectoryError(errno.EISDIR, "Is a directory"))
    assert f"{tmp_path}: is a folder, expected a file path" in str(isdir)


def _two_specs_one_folder(tmp_path: Path) -> Path:
    """examples/llm-chat copied into ``tmp_path``, and ``tmp_path/out/plan.yaml`` written by
    another service (a plan's header is all the check reads)."""
    import shutil

    for name in ("spec.yaml", "profile.yaml"):
        shutil.copy(ROOT / "examples" / "llm-chat" / name, tmp_path / name)
    (tmp_path / "out" / "manifests").mkdir(parents=True)
    other = "apiVersion: scaleplan/v1\nkind: Plan\nmetadata:\n  name: rag70b\n"
    (tmp_path / "out" / "plan.yaml").write_text(other)
    return tmp_path / "spec.yaml"


def test_default_out_of_another_service_is_refused_before_solving(cli, tmp_path: Path) -> None:
    """UX review 3, #8: two specs in one folder both wrote the default out/, and the second
    silently replaced the first service's plan and manifests."""
    spec = _two_specs_one_folder(tmp_path)
    before = (tmp_path / "out" / "plan.yaml").read_text()
    r = cli(["optimize", str(spec), "--no-alternatives"], exit_code=3)
    out = tmp_path / "out"
    want = f"error: {out / 'plan.yaml'}: metadata.name: the default output folder {out} holds"
    assert f"{want} the plan of service 'rag70b', not 'chat'" in r.stderr, r.stderr
    assert f"--out {tmp_path / 'out-chat'}" in r.stderr and "--force" in r.stderr
    assert (out / "plan.yaml").read_text() == before and not any((out / "manifests").iterdir())


def test_default_out_same_service_or_forced_or_given_is_allowed(tmp_path: Path) -> None:
    from scaleplan.inputs import optimize_inputs

    spec = _two_specs_one_folder(tmp_path)
    with pytest.raises(InputError, match="holds the plan of service 'rag70b'"):
        optimize_inputs(str(spec), None, [], None, None)
    optimize_inputs(str(spec), None, [], None, None, force=True)
    optimize_inputs(str(spec), None, [], None, str(tmp_path / "out"))  # --out: the user's choice
    plan = tmp_path / "out" / "plan.yaml"
    plan.write_text(plan.read_text().replace("rag70b", "chat"))  # a re-plan of the same service
    optimize_inputs(str(spec), None, [], None, None)
    plan.write_text("not: [a plan\n")  # unreadable: optimize warns that its changes are not shown
    optimize_inputs(str(spec), None, [], None, None)


def test_optimize_inputs_needs_a_spec_or_melange_not_both(tmp_path: Path) -> None:
    """A usage error (exit 2) before --out or any file is read."""
    from scaleplan.errors import OptionError
    from scaleplan.inputs import optimize_inputs

    for spec, melange in ((None, None), ("spec.yaml", "config.json")):
        with pytest.raises(OptionError) as err:
            optimize_inputs(spec, melange, [], None, "")
        assert err.value.option == "SPEC" and "one of them" in err.value.message
