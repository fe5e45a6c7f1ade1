"""A provider of one's own (a neocloud, a second data centre): a catalog's rows may carry any
provider name (docs/catalog.md), and the spec may now name it in placement.providers and
quotas (UX review 14, F7: only aws, gcp, azure and onprem were accepted, exit 3)."""

from __future__ import annotations

from pathlib import Path

import yaml

CATALOG = """\
apiVersion: scaleplan/v1
kind: Catalog
provenance: {source: reserved nodes, build_date: '2026-12-01'}
instances:
- {provider: coreweave, region: us-east-04, instance_type: l40s-4x, family: l40s,
   accelerator: L40S, accelerator_count: 4, vcpus: 64, memory_gib: 512, price_ondemand: 6.0}
"""
SPEC = """\
apiVersion: scaleplan/v1
kind: InferenceService
metadata: {name: chat}
model: {architecture: llama-3.1-8b, engine: vllm}
traffic:
  peak_rps: 4
  classes: [{name: short, share: 1, input_tokens: 512, output_tokens: 128}]
slo: {ttft_ms: 1000, tpot_ms: 60}
placement:
  providers: [PROVIDERS]
  catalogs: [cw.yaml]
  quotas: [{provider: coreweave, family: l40s, max_nodes: 2}]
kubernetes: {image: 'vllm/vllm-openai:v0.11.0', flavor: generic}
"""


def test_a_provider_of_ones_own_plans(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "cw.yaml").write_text(CATALOG)
    (tmp_path / "spec.yaml").write_text(SPEC.replace("PROVIDERS", "coreweave"))
    cli(["validate", str(tmp_path / "spec.yaml")])
    cli(["optimize", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "out")])
    plan = yaml.safe_load((tmp_path / "out" / "plan.yaml").read_text())
    assert {a["provider"] for a in plan["allocations"]} == {"coreweave"}
    assert {a["instance_type"] for a in plan["allocations"]} == {"l40s-4x"}


def test_a_provider_no_catalog_has_is_refused_with_a_did_you_mean(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "cw.yaml").write_text(CATALOG)
    (tmp_path / "spec.yaml").write_text(SPEC.replace("PROVIDERS", "coreweave, asw"))
    res = cli(["validate", str(tmp_path / "spec.yaml")], exit_code=3)
    assert "placement.providers[1]: no catalog has rows for provider 'asw'" in res.stderr
    assert "did you mean 'aws'?" in res.stderr
    (tmp_path / "spec.yaml").write_text(SPEC.replace("PROVIDERS", "Core Weave"))
    res = cli(["validate", str(tmp_path / "spec.yaml")], exit_code=3)
    assert "placement.providers[0]" in res.stderr


def test_a_catalog_provider_the_spec_cannot_name_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A catalog row took any provider name ('CoreWeave'), which the spec's providers and
    quotas refuse (lower case, digits, '-', '_', '.'): rows no spec could plan on, listed by
    `catalog list` without a word (r2 review). The catalog now checks the same name."""
    (tmp_path / "cw.yaml").write_text(CATALOG.replace("provider: coreweave", "provider: CoreWeave"))
    res = cli(["catalog", "list", "--catalog", str(tmp_path / "cw.yaml")], exit_code=3)
    assert "provider" in res.stderr and "CoreWeave" in res.stderr, res.stderr


def test_a_bad_provider_name_says_what_a_name_is(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The spec's and the catalog's provider pattern errors printed the regex (r2 review)."""
    (tmp_path / "cw.yaml").write_text(CATALOG.replace("provider: coreweave", "provider: Core_"))
    (tmp_path / "spec.yaml").write_text(SPEC.replace("PROVIDERS", "Core Weave"))
    for args in (["validate", str(tmp_path / "spec.yaml")],
                 ["catalog", "list", "--catalog", str(tmp_path / "cw.yaml")]):
        res = cli(args, exit_code=3)
        assert "lower case letters, digits" in res.stderr, res.stderr
        assert "[a-z0-9]" not in res.stderr, res.stderr
