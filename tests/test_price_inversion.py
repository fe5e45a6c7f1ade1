"""A row priced below a row it contains is flagged ``price-inversion`` (FinOps review, #1).

GCP's a2-ultragpu-1g (1 x A100 80 GB, 12 vCPU, 170 GiB) was listed at $2.9458/h in us-central1,
below the a2-highgpu-1g it contains (1 x A100 40 GB, 12 vCPU, 85 GiB) at $3.6734/h, and an LLM
spec planned on it. The source's VM part of the price is right (it matches the A2 vCPU and
memory rates); its A100 80 GB GPU row is not (its on-demand price is below its own spot price).
The rule (:mod:`scaleplan.catalog.consistency`) finds such rows from the catalog alone; the
catalog builder flags them as it flags the GCP A3 rows, so the optimizer leaves them out unless
``placement.include_flagged``."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaleplan.catalog.consistency import PRICE_INVERSION, contains, price_inversions
from scaleplan.catalog.files import load_accelerators, load_catalog
from scaleplan.catalog.model import Catalog, InstanceRow

ACCS = {a.name: a for a in load_accelerators()}


def row(itype: str, acc: str | None, count: int, vcpus: int, mem: float, price: float, *,
        spot: float | None = None, region: str = "r1", provider: str = "p") -> InstanceRow:
    return InstanceRow(
        provider=provider, region=region, instance_type=itype, family=itype.split("-")[0],
        accelerator=acc, accelerator_count=count, vcpus=vcpus, memory_gib=mem,
        price_ondemand=price, price_spot=spot,
    )


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def test_the_same_gpu_with_more_memory_contains_the_smaller() -> None:
    big, small = row("u-1g", "A100-80GB", 1, 12, 170, 2.0), row("h-1g", "A100", 1, 12, 85, 3.0)
    assert contains(big, small, ACCS) and not contains(small, big, ACCS)
    assert contains(row("x", "H200", 8, 224, 2952, 1.0), row("y", "H100", 8, 208, 1872, 2.0), ACCS)
    # another generation is another product, however its figures compare: not contained
    assert not contains(row("a", "H100", 1, 26, 234, 1.0), row("b", "A100", 1, 12, 85, 2.0), ACCS)
    # fewer vCPUs, less host memory or fewer GPUs: not contained
    assert not contains(row("c", "A100-80GB", 1, 8, 170, 1.0), small, ACCS)
    assert not contains(row("d", "A100-80GB", 1, 12, 80, 1.0), small, ACCS)
    two = row("f", "A100", 2, 12, 85, 2.0)
    assert not contains(row("e", "A100-80GB", 1, 12, 170, 1.0), two, ACCS)
    # an identical machine under another name is no larger: not contained
    assert not contains(row("g", "A100", 1, 12, 85, 1.0), small, ACCS)
    # CPU-only rows are left alone
    assert not contains(row("c1", None, 0, 8, 32, 1.0), row("c2", None, 0, 4, 16, 2.0), ACCS)


def test_only_an_on_demand_price_below_a_contained_row_is_flagged() -> None:
    rows = [
        row("u-1g", "A100-80GB", 1, 12, 170, 2.95, spot=2.74),
        row("h-1g", "A100", 1, 12, 85, 3.67, spot=1.93),
        row("h-2g", "A100", 2, 24, 170, 7.35),
        row("u-2g", "A100-80GB", 2, 24, 340, 7.40, spot=1.0),  # dearer than h-2g: fine
        # the same rows in another region or provider are not compared with these
        row("h-1g", "A100", 1, 12, 85, 9.0, region="r2"),
        row("h-1g", "A100", 1, 12, 85, 9.0, provider="q"),
    ]
    found = price_inversions(rows, ACCS)
    assert set(found) == {("p", "r1", "u-1g")}
    assert found[("p", "r1", "u-1g")].instance_type == "h-1g"
    # spot is a market (AWS's spot is not even monotonic in size): a spot inversion is no flag
    spot_only = [
        row("big", "L40S", 1, 8, 64, 2.0, spot=0.5), row("small", "L4", 1, 4, 16, 1.0, spot=0.9),
    ]
    assert price_inversions(spot_only, ACCS) == {}


def test_the_shipped_gcp_a100_80gb_rows_below_their_40gb_siblings_are_flagged(
    catalog: Catalog,
) -> None:
    flagged = [r for r in catalog.rows if PRICE_INVERSION in r.flags]
    a2 = {(r.region, r.instance_type) for r in flagged if r.family == "a2"}
    sizes = ("a2-ultragpu-1g", "a2-ultragpu-2g", "a2-ultragpu-4g", "a2-ultragpu-8g")
    assert a2 == {("us-central1", t) for t in sizes}  # europe-west4 rows: dearer than siblings
    others = {(r.provider, r.instance_type) for r in flagged if r.family != "a2"}
    assert others == {("gcp", "a3-ultragpu-8g")}  # H200 below H100 rows: flagged suspect-price too


def test_the_shipped_flags_are_the_rule_applied_to_the_shipped_rows(catalog: Catalog) -> None:
    """The builder flags exactly what the rule finds: no row by hand, none missed (the A3 H200
    rows it also finds keep their suspect-price flag beside it)."""
    found = price_inversions(catalog.rows, ACCS)
    assert found, "the rule finds nothing in the shipped catalog"
    for r in catalog.rows:
        assert (PRICE_INVERSION in r.flags) == (r.key in found), r.key


def test_the_gcp_catalog_header_says_why(catalog: Catalog) -> None:
    gcp = Path(__file__).resolve().parents[1] / "catalogs" / "gcp.yaml"
    header = gcp.read_text(encoding="utf-8").split("instances:", 1)[0]
    assert "price-inversion" in header and "a2-ultragpu" in header


LLM = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: chat-gcp}
model: {architecture: llama-3.1-8b, engine: vllm}
traffic:
  peak_rps: 6
  classes: [{name: chat, share: 1.0, input_tokens: 2048, output_tokens: 256}]
slo: {ttft_ms: 3000, tpot_ms: 50}
placement:
  providers: [gcp]
  regions: [us-central1]
ACCS
kubernetes: {image: vllm/vllm-openai:v0.11.0, flavor: gke}
"""


def test_an_llm_plan_no_longer_rests_on_the_mispriced_row(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The FinOps review's plan: 2 x a2-ultragpu-2g at $5.8916/h. It now plans on the A100
    40 GB rows the 80 GB ones undercut ($11.0202/h; $7.3468/h before a decode step carried whole
    prompts, docs/llm.md); a spec that names A100-80GB is told why its
    rows are left out, and include_flagged brings them back: 3 A100-80GB replicas at
    $8.8375/h since each replica is derated as one queue on its own rates (3.51 req/s a
    replica, where one at the 3.73 planned before attained 92.5-98.4 % of its p95 in simulate;
    tests/test_llm_queue_slots.py), 2 at $5.8916/h before."""
    import json

    monkeypatch.chdir(tmp_path)
    Path("s.yaml").write_text(LLM.replace("ACCS\n", ""), encoding="utf-8")
    doc = json.loads(cli(["optimize", "s.yaml", "--out", "o", "--json", "--no-manifests"]).stdout)
    assert {a["instance_type"] for a in doc["allocations"]} <= {"a2-highgpu-1g", "a2-highgpu-2g"}
    assert doc["cost_per_hour"] == pytest.approx(11.02016, abs=1e-4)
    named = LLM.replace("ACCS", "  accelerators: [A100-80GB, A100]")
    Path("n.yaml").write_text(named, encoding="utf-8")
    res = cli(["optimize", "n.yaml", "--out", "o2", "--no-manifests"])
    err = " ".join(res.stderr.split())
    assert "A100-80GB is left out in gcp us-central1" in err and "price-inversion" in err, err
    back = named.replace("  accelerators:", "  include_flagged: true\n  accelerators:")
    Path("b.yaml").write_text(back, encoding="utf-8")
    doc = json.loads(cli(["optimize", "b.yaml", "--out", "o3", "--json", "--no-manifests"]).stdout)
    assert {a["instance_type"] for a in doc["allocations"]} <= {"a2-ultragpu-1g", "a2-ultragpu-2g"}
    assert doc["cost_per_hour"] == pytest.approx(8.83746, abs=1e-4)
