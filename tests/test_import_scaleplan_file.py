"""``profile import`` of a scaleplan YAML file (a plan, a profile) is said as what it is, not
"not valid JSON: Expecting value" (UX trial 34 F6), exit 3 naming the file, line and kind."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_plan_or_profile_given_as_a_benchmark_result(cli) -> None:
    plan = ROOT / "examples" / "llm-chat" / "plan.yaml"
    r = cli(["profile", "import", str(plan), "--accelerator", "H100"], exit_code=3)
    said = " ".join(r.stderr.split())
    assert f"error: {plan}:2: kind: this is a plan (kind: Plan), not a benchmark result " \
        "(pass the result JSON the benchmark wrote; `scaleplan simulate`" in said, r.stderr
    prof = ROOT / "tests" / "data" / "observe" / "profile.yaml"
    r = cli(["profile", "import", str(prof), "--accelerator", "H100"], exit_code=3)
    assert "this is a profile (kind: Profile), not a benchmark result" in r.stderr, r.stderr


def test_other_bad_json_still_says_so(cli, tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("kind: Plan is no YAML document here {")
    r = cli(["profile", "import", str(bad), "--accelerator", "H100"], exit_code=3)
    assert "not valid JSON" in r.stderr, r.stderr


def test_a_scaleplan_file_is_told_as_file_kinds_tells_it(cli, tmp_path: Path) -> None:
    """The same rule as every other command (scaleplan.file_kinds, r2 review): a catalog without
    kind: (it defaults) is told by its instances:, and a plan whose first line is a comment is
    still a plan; both read "not valid JSON: Expecting value" when only a file starting with
    apiVersion/kind was looked at."""
    cat = tmp_path / "catalog.yaml"
    cat.write_text(
        "instances:\n  - {provider: onprem, region: dc1, instance_type: x, accelerator: H100,\n"
        "      accelerator_count: 8, vcpus: 1, memory_gib: 1, price_ondemand: 0}\n"
    )
    r = cli(["profile", "import", str(cat), "--accelerator", "H100"], exit_code=3)
    said = " ".join(r.stderr.split())
    assert f"error: {cat}:1: this is a catalog (it has instances: and no kind:), not a " \
        "benchmark result (pass the result JSON the benchmark wrote; a spec lists it in " \
        "placement.catalogs" in said, r.stderr
    plan = tmp_path / "plan.yaml"
    text = (ROOT / "examples" / "llm-chat" / "plan.yaml").read_text()
    plan.write_text("# the plan we run\n" + text)
    r = cli(["profile", "import", str(plan), "--accelerator", "H100"], exit_code=3)
    assert f"{plan}:3: kind: this is a plan (kind: Plan), not a benchmark result" in " ".join(
        r.stderr.split()
    ), r.stderr
