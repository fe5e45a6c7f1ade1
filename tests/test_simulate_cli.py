"""`scaleplan simulate` end to end (in-process CLI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from simulate_helpers import allocation, make_plan

from scaleplan.plan import dump_plan


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    plan = make_plan(
        [allocation(replicas=(2, 3, 2), batch=4, service_ms=20.0, p50=18.0, p99=40.0), allocation("spot", replicas=(1, 1, 1), capacity_type="spot", zones=("us-east-1b",))],
        rps=(80.0, 200.0, 120.0),
    )
    p = tmp_path / "plan.yaml"
    p.write_text(dump_plan(plan))
    return p


def test_json_is_deterministic_and_only_json(cli, plan_file: Path) -> None:
    args = ["simulate", str(plan_file), "--duration", "20", "--seed", "3", "--fail", "node", "--json"]
    one = cli(args)
    two = cli(args)
    assert one.stdout == two.stdout
    data = json.loads(one.stdout)
    assert data["ok"] is True and data["requests"] > 0
    assert data["failure"]["mode"] == "node" and data["failure"]["redundancy"] == "n+1"
    assert [w["window"] for w in data["windows"]] == [0, 1, 2]
    assert {a["name"] for a in data["allocations"]} == {"svc-g6-xlarge-od", "spot"}


def test_human_output_png_and_policies(cli, plan_file: Path, tmp_path: Path) -> None:
    png = tmp_path / "out" / "sim.png"
    res = cli(["simulate", str(plan_file), "--duration", "10", "--policy", "least-outstanding", "--windows", "peak", "--png", str(png)])
    assert "attainment" in res.stdout and "holds" in res.stdout
    assert "Per window" in res.stdout and "Over the day" in res.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = cli(["simulate", str(plan_file), "--duration", "10", "--windows", "0-1", "--policy", "round-robin", "--arrivals", "bursty", "--json"])
    assert json.loads(res.stdout)["windows_simulated"] == [0, 1]


def test_exit_1_when_the_plan_misses(cli, tmp_path: Path) -> None:
    p = tmp_path / "tight.yaml"
    p.write_text(dump_plan(make_plan([allocation(replicas=(2,), service_ms=10.0)], rps=(150.0,), slo_ms=60.0)))
    res = cli(["simulate", str(p), "--duration", "20", "--fail", "node", "--fail-at", "2", "--json"], exit_code=1)
    assert json.loads(res.stdout)["failure"]["holds"] is False
    res = cli(["simulate", str(p), "--duration", "20", "--replica-delta", "-1"], exit_code=1)
    assert "FAILS" in res.stdout


def test_trace_file(cli, tmp_path: Path) -> None:
    p = tmp_path / "plan.yaml"
    p.write_text(dump_plan(make_plan([allocation(replicas=(1,), service_ms=10.0)], rps=(20.0,))))
    t = tmp_path / "trace.txt"
    t.write_text("\n".join(str(i * 0.05) for i in range(400)) + "\n")
    data = json.loads(cli(["simulate", str(p), "--trace", str(t), "--json"]).stdout)
    assert data["requests"] == 400 and data["arrivals"].startswith("trace:")


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--policy", "random"], 2, "--policy"),
        (["--fail", "rack"], 2, "--fail"),
        (["--arrivals", "trace"], 2, "--trace"),
        (["--arrivals", "uniform"], 2, "--arrivals"),
        (["--duration", "0"], 2, "--duration"),
        (["--fixed-fraction", "2"], 2, "--fixed-fraction"),
        (["--windows", "7-9"], 2, "outside"),
        (["--windows", "x"], 2, "cannot read"),
        (["--windows", "99"], 2, "selects windows outside 0..2 (the plan has 3 windows)"),
        (["--fail", "node", "--fail-at", "1e9"], 2, "Invalid value for --fail-at: must be in [0, "),
        (["--fail", "node", "--fail-at", "-1"], 2, "seconds of simulated time; got -1"),
        (["--fail", "node", "--fail-at", "nan"], 2, "--fail-at: nan is not a number of seconds"),
        (["--trace", "/nonexistent/trace.txt"], 3, "trace not found"),
    ],
)
def test_bad_options(cli, plan_file: Path, args: list[str], code: int, words: str) -> None:
    res = cli(["simulate", str(plan_file), *args], exit_code=code)
    assert words in " ".join(res.stderr.split())
    assert "Traceback" not in res.stderr
    assert f"{args[0]}: {args[0]}" not in res.stderr, res.stderr  # the option named once


def test_bad_plans(cli, tmp_path: Path) -> None:
    missing = cli(["simulate", str(tmp_path / "nope.yaml")], exit_code=3)
    assert "not found" in missing.stderr
    garbage = tmp_path / "garbage.yaml"
    garbage.write_text("kind: Plan\nstatus: [\n")
    cli(["simulate", str(garbage)], exit_code=3)
    empty = tmp_path / "empty.yaml"
    empty.write_text(dump_plan(make_plan([])))
    assert "no allocations" in cli(["simulate", str(empty)], exit_code=3).stderr
    infeasible = tmp_path / "inf.yaml"
    infeasible.write_text(dump_plan(make_plan([allocation()], status="infeasible")))
    assert "infeasible" in cli(["simulate", str(infeasible)], exit_code=4).stderr
    bad_trace = tmp_path / "t.txt"
    bad_trace.write_text("1\nfoo\n")
    ok_plan = tmp_path / "ok.yaml"
    ok_plan.write_text(dump_plan(make_plan([allocation()])))
    said = cli(["simulate", str(ok_plan), "--trace", str(bad_trace)], exit_code=3).stderr
    assert "t.txt:2: 'foo' is not a number" in said, said  # the line, named once


def test_help_does_not_import_heavy_modules() -> None:
    import subprocess
    import sys

    code = "import sys; import scaleplan.cli.simulate; print(any(m in sys.modules for m in ('numpy', 'matplotlib', 'pulp', 'torch')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _closed_stdout(*args: str) -> int:
    """``scaleplan ARGS | head -0``: the reader has gone before anything is written."""
    import os
    import subprocess
    import sys

    r, w = os.pipe()
    os.close(r)  # writes to w now fail with EPIPE (BrokenPipeError: Python ignores SIGPIPE)
    try:
        proc = subprocess.run([sys.executable, "-m", "scaleplan", *args], stdout=w, stderr=subprocess.PIPE, timeout=600, check=False)
    finally:
        os.close(w)
    assert b"Traceback" not in proc.stderr, proc.stderr
    return proc.returncode


@pytest.mark.parametrize("as_json", [False, True])
def test_a_closed_stdout_keeps_the_verdicts_exit_code(plan_file: Path, tmp_path: Path, as_json: bool) -> None:
    """``simulate PLAN | head -1`` exited 1 ("the plan does not hold") for a plan that holds:
    rich exits 1 on a broken pipe. The verdict decides: 0 when it holds, 1 when it does not."""
    tight = tmp_path / "tight.yaml"
    tight.write_text(dump_plan(make_plan([allocation(replicas=(2,), service_ms=10.0)], rps=(150.0,), slo_ms=60.0)))
    extra = ["--json"] if as_json else []
    assert _closed_stdout("simulate", str(plan_file), "--duration", "10", *extra) == 0
    assert _closed_stdout("simulate", str(tight), "--duration", "20", "--replica-delta", "-1", *extra) == 1


def test_a_spot_loss_says_whether_the_plan_claims_to_survive_it(cli, tmp_path: Path) -> None:
    """--fail spot ended 'redundancy 'n+1' claim tested', though n+1 claims one node's loss,
    not all spot's (UX review 3, #18): the line says a spot loss was tested and whether
    placement.spot.survive_loss claims it; --json's claim_tested follows."""
    src = Path(__file__).resolve().parents[1] / "examples" / "llm-chat" / "plan.yaml"
    args = ["simulate", "--fail", "spot", "--duration", "600", "--seed", "1"]
    off = cli([*args, str(src)], exit_code=None)
    assert off.exit_code in (0, 1), off.stderr
    said = " ".join(off.stdout.split())
    assert "spot loss tested (placement.spot.survive_loss is off: not claimed)" in said, said
    assert "'n+1' claim tested" not in said
    on = tmp_path / "plan.yaml"
    text = src.read_text()
    spot = "      max_fraction: 0.5\n"
    on.write_text(text.replace(spot, spot + "      survive_loss: true\n", 1))
    res = cli([*args, str(on)], exit_code=None)
    said = " ".join(res.stdout.split())
    assert "spot loss tested (placement.spot.survive_loss claims to survive it)" in said, said
    data = json.loads(cli([*args, str(on), "--json"], exit_code=None).stdout)
    assert data["failure"]["claim_tested"] is True
    data = json.loads(cli([*args, str(src), "--json"], exit_code=None).stdout)
    assert data["failure"]["claim_tested"] is False


def test_a_zone_loss_on_a_plan_without_zones_names_the_spec_change(cli) -> None:
    """`simulate --fail zone` on examples/llm-chat (redundancy n+1, no zones in the plan): the
    hint said optimize writes zones "when the catalog has zones", but it writes them only for
    `placement.redundancy: zone` (scaleplan/solve/assemble.py, _zones): an on-call reading it
    went looking at the catalog (UX review 13, F5)."""
    plan = Path(__file__).resolve().parents[1] / "examples" / "llm-chat" / "plan.yaml"
    r = cli(["simulate", str(plan), "--fail", "zone"], exit_code=3)
    assert "zone loss cannot be placed" in r.stderr
    assert "placement.redundancy: zone" in r.stderr, r.stderr
    assert "when the catalog has zones" not in r.stderr, r.stderr


def test_a_zone_loss_on_a_plan_without_zones_names_the_plan_file(cli) -> None:
    """The refusal names the plan file, as every other refusal of a plan does: stderr's
    ``error: PATH: allocations[].zones: ...`` and the JSON error's ``file`` (it named the plan's
    metadata.name, ``chat``, as if it were a file)."""
    plan = str(Path(__file__).resolve().parents[1] / "examples" / "llm-chat" / "plan.yaml")
    r = cli(["simulate", plan, "--fail", "zone", "--json"], exit_code=3)
    err = json.loads(r.stdout)["error"]
    assert err["file"] == plan and err["problems"][0]["file"] == plan, err
    assert f"error: {plan}: allocations[].zones" in " ".join(r.stderr.split()), r.stderr


def test_replica_types_not_running_in_the_windows_fold_into_one_line(cli) -> None:
    """The request-level view, like the LLM one (UX trial 28, F8): at 10h the embedding example
    runs only g4dn; the CPU types are one line, not rows of 0 requests. The JSON keeps them."""
    plan = str(Path(__file__).resolve().parents[1] / "examples" / "embedding-cpu-gpu" / "plan.yaml")
    out = cli(["simulate", plan, "--windows", "10", "--duration", "5"]).stdout
    table = out[out.index("Per replica type"):out.index("Over the day")]
    assert "embedder-g4dn-xlarge-od" in table
    said = "not running in window 10 (no replica serves there): "
    assert said + "embedder-c7i-large-od, embedder-c7i-xlarge-od" in table
    assert "embedder-c7i-large-od   " not in table
    args = ["simulate", plan, "--windows", "10", "--duration", "5", "--json"]
    data = json.loads(cli(args).stdout)
    names = [x["name"] for x in data["allocations"]]
    assert names == ["embedder-c7i-large-od", "embedder-c7i-xlarge-od", "embedder-g4dn-xlarge-od"]
    assert "not running in" not in cli(["simulate", plan, "--duration", "2"]).stdout
