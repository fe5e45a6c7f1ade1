"""render and check --plan find the spec's own catalogs beside the plan (e10590d), merged as
optimize merges them (the spec's, then --catalog's, which wins), from a bare plan path too,
and a --catalog that is missing is still its own error (r2 review 39 items 1, 2, 5)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import EXAMPLES

SRC = EXAMPLES / "vision-daily"
pytestmark = pytest.mark.skipif(not SRC.is_dir(), reason="examples/vision-daily not there")
ROW = (
    "apiVersion: scaleplan/v1\nkind: Catalog\nprovenance: {source: test, build_date: "
    "'2026-12-01'}\ninstances:\n"
    "- {provider: gcp, region: us-central1, instance_type: g2-standard-4, "
    "family: g2, accelerator: L4, accelerator_count: 1, vcpus: 4, memory_gib: 16, "
    "price_ondemand: 0.7, node_labels: {pool: POOL}}\n"
)


@pytest.fixture
def planned(cli: Any, tmp_path: Path) -> Path:
    """vision-daily with placement.catalogs: [a.yaml] (pool-a), optimized with --catalog
    b.yaml (pool-b) into tmp_path/out."""
    for name in ("spec.yaml", "profile.yaml"):
        shutil.copy(SRC / name, tmp_path / name)
    spec = tmp_path / "spec.yaml"
    text = spec.read_text(encoding="utf-8").replace("  redundancy: zone\n", "")
    spec.write_text(text.replace("placement:\n", "placement:\n  catalogs: [a.yaml]\n"))
    (tmp_path / "a.yaml").write_text(ROW.replace("POOL", "pool-a"), encoding="utf-8")
    (tmp_path / "b.yaml").write_text(ROW.replace("POOL", "pool-b"), encoding="utf-8")
    out = tmp_path / "out"
    cli(["optimize", str(spec), "--out", str(out), "--catalog", str(tmp_path / "b.yaml")])
    return tmp_path


def pools(folder: Path) -> set[str]:
    out = set()
    for f in folder.glob("deployment-*.yaml"):
        pod = yaml.safe_load(f.read_text(encoding="utf-8"))["spec"]["template"]["spec"]
        out.add(pod.get("nodeSelector", {}).get("pool", ""))
    return out


def test_the_given_catalog_wins_over_the_spec_one_found(cli: Any, planned: Path) -> None:
    out, b = planned / "out", str(planned / "b.yaml")
    assert pools(out / "manifests") == {"pool-b"}  # optimize: --catalog after the spec's
    cli(["render", str(out / "plan.yaml"), "--out", str(planned / "r"), "--catalog", b])
    assert pools(planned / "r") == {"pool-b"}
    cli(["check", str(out / "manifests"), "--plan", str(out / "plan.yaml"), "--catalog", b])


def test_a_bare_plan_path_finds_the_spec_catalog(cli: Any, planned: Path) -> None:
    out = planned / "out"
    cwd = Path.cwd()
    os.chdir(out)
    try:
        r = cli(["render", "plan.yaml", "--out", "r", "--catalog", "../b.yaml"])
    finally:
        os.chdir(cwd)
    assert "which no --catalog gives" not in r.stderr, r.stderr
    assert pools(out / "r") == {"pool-b"}


@pytest.mark.parametrize("bad", ["missing.yaml", "."])
def test_a_bad_catalog_option_is_its_own_error(cli: Any, planned: Path, bad: str) -> None:
    out = planned / "out"
    cat = str(planned / bad)
    for args in (
        ["render", str(out / "plan.yaml"), "--out", str(planned / "r"), "--catalog", cat],
        ["check", str(out / "manifests"), "--plan", str(out / "plan.yaml"), "--catalog", cat],
    ):
        r = cli(args, exit_code=3)
        assert "internal error" not in r.stderr and bad.strip(".") in r.stderr, r.stderr


def test_render_and_check_take_each_catalog_digest_once(
    cli: Any, planned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """r2 review 39 (render): the spec catalogs found beside the plan and the --catalog files
    were hashed by spec_catalogs_found, then each again by catalogs_not_given and once more by
    types_in_no_catalog's own call of it. The digests now come back with the files found
    (inputs.GivenCatalogs). sha256_file remembers a file's digest, so this saved stat calls,
    not reads; the count is what the test can see (a spy: the real function runs). The
    parsed-file cache's key (scaleplan.cache, load_tables) is its own and not counted."""
    import sys

    import scaleplan.yamlio as yamlio

    real, calls = yamlio.sha256_file, []

    def spy(path: str | Path) -> str:
        if sys._getframe(1).f_globals["__name__"] == "scaleplan.inputs":
            calls.append(Path(path).resolve())
        return real(path)

    monkeypatch.setattr(yamlio, "sha256_file", spy)
    out, a, b = planned / "out", (planned / "a.yaml").resolve(), planned / "b.yaml"
    for args in (
        ["render", str(out / "plan.yaml"), "--out", str(planned / "r"), "--catalog", str(b)],
        ["check", str(out / "manifests"), "--plan", str(out / "plan.yaml"), "--catalog", str(b)],
    ):
        calls.clear()
        r = cli(args)
        assert "which no --catalog gives" not in r.stderr, r.stderr  # a.yaml found beside
        assert (calls.count(a), calls.count(b.resolve())) == (1, 1), (args[0], calls)
