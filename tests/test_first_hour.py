"""A new user's first hour (issue 13): each finding reproduced, and now passing.

1. the cluster decides the clouds; 2. exact names with did-you-mean, and ``validate`` ok means
``optimize`` does not reject the input; 6. the smaller ones (diff, umask, JSON, hints).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from scaleplan.catalog.model import Catalog
from scaleplan.inputs import shipped_accelerators

ACCS = shipped_accelerators()  # the accelerator table the report prices start-ups by

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "examples" / "embedding-cpu-gpu" / "profile.yaml"


def write_spec(tmp: Path, *, flavor: str = "eks", placement: str = "", name: str = "spec.yaml", rps: float = 400, extra_k8s: str = "") -> Path:
    text = f"""apiVersion: scaleplan/v1
kind: InferenceService
metadata:
  name: emb
model:
  profile: {PROFILE}
  memory_gib: 1
traffic:
  peak_rps: {rps}
slo:
  latency_ms: 60
  percentile: 95
placement:
  min_replicas: 1
{placement}
kubernetes:
  image: ghcr.io/example/emb:1.0
  flavor: {flavor}
{extra_k8s}
"""
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


def line_with(path: Path, text: str) -> int:
    return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if text in t)


# --- 1. the cluster decides the clouds ---------------------------------------------------


@pytest.mark.parametrize(("flavor", "clouds"), [("eks", ("aws",)), ("eks-karpenter", ("aws",)), ("gke", ("gcp",)), ("aks", ("azure",)), ("generic", ("aws", "gcp", "azure"))])
def test_providers_default_to_the_flavors_cloud(tmp_path: Path, flavor: str, clouds: tuple[str, ...]) -> None:
    from scaleplan.spec import read_spec

    spec, _ = read_spec(write_spec(tmp_path, flavor=flavor))
    assert spec.placement.providers == clouds


def test_eks_plan_without_providers_uses_aws_only(cli, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, flavor="eks")
    res = cli(["optimize", str(spec), "--out", str(tmp_path / "out"), "--json", "--no-alternatives"])
    doc = json.loads(res.stdout)
    assert {a["provider"] for a in doc["allocations"]} == {"aws"}
    manifests = "".join(p.read_text() for p in (tmp_path / "out" / "manifests").glob("*.yaml"))
    assert "cloud.google.com" not in manifests and "kubernetes.azure.com" not in manifests


def test_other_cloud_with_a_cloud_flavor_is_exit_3_with_the_fix(cli, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, flavor="eks", placement="  providers: [aws, gcp]")
    for cmd in (["validate", str(spec)], ["optimize", str(spec), "--out", str(tmp_path / "o")]):
        res = cli(cmd, exit_code=3)
        err = " ".join(res.stderr.split())
        assert f"{spec}:{line_with(spec, 'providers:')}: placement.providers[1]" in err
        assert "'gcp' cannot run on flavor 'eks'" in err
        assert "flavor: generic" in err
    assert not (tmp_path / "o").exists()


def test_optimize_prints_every_render_warning(tables: Catalog, cli, tmp_path: Path) -> None:
    from scaleplan.plan import read_plan
    from scaleplan.render import render_report

    # generic + spot: the renderer warns that generic clusters have no spot label
    spec = write_spec(tmp_path, flavor="generic", placement="  providers: [aws]\n  regions: [us-east-1]\n  spot: {allowed: true, max_fraction: 1}")
    res = cli(["optimize", str(spec), "--out", str(tmp_path / "out"), "--no-alternatives"])
    warnings = render_report(read_plan(tmp_path / "out" / "plan.yaml"), tables).warnings
    assert warnings, "this spec should make the renderer warn"
    err = " ".join(res.stderr.split())
    for w in warnings:
        assert f"warning: {' '.join(w.split())}" in err


def test_check_plan_flags_nodes_of_another_cloud(tables: Catalog, cli, tmp_path: Path) -> None:
    """A plan (written before providers followed the flavor) with GCP rows on an EKS flavor."""
    from scaleplan.plan import dump_plan, read_plan
    from scaleplan.plan_outputs import write_manifests
    from scaleplan.render import render
    from scaleplan.yamlio import atomic_write

    spec = write_spec(tmp_path, flavor="generic", placement="  providers: [gcp]\n  regions: [us-central1]")
    cli(["optimize", str(spec), "--out", str(tmp_path / "out"), "--no-alternatives", "--no-manifests"])
    plan = read_plan(tmp_path / "out" / "plan.yaml")
    k8s = plan.spec.kubernetes.model_copy(update={"flavor": "eks"})
    old = plan.model_copy(update={"spec": plan.spec.model_copy(update={"kubernetes": k8s})})
    atomic_write(tmp_path / "old.yaml", dump_plan(old))
    write_manifests(tmp_path / "m", render(old, tables))
    res = cli(["check", str(tmp_path / "m"), "--plan", str(tmp_path / "old.yaml"), "--format", "json"], exit_code=1)
    found = [f for f in json.loads(res.stdout)["findings"] if f["rule"] == "flavor-mismatch"]
    assert found, res.stdout
    assert any("not offered on aws" in f["message"] for f in found)
    # the same plan on its own flavor has no such finding
    write_manifests(tmp_path / "g", render(plan, tables))
    res = cli(["check", str(tmp_path / "g"), "--plan", str(tmp_path / "out" / "plan.yaml"), "--format", "json"], exit_code=None)
    assert not [f for f in json.loads(res.stdout)["findings"] if f["rule"] == "flavor-mismatch"]


def test_flavor_rule_flags_foreign_labels_and_node_classes(tables: Catalog) -> None:
    from scaleplan.check.engine import check_text
    from scaleplan.plan import read_plan

    plan = read_plan(ROOT / "examples" / "vision-daily" / "plan.yaml")  # flavor gke
    assert plan.spec.kubernetes.flavor == "gke"
    text = """apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      nodeSelector: {eks.amazonaws.com/capacityType: ON_DEMAND, node.kubernetes.io/instance-type: g6.xlarge}
      containers: [{name: c, image: "x:1"}]
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: y}
spec: {}
"""
    report = check_text(text, "m.yaml", plan=plan, disabled_rules=["drift"], catalog=tables)
    msgs = [f.message for f in report.findings if f.rule == "flavor-mismatch"]
    assert any("eks.amazonaws.com/capacityType" in m for m in msgs)
    assert any("g6.xlarge" in m for m in msgs)
    assert any("EC2NodeClass" in m for m in msgs)
    # the article agrees with the cloud's name ("an aws", "an azure", never "a azure")
    assert any("eks.amazonaws.com/capacityType, an aws node label" in m for m in msgs)
    assert any("is an aws node class" in m for m in msgs)
    from scaleplan.wording import article as _a

    assert [_a(c) for c in ("azure", "aws", "gcp", "onprem")] == ["an azure", "an aws", "a gcp", "an onprem"]


# --- 2. exact names with did-you-mean ----------------------------------------------------


def test_catalog_aliases_are_exact() -> None:
    from scaleplan.catalog.files import load_accelerators
    from scaleplan.catalog.model import Catalog

    cat = Catalog(accelerators=load_accelerators(), rows=())
    assert cat.resolve("L40") is None
    assert cat.resolve("A100-80") is None
    assert cat.resolve("A10GX") is None
    assert cat.resolve("a100-80gb") == "A100-80GB"
    assert cat.resolve("nvidia-l4") == "L4"
    assert cat.resolve("Tesla T4") == "T4"
    # product strings a device reports still map (the device, not the user, wrote them)
    assert cat.resolve_product("NVIDIA H100 80GB HBM3 (rev a1)") == "H100"


@pytest.mark.parametrize(("name", "suggested"), [("L40", "L40S"), ("A100-80", "A100-80GB"), ("A10GX", "A10G")])
def test_catalog_list_refuses_prefixes_with_did_you_mean(cli, name: str, suggested: str) -> None:
    res = cli(["catalog", "list", "--accelerator", name], exit_code=2)
    assert f"unknown accelerator '{name}'" in " ".join(res.stderr.split())
    assert repr(suggested) in res.stderr


def test_catalog_list_exact_accelerator_rows(cli) -> None:
    rows = json.loads(cli(["catalog", "list", "--accelerator", "L40S", "--json"]).stdout)["instances"]
    assert rows and {r["accelerator"] for r in rows} == {"L40S"}


@pytest.mark.parametrize(("flag", "value", "hint"), [("--region", "us-east1", "us-east-1"), ("--provider", "gpc", "gcp")])
def test_catalog_list_unknown_region_or_provider(cli, flag: str, value: str, hint: str) -> None:
    res = cli(["catalog", "list", flag, value], exit_code=2)
    assert repr(hint) in res.stderr


def test_catalog_show_did_you_mean(cli) -> None:
    """An unknown name on the command line is a usage error, as in `catalog list` (it was 3)."""
    res = cli(["catalog", "show", "g6.xlarg"], exit_code=2)
    assert "'g6.xlarge'" in res.stderr
    said = " ".join(res.stderr.split())
    assert "Invalid value for INSTANCE_TYPE: no instance type 'g6.xlarg'" in said


@pytest.mark.parametrize(
    ("placement", "where", "hint"),
    [
        ("  accelerators: [A10GX]", "placement.accelerators[0]", "did you mean 'A10G'"),
        ("  accelerators: [L40]", "placement.accelerators[0]", "'L40S'"),
        ("  accelerators: [Z99]", "placement.accelerators[0]", "catalog accelerators"),
        ("  regions: [us-east1]", "placement.regions[0]", "'us-east-1'"),
        ("  regions: [us-central1]", "placement.regions[0]", "the form of a gcp region name"),
        ("  regions: [us-east-1a]", "placement.regions[0]",  # UX trial 27: a zone
         "'us-east-1a' is a zone of us-east-1: placement.regions takes regions (us-east-1); "
         "the cluster's zones go in placement.zones"),
        ("  exclude: [g6.xlarg]", "placement.exclude[0]", "'g6.xlarge'"),
        ("  providers: [onprem]", "placement.providers[0]", "add a catalog"),
        ("  quotas: [{provider: aws, region: us-east-1, family: g4dnx, max_gpus: 1}]", "placement.quotas[0].family", "did you mean 'g4dn'"),
        ("  quotas: [{provider: aws, region: us-east1, max_gpus: 1}]", "placement.quotas[0].region", "did you mean 'us-east-1'"),
        ("  quotas: [{provider: gcp, region: us-east1, max_gpus: 1}]", "placement.quotas[0].provider", "placement.providers is [aws]"),
    ],
)
def test_validate_runs_optimizes_name_checks(cli, tmp_path: Path, placement: str, where: str, hint: str) -> None:
    flavor = "generic" if "onprem" in placement else "eks"
    spec = write_spec(tmp_path, flavor=flavor, placement=placement)
    line = line_with(spec, placement.strip())
    out = tmp_path / "out"
    for cmd in (["validate", str(spec)], ["optimize", str(spec), "--out", str(out)]):
        res = cli(cmd, exit_code=3)
        err = " ".join(res.stderr.split())
        assert f"{spec}:{line}: {where}" in err, err
        assert hint in err
    assert not out.exists()


@pytest.mark.parametrize(
    "placement",
    [
        "",
        "  accelerators: [cpu, t4, nvidia-l4]\n  regions: [us-east-1]",
        "  exclude: [c7g*, g5.xlarge, T4]",
        "  quotas: [{provider: aws, region: us-west-2, max_gpus: 4}]",
        "  quotas: [{provider: aws, family: G4DN, max_gpus: 4}, {provider: aws, family: 'g6*', max_gpus: 4}]",
    ],
)
def test_validate_ok_means_optimize_accepts(cli, tmp_path: Path, placement: str) -> None:
    spec = write_spec(tmp_path, placement=placement)
    cli(["validate", str(spec)])
    res = cli(["optimize", str(spec), "--out", str(tmp_path / "o"), "--no-alternatives"], exit_code=None)
    assert res.exit_code in (0, 4), res.stderr  # never 3: validate already ran those checks


# --- 6. the smaller ones -----------------------------------------------------------------


def test_output_folders_follow_the_umask(cli, tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    old = os.umask(0o022)
    try:
        cli(["optimize", str(spec), "--out", str(tmp_path / "out"), "--no-alternatives"])
    finally:
        os.umask(old)
    for d in (tmp_path / "out", tmp_path / "out" / "manifests"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o755, d


def test_reoptimize_shows_the_changes_and_diff_command(cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = write_spec(tmp_path, rps=400)
    cli(["optimize", str(spec), "--out", str(out), "--no-alternatives"])
    first = (out / "plan.yaml").read_text()
    (tmp_path / "a.yaml").write_text(first)
    res = cli(["optimize", str(spec), "--out", str(out), "--no-alternatives"])
    assert "No changes" in res.stdout
    spec = write_spec(tmp_path, rps=4000)
    res = cli(["optimize", str(spec), "--out", str(out), "--no-alternatives"])
    assert "changes against the previous" in res.stdout
    assert "Plan: " in res.stdout and "to add" in res.stdout
    assert "cost: $" in res.stdout and "/h -> $" in res.stdout
    doc = json.loads(cli(["diff", str(tmp_path / "a.yaml"), str(out / "plan.yaml"), "--json"]).stdout)
    assert doc["changed"] is True
    assert doc["cost_per_hour"]["after"] > doc["cost_per_hour"]["before"]
    assert doc["allocations"]
    text = cli(["diff", str(tmp_path / "a.yaml"), str(out / "plan.yaml")]).stdout
    assert any(line.lstrip().startswith(("+", "-", "~")) for line in text.splitlines())


def test_plandiff_is_pure_and_exact() -> None:
    from scaleplan.plan import read_plan
    from scaleplan.plandiff import diff_lines, diff_plans

    plan = read_plan(ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml")
    assert diff_plans(plan, plan, ACCS).empty
    same = diff_lines(diff_plans(plan, plan, ACCS))
    assert same == ["No changes: the plan is the same as before."]
    a0 = plan.allocations[0]
    bigger = a0.model_copy(update={"replicas": a0.replicas + 2, "cost_per_hour": a0.cost_per_hour + 1.0})
    gone = plan.model_copy(update={"allocations": (bigger,), "cost_per_hour": plan.cost_per_hour + 1.0})
    d = diff_plans(plan, gone, ACCS)
    actions = {c.name: c.action for c in d.changes}
    assert actions[a0.name] == "resize"
    assert all(actions[a.name] == "remove" for a in plan.allocations[1:])
    assert d.cost_delta == pytest.approx(1.0)
    back = diff_plans(gone, plan, ACCS)
    assert {c.action for c in back.changes} >= {"add", "resize"}
    assert d.to_dict()["summary"] == {"add": 0, "change": 1, "remove": len(plan.allocations) - 1}


def test_plandiff_shows_spec_and_engine_changes() -> None:
    """Two plans with the same allocations but another routing mode are not "the same plan",
    and a changed tensor-parallel degree is a change of the allocation (issue 13, diff)."""
    from scaleplan.plan import read_plan
    from scaleplan.plandiff import diff_lines, diff_plans

    gw = read_plan(ROOT / "examples" / "llm-chat" / "plan.yaml")
    pool = read_plan(ROOT / "examples" / "llm-chat-pool" / "plan.yaml")
    d = diff_plans(gw, pool, ACCS)
    assert not d.empty
    routing = [c for c in d.spec_changes if c.field == "kubernetes.routing"]
    assert routing and (routing[0].before, routing[0].after) == ("gateway-api", "inference-pool")
    assert "      kubernetes.routing: gateway-api -> inference-pool" in diff_lines(d)
    assert {"field": "kubernetes.routing", "before": "gateway-api", "after": "inference-pool"} in d.to_dict()["spec"]

    big = read_plan(ROOT / "examples" / "llm-70b-tp" / "plan.yaml")
    a0 = big.allocations[0]
    assert a0.llm is not None
    tp4 = a0.model_copy(update={"llm": a0.llm.model_copy(update={"tensor_parallel": a0.llm.tensor_parallel * 2})})
    d2 = diff_plans(big, big.model_copy(update={"allocations": (tp4, *big.allocations[1:])}), ACCS)
    (change,) = d2.changes
    assert change.action == "change" and [f.field for f in change.fields] == ["llm.tensor_parallel"]


def test_plan_yaml_from_json_and_files_agree(cli, tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    doc = json.loads(cli(["optimize", str(spec), "--out", str(tmp_path / "o"), "--json", "--no-alternatives"]).stdout)
    plan = yaml.safe_load((tmp_path / "o" / "plan.yaml").read_text())
    assert plan["cost_per_hour"] == doc["cost_per_hour"]
def test_render_and_simulate_given_a_spec_say_run_optimize_first(cli, tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    for cmd in (["render", str(spec), "--out", str(tmp_path / "m")], ["simulate", str(spec)]):
        res = cli(cmd, exit_code=3)
        err = " ".join(res.stderr.split())
        assert "run `scaleplan optimize` first" in err
        assert err.count("\n  - ") == 0 and "problems" not in err.split("hint:")[0]




def test_infeasible_optimize_json_is_a_json_object(cli, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, placement="  budget_per_hour: 0.0001")
    res = cli(["optimize", str(spec), "--out", str(tmp_path / "o"), "--json"], exit_code=4)
    doc = json.loads(res.stdout)
    assert doc["status"] == "infeasible" and doc["name"] == "emb"  # the spec's metadata.name
    assert doc["reasons"] and doc["reasons"][0]["code"]
    assert doc["reasons"][0]["message"] and doc["reasons"][0]["fix"]




def test_metavars_are_plain_words(cli) -> None:
    from scaleplan.cli import app

    seen = []
    for group in ([], ["catalog"], ["profile"]):
        res = cli([*group, "--help"])
        names = [ln.split()[0] for ln in res.stdout.splitlines() if ln.startswith("  ") and ln.split() and ln.split()[0].isidentifier()]
        seen += [[*group, n] for n in names]
    assert len(seen) > 8, seen
    for args in seen:
        out = cli([*args, "--help"], exit_code=None).stdout
        assert "<list" not in out and "<str" not in out and "<float" not in out and "<int" not in out, (args, out)
        # usage in plain words: PLAN_A PLAN_B, TARGET, FILES..., [PATH...] (not {PLAN_A}, {target},
        # {FILES...}...), and file or folder options say FILE or DIR, not TEXT
        import re

        usage = next((line for line in out.splitlines() if line.startswith("Usage: scaleplan")), "")
        if usage.endswith("[OPTIONS]") or "[OPTIONS] " in usage:
            for word in usage.split("[OPTIONS]", 1)[1].split("(")[0].split():
                assert re.fullmatch(r"\[?[A-Z_]+(\.\.\.)?\]?|\[ARGS\]\.\.\.", word), (args, usage)  # click groups: [ARGS]...
        for opt in ("--out", "--plan", "--catalog", "--observed", "--melange", "--emit-jobs", "--payload", "--queries", "--token-file", "--ca-file"):
            assert f"{opt} TEXT" not in out, (args, opt)
    assert app is not None




def test_profile_emit_jobs_json(cli, tmp_path: Path) -> None:
    res = cli(["profile", "examples/models/minilm.py:factory", "--emit-jobs", str(tmp_path / "jobs"), "--accelerators", "L4,A10G", "--image", "registry/profiler:1.0", "--json"])
    doc = json.loads(res.stdout)
    assert doc["out"] == str(tmp_path / "jobs")
    assert sorted(doc["accelerators"]) == ["A10G", "L4"]
    assert all((tmp_path / "jobs" / f).is_file() for f in doc["files"])




@pytest.mark.parametrize(
    ("module", "args", "extra"),
    [
        ("boto3", ["catalog", "refresh", "--provider", "aws", "--regions", "us-east-1", "--out", "{tmp}/aws.yaml", "--dry-run"], "scaleplan[aws]"),
        ("aiohttp", ["profile", "http://127.0.0.1:9/v1/x", "--out", "{tmp}/p.yaml"], "scaleplan[http]"),
    ],
)
def test_missing_extra_names_it(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, args: list[str], extra: str) -> None:
    import sys

    monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed
    res = cli([a.replace("{tmp}", str(tmp_path)) for a in args], exit_code=5)
    assert extra in res.stderr and "Traceback" not in res.stderr
    # an install command that works: scaleplan is not on PyPI and its repository is not
    # published, so the extra comes from the source folder (README's form), never bare or by URL
    text = " ".join(res.stderr.split())
    assert f"pip install '/path/to/{extra}'" in text
    assert f"pip install -e '.[{extra.split('[')[1]}'" in text and "not on PyPI yet" in text
    assert f"pip install '{extra}'" not in text and f"pip install {extra}" not in text
    assert "git+" not in text and "github.com" not in text



EMBEDDING_PLAN = ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml"


@pytest.mark.parametrize(
    ("module", "args", "extra"),
    [
        ("torch", ["profile", "{tmp}/m.pt", "--input-shape", "8", "-o", "{tmp}/p.yaml"], "torch"),
        ("onnxruntime", ["profile", "{tmp}/m.onnx", "--out", "{tmp}/p.yaml"], "onnx"),
        ("matplotlib", ["simulate", str(EMBEDDING_PLAN), "--png", "{tmp}/s.png"], "plot"),
    ],
)
def test_missing_model_and_plot_extras_name_an_install_that_works(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, args: list[str], extra: str
) -> None:
    """torch, onnxruntime and matplotlib said "pip install 'scaleplan[torch]'": scaleplan is not
    on PyPI, so that fails or installs a stranger's package; they now say what boto3 says."""
    import sys

    (tmp_path / "m.pt").write_bytes(b"")
    (tmp_path / "m.onnx").write_bytes(b"")
    monkeypatch.setitem(sys.modules, module, None)  # as if the extra were not installed
    res = cli([a.replace("{tmp}", str(tmp_path)) for a in args], exit_code=5)
    text = " ".join(res.stderr.split())
    assert f"pip install '/path/to/scaleplan[{extra}]'" in text and "not on PyPI yet" in text, text
    assert f"pip install 'scaleplan[{extra}]'" not in text and "Traceback" not in text
    assert not (tmp_path / "s.png").exists() and not (tmp_path / "p.yaml").exists()

def test_core_install_is_lean_and_dev_pulls_the_extras() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    assert "boto3" not in core and "aiohttp" not in core
    extras = project["optional-dependencies"]
    assert any(d.startswith("boto3") for d in extras["aws"]) and any(d.startswith("aiohttp") for d in extras["http"])
    dev = " ".join(extras["dev"])
    assert "boto3" in dev and "aiohttp" in dev and "pre-commit" in dev
    # the floor supports the Kubernetes version check validates against by default
    from scaleplan.check.engine import DEFAULT_KUBE_VERSION

    assert f"kubernetes-validate>={DEFAULT_KUBE_VERSION}" in core


def test_release_pins_match_the_version() -> None:
    import re

    from scaleplan._version import __version__

    for doc in ("docs/ci.md", "action.yml"):
        pins = set(re.findall(r"@v(\d+\.\d+\.\d+)|rev: v(\d+\.\d+\.\d+)", (ROOT / doc).read_text()))
        found = {a or b for a, b in pins}
        assert found == {__version__}, (doc, found)


def test_install_docs_install_from_a_clone_not_an_unpublished_url() -> None:
    """scaleplan is not on PyPI and its repository is not published: README, the tutorial and
    docs/ci.md install from a local clone or path and say so, never from github.com/scaleplan."""
    for doc in ("README.md", "docs/tutorial.md", "docs/ci.md"):
        text = (ROOT / doc).read_text()
        assert "github.com/scaleplan" not in text, doc
        assert "not on PyPI yet" in text, doc
        assert "pip install /path/to/scaleplan" in text or 'pip install ".[examples]"' in text, doc


def test_shell_completion_is_offered(cli) -> None:
    assert "--install-completion" in cli(["--help"]).stdout


def test_check_skips_scaleplans_own_files_and_only_manifests(
    tables: Catalog, cli, tmp_path: Path
) -> None:
    ex = ROOT / "examples" / "embedding-cpu-gpu"
    from scaleplan.plan import read_plan
    from scaleplan.plan_outputs import write_manifests
    from scaleplan.render import render

    write_manifests(tmp_path / "d", render(read_plan(ex / "plan.yaml"), tables))
    for f in ("spec.yaml", "plan.yaml", "profile.yaml"):
        (tmp_path / "d" / f).write_text((ex / f).read_text())
    res = cli(["check", str(tmp_path / "d")])
    assert "skipped" in res.stdout and "scaleplan InferenceService" in res.stdout
    (tmp_path / "d" / "values.yaml").write_text("replicas: 3\n")
    cli(["check", str(tmp_path / "d")], exit_code=3)  # a CI gate never passes what it cannot read
    res = cli(["check", str(tmp_path / "d"), "--only-manifests"])
    assert "values.yaml (document 1): not a Kubernetes object" in res.stdout


def test_only_manifests_with_no_manifest_passes(cli, tmp_path: Path) -> None:
    """The hook given only a spec (a commit that touches no manifest) has nothing to check."""
    spec = write_spec(tmp_path)
    res = cli(["check", "--only-manifests", str(spec)])
    assert "skipped" in res.stdout
    cli(["check", str(spec)], exit_code=3)  # without it, a gate over nothing fails


def test_docs_cpu_profiles_pin_one_thread_as_profile_md_says() -> None:
    """docs/profile.md says the examples in the docs use ``--threads 1`` (and why): every CPU
    ``scaleplan profile`` command in README and docs/ does, the tutorial's included, and
    profile.md says how to see the pin reach BLAS."""
    import re

    commands = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        text = doc.read_text(encoding="utf-8").replace("\\\n", " ")
        for line in text.splitlines():
            if re.search(r"scaleplan profile \S+:\w+ .*--device cpu", line):
                commands.append((doc.name, line))
    assert any(d == "tutorial.md" for d, _ in commands)
    for doc, line in commands:
        assert re.search(r"--threads 1\b", line), (doc, line)
    assert "threadpoolctl.threadpool_info()" in (ROOT / "docs" / "profile.md").read_text(encoding="utf-8")


def test_unknown_name_hint_never_lists_nothing() -> None:
    from scaleplan.names import unknown_hint

    assert unknown_hint("us-east1", [], "regions") == "no regions are known"
    assert unknown_hint("us-east1", [], "regions", "see x") == "see x"
    assert unknown_hint("zz", ["eastus"], "regions") == "known regions: eastus"


@pytest.mark.parametrize(
    ("args", "given", "kind", "reader"),
    [
        (["validate", "{plan}"], "plan", "Plan", "scaleplan optimize"),
        (["optimize", "{plan}", "--out", "{tmp}/o"], "plan", "Plan", "scaleplan optimize"),
        (["validate", "{profile}"], "profile", "Profile", "model.profile"),
        (["profile", "estimate", "{spec}", "--accelerators", "T4", "--out", "{tmp}/p.yaml"], "spec", "InferenceService", "scaleplan validate"),
        (["profile", "merge", "{spec}", "{profile}", "--out", "{tmp}/p.yaml"], "spec", "InferenceService", "scaleplan validate"),
        (["optimize", "{spec}", "--out", "{tmp}/o", "--observed", "{plan}"], "plan", "Plan", "scaleplan simulate"),
        (["simulate", "{profile}"], "profile", "Profile", "model.profile"),
    ],
)
def test_a_scaleplan_file_of_another_kind_is_named_in_one_line(cli, tmp_path: Path, args: list[str], given: str, kind: str, reader: str) -> None:
    """A plan given to validate (22 field problems before), a spec to profile estimate (10):
    one problem saying which kind the file is and which command takes it, exit 3."""
    files = {"plan": str(ROOT / "examples" / "llm-chat" / "plan.yaml"), "profile": str(PROFILE), "spec": str(write_spec(tmp_path))}
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{plan}", files["plan"]).replace("{profile}", files["profile"]).replace("{spec}", files["spec"]) for a in args]
    res = cli(argv, exit_code=3)
    err = " ".join(res.stderr.split())
    assert f"this is {'a spec' if kind == 'InferenceService' else 'a ' + given} (kind: {kind})" in err, err
    assert reader in err, err
    assert "problems" not in err, err  # one problem, not the other format's field list
    assert not (tmp_path / "o").exists() and not (tmp_path / "p.yaml").exists()


def test_emitted_profile_jobs_pass_check(cli, tmp_path: Path) -> None:
    """``profile --emit-jobs`` selects each GPU with ORed node-affinity terms, one per label
    scheme (GPU feature discovery, GKE, Karpenter): every node any term admits carries that
    GPU, so scaleplan's own Jobs pass ``scaleplan check`` (two gpu-node-selector errors before)."""
    jobs = tmp_path / "jobs"
    cli(["profile", "examples/models/minilm.py:factory", "--emit-jobs", str(jobs), "--accelerators", "L4,A10G", "--image", "registry/profiler:1.0"])
    job = yaml.safe_load((jobs / "profile-l4.yaml").read_text())
    terms = job["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert len(terms) >= 2 and all(t["matchExpressions"][0]["values"] for t in terms)
    res = cli(["check", str(jobs), "--json"], exit_code=None)
    rules = {f["rule"] for f in json.loads(res.stdout)["findings"]}
    assert "gpu-node-selector" not in rules and "gpu-toleration" not in rules, res.stdout
    # a term that admits any node still fails the rule: the pod could land off the GPU
    terms.append({"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]})
    (jobs / "profile-l4.yaml").write_text(yaml.safe_dump(job), encoding="utf-8")
    res = cli(["check", str(jobs / "profile-l4.yaml"), "--json"], exit_code=1)
    assert "gpu-node-selector" in {f["rule"] for f in json.loads(res.stdout)["findings"]}


def test_plandiff_wraps_an_added_or_removed_allocation_at_80_columns() -> None:
    """An added or removed allocation's line ('gcp/us-central1 a2-ultragpu-4g on-demand, 2 x
    A100-80GB, 2 replicas, $11.7833/h') ran to 85 columns while the field lines beside it
    wrapped at 80 (new-user trial, 2026-12-05); it now wraps between words like them."""
    from scaleplan.plan import read_plan
    from scaleplan.plandiff import diff_lines, diff_plans

    plan = read_plan(ROOT / "examples" / "llm-chat" / "plan.yaml")
    a = plan.allocations[0].model_copy(update={
        "name": "chat-standard-nc80adis-h100-v5-od", "provider": "azure", "region": "southeastasia",
        "instance_type": "standard_nc80adis_h100_v5",
        "replicas": 12, "cost_per_hour": 123.4567,
    })
    other = plan.model_copy(update={"allocations": (a, *plan.allocations[1:])})
    lines = diff_lines(diff_plans(plan, other, ACCS))
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    text = "\n".join(lines)
    assert "azure/southeastasia standard_nc80adis_h100_v5 " in text and "$123.4567/h" in text, text


def test_plandiff_writes_spec_values_as_the_spec_does() -> None:
    """`~ spec  placement.include_flagged: False -> True` (ux7): the diff printed Python's
    repr of a spec's booleans and null; a user greps the spec for `true`, `false`, `null`."""
    from scaleplan.plan import read_plan
    from scaleplan.plandiff import diff_lines, diff_plans

    plan = read_plan(ROOT / "examples" / "llm-70b-tp" / "plan.yaml")
    placement = plan.spec.placement.model_copy(update={"include_flagged": not plan.spec.placement.include_flagged})
    after = plan.model_copy(update={"spec": plan.spec.model_copy(update={"placement": placement})})
    lines = diff_lines(diff_plans(plan, after, ACCS))
    assert "      placement.include_flagged: false -> true" in lines, lines


def test_diff_states_the_monthly_cost_of_each_plan_and_the_delta(cli) -> None:  # type: ignore[no-untyped-def]
    """A budget is signed per month: `diff` gave only $/h. It now states each plan's
    cost_per_month (as plan.yaml has it, 730 h) and the delta, in the text and --json."""
    from scaleplan.plan import read_plan

    a = ROOT / "examples" / "embedding-cpu-gpu" / "plan.yaml"
    b = ROOT / "examples" / "vision-daily" / "plan.yaml"
    pa, pb = read_plan(a), read_plan(b)
    doc = json.loads(cli(["diff", str(a), str(b), "--json"]).stdout)
    month = doc["cost_per_month"]
    assert month["before"] == pa.cost_per_month and month["after"] == pb.cost_per_month
    assert month["delta"] == pytest.approx(pb.cost_per_month - pa.cost_per_month, abs=0.005)
    text = cli(["diff", str(a), str(b)]).stdout
    delta = pb.cost_per_month - pa.cost_per_month
    want = f"monthly: ${pa.cost_per_month:,.2f} -> ${pb.cost_per_month:,.2f} (+${delta:,.2f}/month, 730 h)"
    assert want in text.splitlines(), text


def test_plandiff_writes_a_list_of_mappings_as_the_spec_does() -> None:
    """14a70b8 wrote a spec's own booleans and null as YAML, but an item of a list of mappings
    (traffic.classes, placement.quotas) still printed Python's dict repr:
    `[{'name': 'chat', 'share': 0.8, ...}]`, quoted keys and True / None inside."""
    from scaleplan.plan import read_plan
    from scaleplan.plandiff import FieldChange, diff_lines, diff_plans

    plan = read_plan(ROOT / "examples" / "llm-70b-tp" / "plan.yaml")
    chat, summ = plan.spec.traffic.classes
    classes = (chat.model_copy(update={"share": 0.7}), summ.model_copy(update={"share": 0.3}))
    traffic = plan.spec.traffic.model_copy(update={"classes": classes})
    after = plan.model_copy(update={"spec": plan.spec.model_copy(update={"traffic": traffic})})
    text = " ".join(" ".join(diff_lines(diff_plans(plan, after, ACCS), width=400)).split())
    assert "traffic.classes: [{name: chat, share: 0.8, input_tokens: 1024," in text, text
    assert "'" not in text.split("traffic.classes:")[1].split("Plan:")[0], text
    diff = diff_plans(plan, plan, ACCS)
    change = FieldChange("x", ({"on": True, "at": None, "hours": [1, 2]},), ())
    diff = diff.__class__(**{**diff.__dict__, "spec_changes": (change,)})
    assert "      x: [{on: true, at: null, hours: [1, 2]}] -> []" in diff_lines(diff, width=400)


def test_optimize_observed_and_diff_state_one_monthly_delta() -> None:
    """diff (ee2f860) states the monthly delta from each plan's cost_per_month (rounded to the
    cent); optimize --observed printed those two figures beside a delta of its own, from the
    hourly costs x 730: '$100.00 -> $200.00 (+$100.01/month)'."""
    from scaleplan.observe.replan import monthly_delta
    from scaleplan.plan import read_plan
    from scaleplan.plandiff import diff_plans

    plan = read_plan(ROOT / "examples" / "llm-70b-tp" / "plan.yaml")
    before = plan.model_copy(update={"cost_per_hour": 0.13698, "cost_per_month": 100.0})
    after = plan.model_copy(update={"cost_per_hour": 0.273978, "cost_per_month": 200.0})
    doc = diff_plans(before, after, ACCS).to_dict()
    delta = doc["cost_per_month"]["delta"]  # type: ignore[index]
    assert delta == 100.0 and round(monthly_delta(before, after), 2) == delta


def test_baselines_say_the_same_cost_and_small_savings_to_a_tenth() -> None:
    """A baseline that costs what the plan does read "saves 0%", as if it were a second, equally
    good plan; a 0.4 % saving read "saves 0%" too (ux8 #13)."""
    from scaleplan.plan import read_plan
    from scaleplan.plan_report import summary_lines

    plan = read_plan(ROOT / "examples" / "llm-chat" / "plan.yaml")
    def baseline(factor: float, saved: float):  # type: ignore[no-untyped-def]
        update = {"cost_per_hour": plan.cost_per_hour * factor, "savings_fraction": saved}
        return plan.baselines[0].model_copy(update=update)

    same = baseline(1.0, 0.0)
    shown = plan.model_copy(update={"baselines": (same, baseline(1.004, 0.004), baseline(2, 0.5))})
    text = [line.text for line in summary_lines(shown, [], accelerators=ACCS)]
    name = plan.baselines[0].name
    cost = f"${plan.cost_per_hour:.4f}/h"
    assert f"  - {name}: {cost}, the same cost as the plan ({same.description})" in text, text
    assert any(t.startswith(f"  - {name}: ") and ", saves 0.4% (" in t for t in text), text
    assert any(t.startswith(f"  - {name}: ") and ", saves 50% (" in t for t in text), text


@pytest.mark.parametrize(
    ("example", "said"),
    [
        ("examples/llm-70b-tp",
         "* capacity from the LLM model's predictions, calibrated on measured points"),
        # architecture-only points, which calibrate nothing (UX trial 31 F3)
        ("tests/data/llm-estimates",
         "* capacity from the LLM model's estimates (no measured profile: "
         "uncalibrated)"),
        # no profile (the example since 2026-12-07)
        ("examples/llm-chat",
         "* capacity from the LLM model's estimates (no profile: uncalibrated)"),
    ],
)
def test_the_footnote_says_a_calibrated_capacity_is_calibrated(example: str, said: str) -> None:
    """A plan on the calibrated LLM model read "* capacity from estimated profile points" under
    its table, where its warnings and explanation say calibrated (UX review 15, F4)."""
    from scaleplan.plan import read_plan
    from scaleplan.plan_report import summary_lines

    plan = read_plan(ROOT / example / "plan.yaml")
    text = [line.text for line in summary_lines(plan, [], accelerators=ACCS)]
    assert said in text, text


def test_diff_says_survive_loss_was_false_not_null() -> None:
    """A plan leaves placement.spot.survive_loss out while it is false (its hash stays that of
    a spec written before the field), so diff read its absence as null: 'survive_loss: null ->
    true' (UX review 15, F5). It is false, the default."""
    from scaleplan.plan import read_plan
    from scaleplan.plandiff import diff_plans

    plan = read_plan(ROOT / "examples" / "llm-chat" / "plan.yaml")
    spot = plan.spec.placement.spot
    assert spot.allowed and not spot.survive_loss
    survive = spot.model_copy(update={"survive_loss": True})
    pl = plan.spec.placement.model_copy(update={"spot": survive})
    after = plan.model_copy(update={"spec": plan.spec.model_copy(update={"placement": pl})})
    changes = diff_plans(plan, after, ACCS).to_dict()["spec"]
    assert changes == [
        {"field": "placement.spot.survive_loss", "before": False, "after": True}
    ], changes
