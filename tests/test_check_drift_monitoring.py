"""`check --plan` compares the rendered PrometheusRule with the plan (UX trial 36, finding 2).

An SLO alert loosened by hand (the TTFT bucket counted against moved from the SLO to 10x it,
a burn-rate threshold raised, a ``for`` lengthened, an alert deleted) passed ``check --plan``:
the drift check compared workloads, autoscalers, nodes and routing, not what pages the team.
Each recording rule's and alert's expression (whitespace aside) and ``for`` is now compared by
name; a rule of the user's own added beside them is not drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from tables_helpers import shipped_tables

from scaleplan.check import check_paths
from scaleplan.plan import read_plan

ROOT = Path(__file__).resolve().parents[1]
PLAN = ROOT / "examples" / "llm-moe" / "plan.yaml"  # keda-prometheus, service_monitor: true


def _rendered(tmp_path: Path) -> Path:
    from scaleplan.plan_outputs import write_manifests
    from scaleplan.render import render

    write_manifests(tmp_path / "out", render(read_plan(PLAN), shipped_tables()))
    (rule,) = (tmp_path / "out").glob("prometheusrule-*.yaml")
    return rule


def _drift(tmp_path: Path) -> list[tuple[int | None, str]]:
    report = check_paths([tmp_path / "out"], plan=read_plan(PLAN), plan_file=str(PLAN),
                         catalog=shipped_tables())
    return [(f.line, f.message) for f in report.findings if f.rule == "drift"]


def test_an_untouched_prometheus_rule_is_no_drift(tmp_path: Path) -> None:
    _rendered(tmp_path)
    assert _drift(tmp_path) == []


@pytest.mark.parametrize(
    ("pattern", "repl", "label"),
    [
        # the TTFT SLI's bucket: the SLO counted at 10x its value
        (r'(slo_ttft_bad_ratio:rate5m\n\s+expr: .*?le=~?)"([\d.]+)"', r'\1"30"',
         "rules[scaleplan:slo_ttft_bad_ratio:rate5m].expr"),
        # the fast burn-rate alert's threshold
        (r"(:rate1h\{[^}]*\} > )[\d.]+", r"\g<1>0.99", "BudgetBurn/1h].expr"),
        (r"(for: )15m", r"\g<1>6h", "BudgetBurn/6h].for"),
    ],
    ids=["ttft-bucket", "burn-threshold", "alert-for"],
)
def test_a_hand_edited_slo_alert_is_drift_at_its_line(
    tmp_path: Path, pattern: str, repl: str, label: str
) -> None:
    rule = _rendered(tmp_path)
    text = rule.read_text(encoding="utf-8")
    m = re.search(pattern, text)
    assert m is not None, pattern
    rule.write_text(re.sub(pattern, repl, text, count=1), encoding="utf-8")
    line = text[: m.end(1)].count("\n") + 1
    hits = [(ln, msg) for ln, msg in _drift(tmp_path) if label in msg]
    assert len(hits) == 1 and hits[0][0] == line, (_drift(tmp_path), line)
    assert "the plan renders" in hits[0][1] and len(hits[0][1]) < 300, hits


def test_a_deleted_alert_is_drift_and_a_rule_of_ones_own_is_not(tmp_path: Path) -> None:
    rule = _rendered(tmp_path)
    doc = yaml.safe_load(rule.read_text(encoding="utf-8"))
    alerts = next(g for g in doc["spec"]["groups"] if g["name"].endswith(".alerts"))
    gone = alerts["rules"].pop(0)
    alerts["rules"].append({"alert": "MyOwnAlert", "expr": "vector(1)", "for": "5m"})
    rule.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    name = gone["alert"] + (f"/{gone['labels']['long_window']}"
                            if "long_window" in gone.get("labels", {}) else "")
    msgs = [msg for _, msg in _drift(tmp_path)]
    assert [m for m in msgs if "MyOwnAlert" in m] == []
    assert any(m.startswith(f"rules[{name}].expr is (unset), the plan renders '...")
               for m in msgs), msgs


def test_a_drifted_expression_is_quoted_as_the_file_has_it(tmp_path: Path) -> None:
    """The bucket's regex ``le=~"60(\\\\.0)?"`` (two backslashes in the file) is quoted with
    two, not the four ``repr`` wrote; a control character in an expression is escaped."""
    rule = _rendered(tmp_path)
    text = rule.read_text(encoding="utf-8")
    bucket = 'le=~"60(\\\\.0)?"'  # le=~"60(\\.0)?" as the file has it
    assert text.count(bucket) > 1, text
    doc = yaml.safe_load(text)
    rules = [r for g in doc["spec"]["groups"] for r in g["rules"]]
    first = next(r for r in rules if bucket in str(r["expr"]))
    first["expr"] = first["expr"].replace(bucket, bucket.replace('"60', '"600'))
    other = next(r for r in rules if r is not first and "vllm:" in str(r["expr"]))
    other["expr"] = "\x1b]0;pwned\x07" + other["expr"]
    rule.write_text(yaml.safe_dump(doc, sort_keys=False, width=10_000), encoding="utf-8")
    msgs = [msg for _, msg in _drift(tmp_path)]
    name = first.get("record") or first["alert"]
    (moved,) = [m for m in msgs if m.startswith(f"rules[{name}].expr")]
    assert 'le=~"600(\\\\.0)?"' in moved and "\\\\\\\\" not in moved, moved
    assert moved == (
        f"rules[{name}].expr is " r"""'...lm",service="moe-chat",le=~"600(\\.0)?"}[5m])) / """
        r"""sum(rate(vl...', the plan renders '...lm",service="moe-chat",le=~"60(\\.0)?"}[5m]))"""
        r""" / sum(rate(vll...'"""
    ), moved
    (ctl,) = [m for m in msgs if "pwned" in m]
    assert "\x1b" not in ctl and "\x07" not in ctl and "'...\\x1b]0;pwned\\x07" in ctl, ctl


def test_a_rule_defined_twice_is_drift(tmp_path: Path) -> None:
    """Two rules of one key (name, long window): a loosened copy of the TTFT recording rule
    put before the plan's own. Until 2026-12-07 the last of them was the one compared (the
    plan's own: no drift) and the copy, which Prometheus evaluates too, went unsaid. Now the
    first is compared, and each later copy of a rule the plan renders is a finding at its
    line; a copy of a rule of one's own is not."""
    from scaleplan.check.drift import facts_of, rendered_objects

    shown = [o for o in rendered_objects(read_plan(PLAN), shipped_tables())
             if o.kind == "PrometheusRule"]
    assert shown and not any("#" in k for o in shown for k in facts_of(o.kind, o.data))
    rule = _rendered(tmp_path)
    doc = yaml.safe_load(rule.read_text(encoding="utf-8"))
    rules = next(g for g in doc["spec"]["groups"] if any(
        r.get("record") == "scaleplan:slo_ttft_bad_ratio:rate5m" for r in g["rules"]))["rules"]
    at = next(i for i, r in enumerate(rules)
              if r.get("record") == "scaleplan:slo_ttft_bad_ratio:rate5m")
    copy = {**rules[at], "expr": "vector(0)"}
    rules.insert(at, copy)
    rules += [{"alert": "Mine", "expr": "vector(1)"}, {"alert": "Mine", "expr": "vector(2)"}]
    rule.write_text(yaml.safe_dump(doc, sort_keys=False, width=10_000), encoding="utf-8")
    lines = rule.read_text(encoding="utf-8").splitlines()
    exprs = [n + 1 for n, ln in enumerate(lines) if "slo_ttft_bad_ratio:rate5m" in ln]
    found = _drift(tmp_path)
    label = "rules[scaleplan:slo_ttft_bad_ratio:rate5m]"
    assert [(ln, m) for ln, m in found if label in m] == [
        (exprs[0] + 1, f"{label}.expr is '...vector(0)...', the plan renders "
         "'...1 - (sum(rate(vllm:time_to_fir...'"),
        (exprs[1] + 1, f"{label} is defined again here (copy 2): Prometheus evaluates every "
         "copy, and only the first is compared with the plan's rule"),
    ], found
    assert not [m for _, m in found if "Mine" in m], found


def test_a_copy_is_known_by_its_fact_not_by_its_label() -> None:
    """r2 review: repeated() parsed the copy's count back out of its own '#N' label suffix.
    The count is a fact now (Repeat): the second rule of a key says which copy it is and which
    rule it repeats, and a label that merely ends in '#2.expr' is no copy."""
    from scaleplan.check.drift_monitoring import Repeat, prometheus_rule_facts, repeated

    doc = {"spec": {"groups": [{"rules": [
        {"record": "r", "expr": "vector(1)"}, {"record": "r", "expr": "vector( 2 )"},
        {"alert": "A", "expr": "up == 0", "labels": {"long_window": "1h"}},
    ]}]}}
    facts: dict = {}
    prometheus_rule_facts(facts, doc)
    assert facts["rules[r].expr"][1] == "vector(1)"
    assert facts["rules[r]#2.expr"] == (
        ("spec", "groups", 0, "rules", 1, "expr"), Repeat("rules[r].expr", 2, "vector( 2 )")
    )
    assert facts["rules[A/1h].expr"][1] == "up == 0"
    want = {"rules[r].expr": facts["rules[r].expr"]}
    assert repeated(facts["rules[r]#2.expr"][1], want) == (
        "rules[r] is defined again here (copy 2): Prometheus evaluates every copy, and only "
        "the first is compared with the plan's rule"
    )
    plain = {"rules[r]#2.expr": (("spec",), "vector(2)")}  # the suffix alone: no copy
    assert repeated(plain["rules[r]#2.expr"][1], want) is None
