"""scaleplan diff says why a plan changed: the inputs whose hashes moved (an Observed file added,
a profile edited) and the warning lines added or removed (a calibration), in text and --json.

Real parts: the plans come from ``scaleplan optimize`` (the real solver); the re-plan reads an
Observed file that ``scaleplan observe`` wrote from a REAL Prometheus (UX review 13, F6).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from observe_helpers import binaries, create_blocks, history, prometheus_server

DATA = Path(__file__).parent / "data" / "observe"
END = "2026-01-15T00:00:00Z"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from typer.testing import CliRunner

    from scaleplan.cli import app

    d = tmp_path_factory.mktemp("svc")
    for f in ("spec.yaml", "profile.yaml"):
        shutil.copy(DATA / f, d / f)
    args = ["optimize", str(d / "spec.yaml"), "--out", str(d / "out"), "--no-alternatives"]
    r = CliRunner().invoke(app, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return d / "out" / "plan.yaml"


@pytest.fixture(scope="module")
def prom(tmp_path_factory: pytest.TempPathFactory, running: Path) -> Iterator[str]:
    if binaries() is None:
        pytest.skip("prometheus/promtool not installed (Debian package 'prometheus')")
    reps = yaml.safe_load(running.read_text())["allocations"][0]["replicas_per_window"]
    d = tmp_path_factory.mktemp("prom")
    history(d / "om", namespace="search", service="ranker", replicas=[reps[0]] * 24,
            capacity=105.0, slo_s=0.25, scale=1.05)
    create_blocks(d / "om", d / "tsdb")
    with prometheus_server(d / "tsdb", d) as url:
        yield url


def test_diff_says_observed_input_and_calibration_warning(cli, prom, running, tmp_path) -> None:
    obs = tmp_path / "observed.yaml"
    cli(["observe", "--prometheus", prom, "--plan", str(running), "--end", END, "--out", str(obs)])
    spec = running.parent.parent / "spec.yaml"
    new = tmp_path / "new" / "plan.yaml"
    cli(["optimize", str(spec), "--observed", str(obs), "--out", str(new.parent),
         "--no-alternatives"])
    old_doc, new_doc = yaml.safe_load(running.read_text()), yaml.safe_load(new.read_text())
    added = [w for w in new_doc["warnings"] if w not in old_doc["warnings"]]
    calib = next(w for w in added if w.startswith("capacity: profile throughput L4 x0.8"))

    text = cli(["diff", str(running), str(new)]).stdout
    lines = text.splitlines()
    # 80 columns, a path (never broken) aside
    assert all(len(x) <= 80 for x in lines[1:] if "/tmp/" not in x), text
    assert "  ~ inputs" in lines
    obs_hash = new_doc["metadata"]["inputs"]["observed"]
    assert f"      observed: added (sha256 {obs_hash[:12]})" in lines
    assert not any(x.strip().startswith(("profile:", "spec:")) for x in lines)  # unchanged
    assert "  ~ warnings" in lines
    joined = " ".join(x.strip() for x in text[text.index("  ~ warnings"):].splitlines())
    assert "+ " + calib in joined
    assert lines.index("  ~ inputs") < lines.index("  ~ warnings") < next(
        i for i, x in enumerate(lines) if x.startswith("cost: "))

    j = json.loads(cli(["diff", str(running), str(new), "--json"]).stdout)
    assert j["inputs"] == [{"field": "observed", "before": None, "after": obs_hash}]
    assert calib in j["warnings"]["added"]
    assert set(j["warnings"]["added"]) == set(added)
    gone = [w for w in old_doc["warnings"] if w not in new_doc["warnings"]]
    assert j["warnings"]["removed"] == gone
    # the keys scripts read are all still there
    assert {"changed", "summary", "cost_per_hour", "cost_per_month", "status", "allocations",
            "unchanged", "spec", "before", "after"} <= j.keys()


def test_diff_names_a_changed_profile_and_same_plan_inputs(cli, running, tmp_path) -> None:
    """A profile edited (a comment only: the plan's answer is the same) is an input change;
    the text still says the plan is the same, then why the hashes differ."""
    d = tmp_path / "svc"
    d.mkdir()
    shutil.copy(running.parent.parent / "spec.yaml", d / "spec.yaml")
    prof = (running.parent.parent / "profile.yaml").read_text()
    (d / "profile.yaml").write_text(prof + "\n# re-measured on the same hardware\n")
    cli(["optimize", str(d / "spec.yaml"), "--out", str(d / "out"), "--no-alternatives"])
    new = d / "out" / "plan.yaml"
    a = yaml.safe_load(running.read_text())["metadata"]["inputs"]
    b = yaml.safe_load(new.read_text())["metadata"]["inputs"]
    assert a["profile"] != b["profile"] and a["spec"] == b["spec"]
    lines = cli(["diff", str(running), str(new)]).stdout.splitlines()
    assert "No changes: the plan is the same as before." in lines
    assert f"      profile: {a['profile'][:12]} -> {b['profile'][:12]}" in lines
    assert "  ~ warnings" not in lines
    j = json.loads(cli(["diff", str(running), str(new), "--json"]).stdout)
    assert j["changed"] is False  # the plan's answer: unchanged, as before
    assert j["inputs"] == [{"field": "profile", "before": a["profile"], "after": b["profile"]}]
    assert j["warnings"] == {"added": [], "removed": []}
    # the same plan against itself: nothing at all
    same = cli(["diff", str(running), str(running)]).stdout.splitlines()
    assert same[1:] == ["No changes: the plan is the same as before."]


EXAMPLES = Path(__file__).parent.parent / "examples"


def test_diff_of_two_services_says_so_and_exit_code_fails_on_a_change(cli) -> None:
    """UX trial 31 F2: a diff of llama70b's plan against qwen-moe's read "1 to add, 2 to
    remove", -64.6 %, the names only under `~ spec`; and CI had no exit code for "changed"
    (exit 0 either way). Now a warning names both services, and --exit-code exits 1 on a
    change (JSON still on stdout), 0 on none."""
    dirs = ("llm-chat", "llm-chat-pool", "llm-moe")
    chat, pool, moe = (str(EXAMPLES / d / "plan.yaml") for d in dirs)
    r = cli(["diff", chat, moe])
    said = " ".join(r.stderr.split())
    assert "the plans are of different services" in said
    assert "'chat'" in said and "'moe-chat'" in said
    assert "different services" not in cli(["diff", chat, pool]).stderr  # one service, re-planned
    assert "different services" in cli(["diff", chat, moe, "--json"]).stderr
    cli(["diff", chat, chat, "--exit-code"], exit_code=0)
    cli(["diff", chat, pool, "--exit-code"], exit_code=1)
    j = json.loads(cli(["diff", chat, pool, "--exit-code", "--json"], exit_code=1).stdout)
    assert j["changed"] is True and "error" not in j
