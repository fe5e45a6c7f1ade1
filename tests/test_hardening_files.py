"""Issue 19, groups 6 and 9: no blocking reads from FIFOs or devices; odd paths (symlink
loops, NUL bytes, 5,000-character names, read-only or /proc outputs) are bad input, exit 3,
never exit 70 or a hang (docs/hardening.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hardening_helpers import EXAMPLE, assert_exit, edit, example_copy, run


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    f = tmp_path / "pipe.yaml"
    os.mkfifo(f)
    return f


def test_check_does_not_block_on_a_fifo(fifo: Path) -> None:
    r = run(["check", str(fifo)], timeout=60)
    assert_exit(r, 3)
    assert "not a regular file" in r.stderr


def test_validate_does_not_block_on_a_fifo_profile(tmp_path: Path, fifo: Path) -> None:
    spec = example_copy(tmp_path)
    edit(spec, "profile: profile.yaml", f"profile: {fifo.name}")
    r = run(["validate", str(spec)], timeout=60)
    assert_exit(r, 3)
    assert "not a regular file" in r.stderr


def test_profile_payload_does_not_block_on_a_fifo(tmp_path: Path, fifo: Path) -> None:
    r = run(["profile", "http://127.0.0.1:9/", "--payload", str(fifo), "--out", str(tmp_path / "p.yaml")], timeout=60)
    assert_exit(r, 3)
    assert "not a regular file" in r.stderr


@pytest.mark.parametrize("kind", ["loop", "nul", "long"])
def test_odd_profile_paths_are_bad_input(tmp_path: Path, cli, kind: str) -> None:
    """A symlink loop, a NUL byte or a 5,000-character profile path gave exit 70."""
    spec = example_copy(tmp_path)
    if kind == "loop":
        os.symlink("b.yaml", tmp_path / "a.yaml")
        os.symlink("a.yaml", tmp_path / "b.yaml")
        ref = "a.yaml"
    elif kind == "nul":
        ref = '"p\\0rofile.yaml"'
    else:
        ref = "x" * 5000 + ".yaml"
    edit(spec, "profile: profile.yaml", f"profile: {ref}")
    for cmd in (["validate", str(spec)], ["optimize", str(spec), "--out", str(tmp_path / "out")]):
        r = cli(cmd, exit_code=3)
        assert "model.profile" in r.stderr or "profile" in r.stderr


def test_check_symlink_loop_is_bad_input(tmp_path: Path, cli) -> None:
    os.symlink("b.yaml", tmp_path / "a.yaml")
    os.symlink("a.yaml", tmp_path / "b.yaml")
    cli(["check", str(tmp_path / "a.yaml")], exit_code=3)


@pytest.mark.parametrize("where", ["proc", "readonly"])
def test_unwritable_output_paths_are_bad_input(tmp_path: Path, cli, where: str) -> None:
    """Read-only or /proc output paths gave exit 70."""
    if where == "proc":
        out = Path("/proc/self/scaleplan-out")
    else:
        if os.geteuid() == 0:
            pytest.skip("root writes into read-only folders")
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        out = ro / "out"
    r = cli(["render", str(EXAMPLE / "plan.yaml"), "--out", str(out)], exit_code=3)
    assert "cannot write" in r.stderr
    spec = example_copy(tmp_path)
    cli(["optimize", str(spec), "--out", str(out), "--no-alternatives"], exit_code=3)


@pytest.mark.parametrize("cut", ["replicas", "demand"])
def test_a_short_per_window_list_is_refused_by_every_reader(tmp_path: Path, cli, cut: str) -> None:
    """A hand-edited plan whose replicas_per_window (or demand.rps) is shorter than
    demand.windows was rendered with the peak count in the missing hours and simulated with a
    different message per command; the plan model now refuses it once, naming the field and
    its line, and nothing is written."""
    import yaml

    src = Path(__file__).parent.parent / "examples" / "vision-daily" / "plan.yaml"
    doc = yaml.safe_load(src.read_text())
    if cut == "replicas":
        first = doc["allocations"][0]
        first["replicas_per_window"] = first["replicas_per_window"][:20]
        field = "allocations.0.replicas_per_window"
    else:
        doc["demand"]["rps"] = doc["demand"]["rps"][:20]
        field = "demand.rps"
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "out"
    readers = (["render", str(plan), "--out", str(out)], ["simulate", str(plan)],
               ["diff", str(src), str(plan)])
    for args in readers:
        r = cli(args, exit_code=3)
        said = r.stderr
        assert field in said and "20 " in said and "demand.windows is 24" in said, said
        assert f"{plan}:" in r.stderr, r.stderr
    assert not out.exists()
