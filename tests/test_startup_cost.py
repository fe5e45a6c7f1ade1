"""The plan's start-up cost (UX trial 28, F3): what new nodes cost while their pods start,
which ``optimize``'s cost leaves out (:func:`scaleplan.simulate.failures.startup_cost`), and
the warning when the start-ups of a plan's swaps between shapes cost more than the plan saves
against the cheapest single type. Real solver, real catalogs, hand arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from scaleplan.inputs import shipped_accelerators
from scaleplan.plan import read_plan
from scaleplan.simulate.failures import pod_start, startup_cost

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

ROOT = Path(__file__).resolve().parents[1]
SWAPS = ROOT / "tests" / "data" / "specs" / "swap-startups" / "spec.yaml"
EMB = ROOT / "examples" / "embedding-cpu-gpu"
C7I_LARGE, C7I_XLARGE, G4DN = 0.08925, 0.1785, 0.526  # us-east-1 on-demand $/node-hour


def test_the_example_plan_by_hand() -> None:
    """Every rise of nodes, the day taken cyclically (hour 0 follows hour 23), at the node's
    price for 90 + 120 + 120 s (node start, image pull, the spec's startup window)."""
    plan = read_plan(EMB / "plan.yaml")
    assert [pod_start(plan, a, ACCS)[0] for a in plan.allocations] == [330.0] * 3
    # c7i.large 3 2 2 2 2 3 0 ... 1 0 1 0 3: +1 at 5, +1 at 19, +1 at 21, +3 at 23 (0 at 0)
    # c7i.xlarge 0 ... 3 5 0 ... 4 3 2 2 0: +3 at 6, +2 at 7, +4 at 19; g4dn +2 at 8
    per_day = (6 * C7I_LARGE + 9 * C7I_XLARGE + 2 * G4DN) * 330 / 3600
    c = startup_cost(plan, ACCS)
    assert c.per_day == pytest.approx(per_day) and c.per_hour == pytest.approx(per_day / 24)
    # swaps: the changes of hour in which one allocation grows while another shrinks: 6
    # (xlarge +3, large 3 -> 0), 8 (g4dn +2), 19 (large +1, xlarge +4, g4dn 2 -> 0), 21
    # (large +1, xlarge 4 -> 3 -> 2), 23 (large +3); not 5 nor 7, where nothing shrinks
    swaps = (5 * C7I_LARGE + 7 * C7I_XLARGE + 2 * G4DN) * 330 / 3600
    assert c.swaps_per_hour == pytest.approx(swaps / 24)


def _optimize(cli, spec: Path, out: Path, *extra: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    res = cli(["optimize", str(spec), "--out", str(out), "--json", "--no-manifests", *extra])
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def test_swaps_that_cost_more_than_they_save_are_warned(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = _optimize(cli, SWAPS, tmp_path)
    nodes = {a["instance_type"]: a["nodes_per_window"] for a in doc["allocations"]}
    quiet = [0] * 4 + [2] + [0] * 19
    assert nodes == {"c7i.large": quiet, "g4dn.xlarge": [2 - n for n in quiet]}
    # 2 c7i.large nodes start at 04:00, 2 g4dn at 05:00, each 90 + 120 + 3000 s early
    per_day = (2 * C7I_LARGE + 2 * G4DN) * 3210 / 3600
    got = doc["startup_cost"]
    assert got["per_day"] == round(per_day, 2) == 1.10
    assert got["per_hour"] == got["swaps_per_hour"] == round(per_day / 24, 4) == 0.0457
    single = next(b for b in doc["baselines"] if b["name"] == "cheapest-single-type")
    saving = single["cost_per_hour"] - doc["cost_per_hour"]
    assert single["cost_per_hour"] == 2 * G4DN and 0 < saving < per_day / 24
    warning = got["warning"]
    assert f"cost $0.0457/h, more than the ${saving:.4f}/h this plan saves" in warning
    assert "placement.max_instance_types: 1" in warning and "not counted" in warning
    res = cli(["optimize", str(SWAPS), "--out", str(tmp_path), "--no-manifests"])
    assert "  + start-ups, not in the cost: $0.0457/h ($1.10/day)" in res.stdout
    assert "WARNING: swaps of shapes between hours: the new nodes' start-ups" in res.stdout
    # the fix the warning names: one type all day, no swap, no warning
    one = tmp_path / "one.yaml"
    one.write_text(
        SWAPS.read_text().replace("redundancy: n+1", "redundancy: n+1\n  max_instance_types: 1")
        .replace("profile: profile.yaml", f"profile: {SWAPS.parent / 'profile.yaml'}")
    )
    doc = _optimize(cli, one, tmp_path / "one")
    assert [a["instance_type"] for a in doc["allocations"]] == ["g4dn.xlarge"]
    none = {"per_hour": 0.0, "per_day": 0.0, "swaps_per_hour": 0.0, "warning": None}
    assert doc["startup_cost"] == none


def test_swaps_that_save_more_are_not_warned(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = _optimize(cli, EMB / "spec.yaml", tmp_path)
    got = doc["startup_cost"]
    assert got["per_hour"] == 0.0122 and got["warning"] is None  # saves $0.36/h
    res = cli(["optimize", str(EMB / "spec.yaml"), "--out", str(tmp_path), "--no-manifests"])
    assert "  + start-ups, not in the cost: $0.0122/h ($0.29/day)" in res.stdout
    assert "WARNING: swaps" not in res.stdout


def _acme_inputs(tmp: Path) -> tuple[Path, Path]:
    """The swap spec on X48, a GPU of the user's own catalog (``accelerators:`` and one
    us-east-1 row priced as g4dn.xlarge), with the model's weights copied from s3:// and no
    ``model.memory_gib``: render sizes the copy by the GPU's memory (48 GiB: 480 s at
    0.1 GiB/s), which only the user's catalog knows."""
    shipped = yaml.safe_load((ROOT / "catalogs" / "accelerators.yaml").read_text())
    t4 = next(a for a in shipped["accelerators"] if a["name"] == "T4")
    x48 = {k: v for k, v in t4.items() if not k.endswith("_source") and k != "cuda_memory_gib"}
    x48.update(name="X48", aliases=["x48"], memory_gib=48, gpu_product="ACME-X48",
               gke_accelerator="acme-x48", karpenter_gpu_name="x48")
    row = {
        "provider": "aws", "region": "us-east-1", "instance_type": "acme.x48", "family": "acme",
        "accelerator": "X48", "accelerator_count": 1, "accelerator_memory_gib": 48, "vcpus": 4,
        "memory_gib": 16, "cpu_arch": "x86_64", "price_ondemand": G4DN,
    }
    catalog = tmp / "acme.yaml"
    prov = {"source": "acme price list, 2026-12", "build_date": "2026-12-01"}
    doc = {"provenance": prov, "accelerators": [x48], "instances": [row]}
    catalog.write_text(yaml.safe_dump(doc))
    prof = yaml.safe_load((SWAPS.parent / "profile.yaml").read_text())
    t4_points = [m for m in prof["measurements"] if m["accelerator"] == "T4"]
    prof["measurements"] += [{**m, "accelerator": "X48"} for m in t4_points]
    (tmp / "profile.yaml").write_text(yaml.safe_dump(prof, sort_keys=False))
    spec = yaml.safe_load(SWAPS.read_text())
    del spec["model"]["memory_gib"]
    spec["model"]["source"] = "s3://models/embedder"
    spec["placement"]["accelerators"] = ["cpu", "X48"]
    (tmp / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return tmp / "spec.yaml", catalog


def test_a_users_catalog_prices_the_start_ups(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """optimize --catalog: the report's start-up cost (the line under the cost and --json's
    ``startup_cost``) and the changes against the previous plan are priced by the catalog
    optimize solved with. Until 2026-12-07 they read the shipped accelerator table, which
    has no X48: a new X48 pod was sized as a 112 GiB copy (the unknown weights' 100 GiB
    cache), 1,120 s instead of 480 s, and the line said $0.0617/h, not $0.0539/h."""
    spec, catalog = _acme_inputs(tmp_path)
    doc = _optimize(cli, spec, tmp_path / "out", "--catalog", str(catalog))
    nodes = {a["instance_type"]: a["nodes_per_window"] for a in doc["allocations"]}
    quiet = [0] * 4 + [2] + [0] * 19
    assert nodes == {"c7i.large": quiet, "acme.x48": [2 - n for n in quiet]}
    # new pods: node 90 s + image 120 s + the copy (CPU: 112 GiB, unknown weights; X48:
    # 48 GiB) at 0.1 GiB/s + the spec's 3000 s startup window
    per_day = (2 * C7I_LARGE * (210 + 1120 + 3000) + 2 * G4DN * (210 + 480 + 3000)) / 3600
    assert doc["startup_cost"]["per_hour"] == round(per_day / 24, 4) == 0.0539
    res = cli([
        "optimize", str(spec), "--out", str(tmp_path / "out"), "--no-manifests",
        "--catalog", str(catalog),
    ])
    assert f"  + start-ups, not in the cost: $0.0539/h (${per_day:,.2f}/day)" in res.stdout
    # the previous plan in the folder (the same one): both priced by the user's catalog
    doc = _optimize(cli, spec, tmp_path / "out", "--catalog", str(catalog))
    assert doc["changes"]["startup_cost_per_hour"]["before"] == 0.0539


def test_diff_prices_start_ups_by_the_spec_s_catalogs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """scaleplan diff: each plan's start-ups priced by the accelerator table of its spec's
    catalogs found beside it (as render and simulate read them without a --catalog)."""
    spec, catalog = _acme_inputs(tmp_path)
    doc = yaml.safe_load(spec.read_text())
    doc["placement"]["catalogs"] = [catalog.name]
    spec.write_text(yaml.safe_dump(doc, sort_keys=False))
    _optimize(cli, spec, tmp_path / "out")
    plan = str(tmp_path / "out" / "plan.yaml")
    got = json.loads(cli(["diff", plan, plan, "--json"]).stdout)["startup_cost_per_hour"]
    assert got == {"before": 0.0539, "after": 0.0539, "delta": 0.0}


def test_diff_takes_the_catalog_a_plan_was_optimized_with(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A plan made with optimize --catalog: diff found only spec catalogs beside the plans,
    so the start-ups were priced by the shipped table, which has no X48 (a 112 GiB copy:
    $0.0617/h, not $0.0539/h), without a word (r2 review). diff takes --catalog as render
    does, and without it warns which catalog to pass."""
    spec, catalog = _acme_inputs(tmp_path)
    _optimize(cli, spec, tmp_path / "out", "--catalog", str(catalog))
    plan = str(tmp_path / "out" / "plan.yaml")
    given = cli(["diff", plan, plan, "--json", "--catalog", str(catalog)])
    assert json.loads(given.stdout)["startup_cost_per_hour"]["before"] == 0.0539
    assert "warning" not in given.stderr, given.stderr
    bare = cli(["diff", plan, plan, "--json"])
    assert json.loads(bare.stdout)["startup_cost_per_hour"]["before"] == 0.0617
    err = " ".join(bare.stderr.split())
    assert err.count(f"warning: the plan was optimized with {catalog} ") == 1, err
    said = "its accelerators' memory is left out of the start-up costs; pass --catalog"
    assert f"{said} {catalog}" in err, err


def test_simulate_takes_the_catalog_a_plan_was_optimized_with(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """simulate --catalog, as diff and render take it: a plan made with optimize --catalog was
    simulated with the shipped table and the spec's catalogs found beside it, which have no
    X48, so a lost X48 node's replacement copied 112 GiB (1,120 s) for the GPU's 48 GiB
    (480 s), without a word. Without --catalog, a note says which catalog to pass."""
    spec, catalog = _acme_inputs(tmp_path)
    _optimize(cli, spec, tmp_path / "out", "--catalog", str(catalog))
    run = ["simulate", str(tmp_path / "out" / "plan.yaml"), "--fail", "node", "--windows",
           "peak", "--duration", "10", "--json"]
    given = json.loads(cli([*run, "--catalog", str(catalog)]).stdout)
    assert given["failure"]["replacement_s"] == 90 + 120 + 480 + 3000
    assert "copy 480 s (48 GiB" in given["failure"]["replacement_basis"]
    assert not any("--catalog" in n for n in given["notes"]), given["notes"]
    bare = json.loads(cli(run).stdout)
    assert bare["failure"]["replacement_s"] == 90 + 120 + 1120 + 3000
    said = [n for n in bare["notes"] if n.startswith("the plan was optimized with")]
    assert said == [
        f"the plan was optimized with {catalog} (the spec's placement.catalogs or optimize "
        "--catalog), which no --catalog gives here: its accelerators' memory and speed are "
        f"left out of the simulation; pass --catalog {catalog} (its path from here; "
        'docs/catalog.md, "Owned nodes")'
    ]


def test_the_report_s_start_up_rule_does_not_load_the_simulator() -> None:
    """optimize's report reads startup_cost from scaleplan.simulate.failures on every run;
    importing it ran the package's __init__, which loaded the whole simulator (~40 ms on each
    optimize, issue 20). The package now imports its names on first use."""
    import subprocess
    import sys

    code = (
        "import sys, scaleplan.simulate.failures as f; "
        "from scaleplan.simulate import simulate, FAILURES; "
        "print('scaleplan.simulate.core' in sys.modules, callable(simulate), bool(FAILURES))"
    )
    before = (
        "import sys, scaleplan.simulate.failures; "
        "print('scaleplan.simulate.core' in sys.modules)"
    )
    run = {"capture_output": True, "text": True, "check": True}
    lone = subprocess.run([sys.executable, "-c", before], **run)
    assert lone.stdout.split() == ["False"], lone.stdout
    both = subprocess.run([sys.executable, "-c", code], **run)
    assert both.stdout.split() == ["True", "True", "True"], both.stdout
