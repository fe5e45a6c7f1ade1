"""A catalog row's node_labels: labels of one's own node pools that render selects the nodes by,
on every flavor (UX review 14, F5: owned A100 nodes and rented p4de.24xlarge nodes of one plan
both selected only nvidia.com/gpu.product=NVIDIA-A100-SXM4-80GB on generic, so either
Deployment's pods could land on either kind of node)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ONPREM = ROOT / "tests" / "data" / "onprem"


def _selectors(manifests: Path) -> dict[str, dict[str, str]]:
    out = {}
    for f in sorted(manifests.glob("deployment-*.yaml")):
        d = yaml.safe_load(f.read_text())
        out[d["metadata"]["name"]] = d["spec"]["template"]["spec"].get("nodeSelector", {})
    return out


def test_node_labels_are_selected_and_keep_owned_and_rented_apart(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for f in ("inventory.yaml", "burst.yaml"):
        shutil.copy(ONPREM / f, tmp_path / f)
    inv = tmp_path / "inventory.yaml"  # the a100-8x row: node_labels: {pool: dc1-a100}
    cli(["optimize", str(tmp_path / "burst.yaml"), "--out", str(tmp_path / "out")])
    sel = _selectors(tmp_path / "out" / "manifests")
    owned = next(v for k, v in sel.items() if "a100-8x" in k)
    rented = next(v for k, v in sel.items() if "p4de" in k)
    assert owned == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB", "pool": "dc1-a100"}
    assert rented == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    out, m = tmp_path / "out", str(tmp_path / "out" / "manifests")
    cli(["check", m, "--plan", str(out / "plan.yaml"), "--catalog", str(inv)])
    # render and check read a user catalog when given it, as for its rows' gpu_product
    cli(["render", str(out / "plan.yaml"), "--out", str(tmp_path / "r"), "--catalog", str(inv)])
    assert _selectors(tmp_path / "r") == sel
    # without --catalog: found beside the plan (UX trial 25 F16), the plan's recorded content
    cli(["render", str(out / "plan.yaml"), "--out", str(tmp_path / "r2")])
    assert _selectors(tmp_path / "r2") == sel
    cli(["check", m, "--plan", str(out / "plan.yaml")])
    # a plan moved away from its spec's folder: the catalog is not found, the selector drifts
    away = tmp_path / "ci" / "chat" / "plan.yaml"  # its folder's parent holds no inventory.yaml
    away.parent.mkdir(parents=True)
    shutil.copy(out / "plan.yaml", away)
    res = cli(["check", m, "--plan", str(away)], exit_code=1)
    assert "nodeSelector.pool is 'dc1-a100', the plan renders none" in res.stdout


def test_render_and_check_name_the_catalog_the_plan_was_optimized_with(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """UX trial 22, F1: `render PLAN` without --catalog dropped the owned rows' pool label
    without a word (the owned and rented L40S Deployments then selected the same nodes), and
    `check --plan` without it reported the committed selector as drift whose fix, "re-run
    scaleplan render from the plan", rendered it away. Both now name the catalog to pass;
    given it (any path with the same content), or found at its path from the spec's folder
    with the content the plan recorded (UX trial 25 F16), neither says so."""
    for f in ("inventory.yaml", "burst.yaml"):
        shutil.copy(ONPREM / f, tmp_path / f)
    out = tmp_path / "out"
    cli(["optimize", str(tmp_path / "burst.yaml"), "--out", str(out)])
    m = str(out / "manifests")
    res = cli(["render", str(out / "plan.yaml"), "--out", str(tmp_path / "r")])
    assert "optimized with" not in res.stderr, res.stderr
    assert _selectors(tmp_path / "r")["chat-70b-a100-8x-dc1-od"]["pool"] == "dc1-a100"
    res = cli(["check", m, "--plan", str(out / "plan.yaml")])
    assert "optimized with" not in res.stderr, res.stderr
    # the catalog beside the spec edited since: not the plan's, not taken, said
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inv.read_text() + "# edited\n")
    res = cli(["render", str(out / "plan.yaml"), "--out", str(tmp_path / "r")])
    assert "the plan was optimized with inventory.yaml" in res.stderr, res.stderr
    shutil.copy(ONPREM / "inventory.yaml", inv)
    # the plan copied away from the spec's folder: the catalog is not found there
    plan = str(tmp_path / "ci" / "chat" / "plan.yaml")
    (tmp_path / "ci" / "chat").mkdir(parents=True)
    shutil.copy(out / "plan.yaml", plan)
    res = cli(["render", plan, "--out", str(tmp_path / "r")])
    said = "the plan was optimized with inventory.yaml (the spec's placement.catalogs"
    assert said in res.stderr and "pass --catalog inventory.yaml" in res.stderr, res.stderr
    assert "pool" not in _selectors(tmp_path / "r")["chat-70b-a100-8x-dc1-od"]
    res = cli(["render", plan, "--out", str(tmp_path / "r"), "--json"])
    assert said in " ".join(json.loads(res.stdout)["warnings"])
    res = cli(["check", m, "--plan", plan], exit_code=1)
    assert said in res.stderr and "left out of the drift check's render" in res.stderr
    copy = tmp_path / "elsewhere.yaml"  # the same rows under another name: matched by content
    shutil.copy(tmp_path / "inventory.yaml", copy)
    res = cli(["render", plan, "--out", str(tmp_path / "r"), "--catalog", str(copy)])
    assert "optimized with" not in res.stderr, res.stderr
    res = cli(["check", m, "--plan", plan, "--catalog", str(copy)])
    assert "optimized with" not in res.stderr, res.stderr
    # a plan of the shipped catalogs alone names none
    shutil.copy(ROOT / "examples" / "llm-chat" / "plan.yaml", tmp_path / "ex.yaml")
    res = cli(["render", str(tmp_path / "ex.yaml"), "--out", str(tmp_path / "ex")])
    assert "optimized with" not in res.stderr, res.stderr


def test_a_bad_node_label_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for f in ("inventory.yaml", "chat-8b.yaml"):
        shutil.copy(ONPREM / f, tmp_path / f)
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inv.read_text().replace(
        "  instance_type: l40s-4x        # 4 of these",
        "  instance_type: l40s-4x\n  node_labels: {'bad key!': x}").replace(
        "  node_labels: {pool: dc1-l40s}\n", ""))
    res = cli(["optimize", str(tmp_path / "chat-8b.yaml"), "--out", str(tmp_path / "out")],
              exit_code=None)
    assert res.exit_code == 3, res.stderr
    assert "node_labels" in res.stderr and "bad key!" in res.stderr


def test_a_node_label_render_selects_itself_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A node_labels key that render already selects by with another value (the GPU label on
    generic) replaced render's value silently: the L40S pods selected L4 nodes (r2 review).
    Exit 3, naming the key; the same value is only redundant."""
    for f in ("inventory.yaml", "chat-8b.yaml"):
        shutil.copy(ONPREM / f, tmp_path / f)
    inv = tmp_path / "inventory.yaml"
    text = inv.read_text()
    assert "  node_labels: {pool: dc1-l40s}\n" in text
    row = "  node_labels: {pool: dc1-l40s, nvidia.com/gpu.product: PRODUCT}\n"
    inv.write_text(text.replace("  node_labels: {pool: dc1-l40s}\n",
                                row.replace("PRODUCT", "NVIDIA-L4")))
    res = cli(["optimize", str(tmp_path / "chat-8b.yaml"), "--out", str(tmp_path / "out")],
              exit_code=None)
    assert res.exit_code == 3, res.stderr
    assert "nvidia.com/gpu.product" in res.stderr and "NVIDIA-L40S" in res.stderr, res.stderr
    inv.write_text(text.replace("  node_labels: {pool: dc1-l40s}\n",
                                row.replace("PRODUCT", "NVIDIA-L40S")))
    cli(["optimize", str(tmp_path / "chat-8b.yaml"), "--out", str(tmp_path / "out2")])


def test_a_repriced_row_keeps_its_node_labels(tmp_path: Path) -> None:
    from scaleplan.catalog.files import load_catalog

    (tmp_path / "price.yaml").write_text(
        "apiVersion: scaleplan/v1\nkind: Catalog\n"
        "provenance: {source: chargeback, build_date: '2026-12-01'}\ninstances:\n"
        "- {provider: onprem, region: dc1, instance_type: a100-8x, family: a100, "
        "accelerator: A100-80GB, accelerator_count: 8, vcpus: 128, memory_gib: 1024, "
        "price_ondemand: 16}\n")
    cat = load_catalog([ONPREM / "inventory.yaml", tmp_path / "price.yaml"], shipped=False)
    row = next(r for r in cat.rows if r.instance_type == "a100-8x")
    assert row.price_ondemand == 16 and row.node_labels == {"pool": "dc1-a100"}


def test_a_node_label_against_the_spot_affinity_is_refused(tmp_path: Path) -> None:
    """eks-karpenter spot pods select their NodePools by node affinity, not nodeSelector, so
    the clash check above did not see a node_labels karpenter.sh/nodepool of another pool:
    rendered, the pods matched no node (r2 review). Refused like a nodeSelector clash."""
    from scaleplan.catalog.files import load_catalog
    from scaleplan.errors import PlanError
    from scaleplan.plan import read_plan
    from scaleplan.render import render_report

    plan = read_plan(ROOT / "examples" / "llm-chat" / "plan.yaml")
    spot = next(a for a in plan.allocations if a.capacity_type == "spot")
    assert plan.spec.kubernetes.flavor == "eks-karpenter"
    shipped = load_catalog(providers=["aws"])
    row = next(r for r in shipped.rows if r.key == (spot.provider, spot.region,
                                                        spot.instance_type))
    mine = row.model_dump(mode="json", exclude_none=True)
    mine["node_labels"] = {"karpenter.sh/nodepool": "someone-elses-pool"}
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "scaleplan/v1", "kind": "Catalog",
         "provenance": {"source": "test", "build_date": "2026-12-01"}, "instances": [mine]}))
    cat = load_catalog([tmp_path / "mine.yaml"], providers=["aws"])
    with pytest.raises(PlanError) as exc:
        render_report(plan, cat)
    assert "karpenter.sh/nodepool" in str(exc.value), str(exc.value)


def test_identical_selectors_of_two_instance_types_are_warned(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """F5 (a): without node_labels on the owned row, the owned a100-8x and the rented
    p4de.24xlarge Deployments both select only nvidia.com/gpu.product on generic, so either's
    pods may land on the other's nodes; render says so, naming both (stderr and --json)."""
    for f in ("inventory.yaml", "burst.yaml"):
        shutil.copy(ONPREM / f, tmp_path / f)
    inv = tmp_path / "inventory.yaml"
    text = inv.read_text()
    labelled = "  node_labels: {pool: dc1-a100} # a label of our own that render selects too\n"
    assert labelled in text
    inv.write_text(text.replace(labelled, ""))
    res = cli(["optimize", str(tmp_path / "burst.yaml"), "--out", str(tmp_path / "out")])
    plan = str(tmp_path / "out" / "plan.yaml")
    sel = _selectors(tmp_path / "out" / "manifests")
    assert len(set(map(str, sel.values()))) == 1 and len(sel) == 2  # the clash itself
    res = cli(["render", plan, "--out", str(tmp_path / "r"), "--catalog", str(inv), "--json"])
    clash = [w for w in json.loads(res.stdout)["warnings"] if "same node selector" in w]
    assert len(clash) == 1, res.stdout
    names = sorted(sel)
    assert all(n in clash[0] for n in names) and "node_labels" in clash[0], clash
    assert "a100-8x" in clash[0] and "p4de.24xlarge" in clash[0], clash
    res = cli(["render", plan, "--out", str(tmp_path / "r2"), "--catalog", str(inv)])
    assert clash[0] in res.stderr
    # with the owned row's label (the shipped inventory) the selectors differ: no warning
    shutil.copy(ONPREM / "inventory.yaml", inv)
    res = cli(["render", plan, "--out", str(tmp_path / "r3"), "--catalog", str(inv), "--json"])
    assert not any("same node selector" in w for w in json.loads(res.stdout)["warnings"])


def test_simulate_sizes_a_user_catalogs_accelerator(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An accelerator defined in a user's catalog (its ``accelerators:``): simulate takes the
    accelerator table from the catalogs it reads at its edge, as render does (the shipped
    one, then the spec's placement.catalogs found beside the plan), and passes it down; the
    simulator reads none itself (issue 12). Until 2026-12-07 simulate/ read the shipped
    table alone, so the LLM model could not size X48 and replayed the plan's points. Where
    the catalog is not found beside the plan, the reason names it (UX trial 22 F1)."""
    shipped = yaml.safe_load((ROOT / "catalogs" / "accelerators.yaml").read_text())
    l40s = next(a for a in shipped["accelerators"] if a["name"] == "L40S")
    acme = {k: v for k, v in l40s.items() if not k.endswith("_source") and k != "cuda_memory_gib"}
    acme.update(name="X48", aliases=["x48"], gpu_product="ACME-X48", karpenter_gpu_name="x48")
    inv = yaml.safe_load((ONPREM / "inventory.yaml").read_text())
    rows = [{**r, "accelerator": "X48"} for r in inv["instances"] if r.get("accelerator") == "L40S"]
    inv.update(instances=rows, accelerators=[acme])
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump(inv, sort_keys=False))
    spec = yaml.safe_load((ONPREM / "chat-8b.yaml").read_text())
    spec["placement"]["accelerators"] = ["X48"]
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    cli(["optimize", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "out")])
    res = cli(["simulate", str(tmp_path / "out" / "plan.yaml"), "--duration", "60"])
    said = " ".join((res.stdout + res.stderr).split())
    assert "LLM model (X48 TP" in said and "not in the shipped accelerator table" not in said, said
    # the catalog moved away: not found beside the plan, so not read, and said
    (tmp_path / "inventory.yaml").rename(tmp_path / "elsewhere.yaml")
    res = cli(["simulate", str(tmp_path / "out" / "plan.yaml"), "--duration", "60"])
    said = " ".join((res.stdout + res.stderr).split())
    assert (
        "accelerator X48 is not in the shipped accelerator table; the plan was optimized with "
        "inventory.yaml, which simulate did not find beside the plan" in said
    ), said
