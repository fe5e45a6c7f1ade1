"""Profiler CLI: usage, bad targets and devices (exit 3/5, no traceback), Ctrl-C keeps the points."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from profile_helpers import ROOT, validate_profile_file, write_numpy_factory
from signal_helpers import sigint_default


def test_help_lists_both_usages(cli) -> None:
    r = cli(["profile", "--help"])
    assert "TARGET [OPTIONS]" in r.stdout
    for sub in ("estimate", "merge", "import", "run"):
        assert sub in r.stdout


def test_factory_that_raises(tmp_path: Path, cli) -> None:
    write_numpy_factory(tmp_path / "m.py")
    r = cli(["profile", f"{tmp_path / 'm.py'}:raises", "--device", "cpu"], exit_code=3)
    assert "factory raised RuntimeError: weights not found" in r.stderr and "Traceback" not in r.stderr


def test_factory_wrong_return(tmp_path: Path, cli) -> None:
    write_numpy_factory(tmp_path / "m.py")
    r = cli(["profile", f"{tmp_path / 'm.py'}:wrong", "--device", "cpu"], exit_code=3)
    assert "expected a torch.nn.Module or a pair (fn, make_batch)" in r.stderr


def test_missing_targets(tmp_path: Path, cli) -> None:
    for target, words in (
        (str(tmp_path / "nope.py") + ":factory", "file not found"),
        ("no_such_module_xyz:factory", "module 'no_such_module_xyz' not found"),
        (str(tmp_path / "nope.onnx"), "ONNX file not found"),
        (str(tmp_path / "nope.pt"), "model file not found"),
        ("justaword", "not a factory"),
    ):
        r = cli(["profile", target, "--device", "cpu"], exit_code=3)
        assert words in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    write_numpy_factory(tmp_path / "m.py")
    r = cli(["profile", f"{tmp_path / 'm.py'}:nothere", "--device", "cpu"], exit_code=3)
    assert "has no attribute 'nothere'" in r.stderr and "factory" in r.stderr
    # UX trial 24 F7: what the module imports (typing.Any) was listed beside the factory
    (tmp_path / "t.py").write_text("from typing import Any\n\ndef factory() -> Any:\n    pass\n")
    r = cli(["profile", f"{tmp_path / 't.py'}:factroy", "--device", "cpu"], exit_code=3)
    said = " ".join(r.stderr.split())
    assert "did you mean 'factory'? callables defined there: factory" in said, said
    assert "Any" not in said


def test_corrupt_onnx_file(tmp_path: Path, cli) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    r = cli(["profile", str(bad), "--device", "cpu"], exit_code=3)
    assert "onnxruntime cannot load it" in r.stderr


def test_cuda_without_gpu_exits_5(tmp_path: Path, cli) -> None:
    from scaleplan.profile.devices import enumerate_cuda

    assert enumerate_cuda() == []  # no GPU on this machine: enumeration finds nothing
    target = write_numpy_factory(tmp_path / "m.py")
    for dev in ("cuda", "cuda:1"):
        r = cli(["profile", target, "--device", dev], exit_code=5)
        assert "no CUDA device available" in r.stderr
    r = cli(["profile", target, "--device", "tpu"], exit_code=2)  # a bad option value: usage
    assert "Invalid value for --device: bad device 'tpu'" in " ".join(r.stderr.split())


def test_bad_options(tmp_path: Path, cli) -> None:
    target = write_numpy_factory(tmp_path / "m.py")
    cli(["profile", target, "--batch-sizes", "1,x"], exit_code=2)
    cli(["profile", target, "--batch-sizes", "0"], exit_code=2)
    r = cli(["profile", target, "--input-shape", "3xQ", "--device", "cpu"], exit_code=2)
    assert "Invalid value for --input-shape: '3xQ'" in " ".join(r.stderr.split())


_PARKED_FACTORY = """\
import os
import time

import numpy as np


def factory():
    w = np.random.default_rng(0).standard_normal((128, 128)).astype('float32')
    def fn(x):
        if x.shape[0] == 4:  # batch 4's first call: batches 1 and 2 are measured and written
            open(os.environ['PARKED_AT'], 'w').close()
            time.sleep(600)  # parked here until the test's Ctrl-C
        return np.tanh(x @ w) @ w
    def make_batch(bs):
        return (np.ones((bs, 128), dtype='float32'),)
    return fn, make_batch
"""


def _profile_then_ctrl_c(tmp_path: Path, out: Path) -> tuple[int, str]:
    """Profile a real model in a real subprocess and send it a real SIGINT while it is parked
    in batch 4's first call, once batches 1 and 2 are measured and checkpointed: its exit code
    and stderr. The test sent the signal when it read 'measured cpu batch 2' and the sweep went
    on meanwhile (under load the points measured by then varied, a flaky test); the model now
    waits for the signal at a known point, so the profile holds exactly batches 1 and 2."""
    (tmp_path / "m.py").write_text(_PARKED_FACTORY, encoding="utf-8")
    parked = tmp_path / "parked"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "PARKED_AT": str(parked)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "scaleplan", "profile", f"{tmp_path / 'm.py'}:factory", "--device", "cpu", "--batch-sizes", "1,2,4,8", "--time-budget", "0.5", "--min-span", "0", "--out", str(out)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        preexec_fn=sigint_default,
    )
    deadline = time.monotonic() + 300
    while not parked.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if not parked.exists():
        proc.kill()
        _, err = proc.communicate(timeout=60)
        raise AssertionError(f"the profile never reached batch 4 (exit {proc.returncode}):\n{err}")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def test_ctrl_c_keeps_measured_points(tmp_path: Path) -> None:
    """A real SIGINT to a real subprocess: the points measured so far are on disk, valid."""
    out = tmp_path / "partial.yaml"
    code, err = _profile_then_ctrl_c(tmp_path, out)
    assert code == 130, err
    data = validate_profile_file(out)
    assert [m["batch_size"] for m in data["measurements"]] == [1, 2]
    assert "measured cpu batch 2" in err and "interrupted" in err
    assert not list(tmp_path.glob(".partial.yaml.*"))  # no temporary file left behind


def test_ctrl_c_never_replaces_a_finished_profile(tmp_path: Path) -> None:
    """An interrupted `profile --out old.yaml` replaced a 9-point profile with 1 point (issue 19):
    the finished file stays byte for byte; the points measured go to old.yaml.partial."""
    out = tmp_path / "old.yaml"
    out.write_text("# a finished profile the user keeps\n", encoding="utf-8")
    code, err = _profile_then_ctrl_c(tmp_path, out)
    assert code == 130, err
    assert out.read_text(encoding="utf-8") == "# a finished profile the user keeps\n"
    data = validate_profile_file(tmp_path / "old.yaml.partial")
    assert [m["batch_size"] for m in data["measurements"]] == [1, 2]
    assert "old.yaml is unchanged" in err


def test_written_profile_is_deterministic_yaml(tmp_path: Path, cli) -> None:
    target = write_numpy_factory(tmp_path / "m.py")
    out = tmp_path / "p.yaml"
    cli(["profile", target, "--device", "cpu", "--batch-sizes", "1", "--time-budget", "0.1", "--min-samples", "3", "--out", str(out)])
    text = out.read_text()
    assert text.startswith("apiVersion: scaleplan/v1\nkind: Profile\n")
    assert yaml.safe_load(text)["metadata"]["devices"][0]["device"] == "cpu"


def test_unwritable_out_is_refused_before_measuring(tmp_path: Path, cli) -> None:
    """`profile --out afile/p.yaml` measured a point and only then exited 3, naming
    afile/p.yaml.partial (new-user trial of issue 19): the path is checked first."""
    target = write_numpy_factory(tmp_path / "m.py")
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    out = tmp_path / "afile" / "p.yaml"
    r = cli(["profile", target, "--device", "cpu", "--batch-sizes", "1", "--time-budget", "0.1", "--out", str(out)], exit_code=3)
    assert "is a file, not a folder" in r.stderr and ".partial" not in r.stderr
    assert "measured cpu batch" not in r.stderr


@pytest.mark.parametrize(("typed", "meant"), [("lm", "llm"), ("estimat", "estimate")])
def test_a_misspelt_profile_command_gets_a_did_you_mean(cli, typed: str, meant: str) -> None:
    """'scaleplan profile lm llama-3.1-8b' was run as 'profile run lm ...': 'Got unexpected
    extra argument(s) (llama-3.1-8b)' under run's usage (new-user trial, 2026-12-05). A bare
    word close to a command is a misspelt command (exit 2, did you mean), as at the top level;
    the usage names llm too."""
    r = cli(["profile", typed, "llama-3.1-8b"], exit_code=2)
    assert f"No such command '{typed}'. Did you mean '{meant}'?" in r.stderr, r.stderr
    assert "llm|estimate|merge|import" in r.stderr


def test_onnx_on_cuda_without_torch_says_torch_finds_the_gpus(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pip install '.[onnx]'` has no torch; `--device cuda` said only 'torch is not installed'
    and hinted 'a CUDA build of torch' as if the target were a torch model."""
    import sys

    model = tmp_path / "m.onnx"
    model.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch were not installed
    out = str(tmp_path / "p.yaml")
    r = cli(["profile", str(model), "--device", "cuda", "--out", out], exit_code=5)
    text = " ".join(r.stderr.split())
    assert "scaleplan finds and names GPUs through torch (for .onnx targets too)" in text, text
    assert "pip install torch (a CUDA build) beside onnxruntime-gpu" in text


def test_factory_missing_module_says_install_it(tmp_path: Path, cli) -> None:
    """UX review 6, #3: a factory importing a module that is not installed (the MiniLM example
    without `.[examples]`) got "hint: fix the factory; it must take no arguments ...": the
    factory was right, the package was missing. Also for a file whose top-level import fails."""
    (tmp_path / "m.py").write_text(
        "def factory():\n    import no_such_pkg_xyz.sub\n    return None\n"
    )
    r = cli(["profile", f"{tmp_path / 'm.py'}:factory", "--device", "cpu"], exit_code=3)
    said = " ".join(r.stderr.split())
    assert "ModuleNotFoundError: No module named 'no_such_pkg_xyz'" in said
    assert "install the package that provides the module 'no_such_pkg_xyz'" in said
    assert "fix the factory" not in said
    (tmp_path / "t.py").write_text("import no_such_pkg_xyz\n\ndef factory():\n    return None\n")
    r = cli(["profile", f"{tmp_path / 't.py'}:factory", "--device", "cpu"], exit_code=3)
    said = " ".join(r.stderr.split())
    assert "install the package that provides the module 'no_such_pkg_xyz'" in said, said
    assert "fix the module" not in said


QUICK_CPU = [
    "--device", "cpu", "--threads", "1", "--batch-sizes", "1", "--time-budget", "0.3",
    "--min-span", "0.1",
]


def test_merge_refuses_profiles_of_two_models(tmp_path: Path, cli) -> None:
    """Two real CPU profiles of different models (a numpy factory and an ONNX MLP): a merge kept
    the first one's name, target and FLOPs over the other's points (exit 0, one warning); a
    profile holds one model's points, as ``profile import`` already says (exit 3)."""
    from profile_helpers import build_onnx_mlp

    factory = write_numpy_factory(tmp_path / "vision.py")
    onnx = build_onnx_mlp(tmp_path / "text.onnx")
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    cli(["profile", factory, *QUICK_CPU, "--out", str(a)])
    cli(["profile", str(onnx), *QUICK_CPU, "--out", str(b)])
    r = cli(["profile", "merge", str(a), str(b), "--out", str(tmp_path / "m.yaml")], exit_code=3)
    assert "different models" in r.stderr
    assert "a.yaml: vision" in r.stderr and "b.yaml: text" in r.stderr
    assert "--name" in r.stderr and not (tmp_path / "m.yaml").exists()
    # one model profiled under two names (say, a re-export): --name says so, with a warning
    r = cli(["profile", "merge", str(a), str(b), "--name", "both", "--out",
             str(tmp_path / "m.yaml")])
    merged = validate_profile_file(tmp_path / "m.yaml")
    assert merged["metadata"]["model"] == "both" and "different models" in r.stderr



def test_onnx_fixed_shape_refuses_another_input_shape(tmp_path: Path, cli) -> None:
    """The graph fixes the per-sample shape ([N, 32]): ``--input-shape 3x4`` was ignored without
    a word and the profile measured 32 while the user believed 3x4 (exit 2 now); the graph's
    own shape is accepted."""
    from profile_helpers import build_onnx_mlp

    onnx = build_onnx_mlp(tmp_path / "mlp.onnx")
    r = cli(["profile", str(onnx), *QUICK_CPU, "--input-shape", "3x4"], exit_code=2)
    assert "--input-shape" in r.stderr and "'x'" in r.stderr and "32" in r.stderr
    assert "Traceback" not in r.stderr
    out = tmp_path / "p.yaml"
    cli(["profile", str(onnx), *QUICK_CPU, "--input-shape", "32", "--out", str(out)])
    assert validate_profile_file(out)["metadata"]["input_shape"] == "32"


def test_optimize_says_when_the_plan_rests_on_unstable_or_contended_points(
    tmp_path: Path, cli
) -> None:
    """A real CPU profile whose points ran out of budget (0.3 s of windows cannot span the 5 s
    a point needs: ``stable: false``, deterministic on any host): the profile's verdict said
    so, and ``optimize`` planned on it without a word. It now warns, naming the points."""
    target = write_numpy_factory(tmp_path / "m.py")
    prof = tmp_path / "profile.yaml"
    cli(["profile", target, "--device", "cpu", "--threads", "1", "--batch-sizes", "1,4",
         "--time-budget", "0.3", "--out", str(prof)])
    points = validate_profile_file(prof)["measurements"]
    assert all(p["stable"] is False for p in points)
    (tmp_path / "spec.yaml").write_text(
        "apiVersion: scaleplan/v1\nkind: InferenceService\nmetadata: {name: m}\n"
        "model: {profile: profile.yaml}\ntraffic: {peak_rps: 50}\n"
        "slo: {latency_ms: 200, percentile: 95}\n"
        "placement: {regions: [us-east-1], exclude: [c7g*, m7g*, g5g*]}\n"
        "kubernetes: {flavor: eks, image: 'ghcr.io/example/m:1'}\n",
        encoding="utf-8",
    )
    r = cli(["optimize", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "out"),
             "--no-alternatives"])
    said = " ".join(r.stderr.split())
    # contended wins over unstable when the host was busy too: either is named
    assert "profile.yaml" in said and "CPU batch" in said
    assert "unstable (the time budget ran out" in said or "measured on a busy host" in said
    assert "re-measure" in said


def test_a_profile_from_a_newer_scaleplan_says_so(tmp_path: Path, cli) -> None:
    """A real profile as a newer scaleplan would write it (a later version, a key this one does
    not know): the unknown key was named with no word on why, so the user edited the file
    instead of upgrading. The error now says which version wrote it."""
    import yaml

    target = write_numpy_factory(tmp_path / "m.py")
    prof = tmp_path / "p.yaml"
    cli(["profile", target, *QUICK_CPU, "--out", str(prof)])
    doc = yaml.safe_load(prof.read_text())
    doc["metadata"]["scaleplan_version"] = "9.1.0"
    doc["measurements"][0]["power_w"] = 70.0
    prof.write_text(yaml.safe_dump(doc), encoding="utf-8")
    r = cli(["profile", "merge", str(prof), "--out", str(tmp_path / "m.yaml")], exit_code=3)
    said = " ".join(r.stderr.split())
    assert "power_w" in said and "written by scaleplan 9.1.0" in said and "upgrade" in said
    # the same file from this version: no word about versions
    doc["metadata"]["scaleplan_version"] = "0.0.1"
    prof.write_text(yaml.safe_dump(doc), encoding="utf-8")
    r = cli(["profile", "merge", str(prof), "--out", str(tmp_path / "m.yaml")], exit_code=3)
    assert "power_w" in r.stderr and "written by" not in r.stderr


def test_progress_lines_write_rates_whole(tmp_path: Path, cli) -> None:
    """A real numpy model sustains over 10,000 samples/s on any CPU: its progress line said
    '1.166e+04/s' where the table and the verdict say '11,660'."""
    target = write_numpy_factory(tmp_path / "m.py")
    r = cli(["profile", target, *QUICK_CPU, "--out", str(tmp_path / "p.yaml")])
    line = next(x for x in r.stderr.splitlines() if x.startswith("measured cpu batch 1:"))
    assert "e+" not in line and "," in line.split("ms, ")[-1], line


def test_emit_jobs_forwards_options_given_before_the_target(tmp_path: Path, cli) -> None:
    """``profile --batch-sizes 1,4 --time-budget 0.3 m.py:factory --emit-jobs ...``: the Job's
    command dropped the first value after an option as if it were the TARGET
    ('--batch-sizes --time-budget 0.3 m.py:factory'), so the Job failed in the cluster. The
    Job's command, run here with --device cpu for cuda, measures what was asked."""
    import shlex

    import yaml

    target = write_numpy_factory(tmp_path / "m.py")
    jobs = tmp_path / "jobs"
    cli(["profile", "--batch-sizes", "1,4", "--time-budget", "0.3", "--threads", "1", target,
         "--min-span", "0.1", "--emit-jobs", str(jobs), "--accelerators", "L4", "--image", "r/p:1"])
    job = yaml.safe_load((jobs / "profile-l4.yaml").read_text())
    command = job["spec"]["template"]["spec"]["containers"][0]["command"][2].split("; rc=")[0]
    args = shlex.split(command)
    assert args[:3] == ["scaleplan", "profile", target] and args.count(target) == 1
    args[args.index("--device") + 1] = "cpu"
    out = tmp_path / "p.yaml"
    args[args.index("--out") + 1] = str(out)
    cli(args[1:])
    assert [m["batch_size"] for m in validate_profile_file(out)["measurements"]] == [1, 4]


def test_a_strict_job_still_prints_its_profile(tmp_path: Path, cli) -> None:
    """``--strict`` writes the profile either way and exits 5 when a point is unstable; the
    Job's script chained ``profile && echo MARKER && cat``, so a strict Job's log held no
    profile (and the emptyDir went with the pod). The CPU Job's own script, run here with
    sh: 0.3 s cannot span the 5 s a point needs, so it is unstable on any host."""
    import os
    import subprocess
    import sys

    import yaml

    target = write_numpy_factory(tmp_path / "m.py")
    jobs = tmp_path / "jobs"
    cli(["profile", target, "--batch-sizes", "1", "--time-budget", "0.3", "--threads", "1",
         "--strict", "--emit-jobs", str(jobs), "--accelerators", "cpu", "--image", "r/p:1"])
    job = yaml.safe_load((jobs / "profile-cpu.yaml").read_text())
    script = job["spec"]["template"]["spec"]["containers"][0]["command"][2]
    script = script.replace("/tmp/profile-cpu.yaml", str(tmp_path / "p.yaml"))
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 5, done.stderr  # --strict: the Job still fails
    log = done.stdout.split("# --- scaleplan profile result ---\n")
    assert len(log) == 2 and yaml.safe_load(log[1])["kind"] == "Profile"


def test_estimate_refuses_zero_flops_per_sample(tmp_path: Path, cli) -> None:
    """A real ONNX profile has no counted FLOPs; ``--flops-per-sample 0`` was read as none given,
    and the error told the user to pass --flops-per-sample (exit 3). A count of 0 is a bad
    value (exit 2, naming the option); a positive one estimates."""
    from profile_helpers import build_onnx_mlp

    prof = tmp_path / "p.yaml"
    cli(["profile", str(build_onnx_mlp(tmp_path / "m.onnx")), *QUICK_CPU, "--out", str(prof)])
    r = cli(["profile", "estimate", str(prof), "--accelerators", "L4", "--flops-per-sample", "0"],
            exit_code=2)
    assert "--flops-per-sample" in r.stderr and "must be >= 1; got 0" in r.stderr
    # --help states the bound the value is held to (it said x>=0.0 while 0 was refused)
    assert "[x>=1.0]" in cli(["profile", "estimate", "--help"]).stdout
    cli(["profile", "estimate", str(prof), "--accelerators", "L4", "--flops-per-sample", "4096",
         "--out", str(tmp_path / "e.yaml")])
    assert any(m["source"] == "estimated"
               for m in validate_profile_file(tmp_path / "e.yaml")["measurements"])


def test_merged_notes_say_which_file_they_came_from(tmp_path: Path, cli) -> None:
    """The cluster Jobs' profiles all measure on 'cuda:0', so their notes ('cuda:0: batch 8:
    contended ...') merged into one list said nothing of which GPU they were about; nor did a
    replaced point's note. Two real CPU profiles of one model: each carried note names its
    file."""
    target = write_numpy_factory(tmp_path / "m.py")
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    cli(["profile", target, *QUICK_CPU, "--out", str(a)])
    cli(["profile", target, *QUICK_CPU, "--batch-sizes", "4", "--out", str(b)])  # the last wins
    cli(["profile", "merge", str(a), str(b), "--out", str(tmp_path / "m.yaml")])
    notes = validate_profile_file(tmp_path / "m.yaml")["metadata"]["notes"]
    point_notes = [n for n in notes if ": batch " in n]
    assert any(n.startswith("a.yaml: cpu: batch 1:") for n in point_notes), notes
    assert any(n.startswith("b.yaml: cpu: batch 4:") for n in point_notes), notes
    assert all(n.startswith(("a.yaml: ", "b.yaml: ")) for n in point_notes), notes


def test_a_one_window_point_has_no_interval_in_its_notes(tmp_path: Path, cli) -> None:
    """0.3 s of budget holds one 500 ms window: a real point with one window has no interval.
    The verdict says 'CI n/a'; the notes said 'CI +-inf% over 1 windows'."""
    target = write_numpy_factory(tmp_path / "m.py")
    out = tmp_path / "p.yaml"
    cli(["profile", target, *QUICK_CPU, "--out", str(out)])
    data = validate_profile_file(out)
    assert data["measurements"][0]["windows"] == 1
    notes = " ".join(data["metadata"]["notes"])
    assert "unstable" in notes and "inf%" not in notes and "1 windows" not in notes
    assert "no interval (1 window)" in notes
