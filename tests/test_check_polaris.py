"""Agreement with Polaris: for every rule scaleplan shares with a Polaris check, Polaris's own
pass/fail fixtures give the same verdict (tests/data/check/polaris/ORIGIN.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scaleplan.catalog.model import Catalog
from scaleplan.check import RULES, check_paths

POLARIS = Path(__file__).parent / "data" / "check" / "polaris"

SHARED: dict[str, set[str]] = {}
for _r in RULES:
    for _p in _r.polaris:
        SHARED.setdefault(_p, set()).add(_r.id)

# Where scaleplan is deliberately stricter than Polaris (documented in docs/ci.md).
STRICTER = {
    # minAvailable == the HPA's minReplicas blocks every eviction at minimum scale; Polaris
    # only fails minAvailable > minReplicas.
    ("pdbMinAvailableGreaterThanHPAMinReplicas", "success.equals.yaml"),
    # No HPA (or none for this Deployment): the Deployment's replicas (1 by default) count, and
    # minAvailable 5 of 1 pod blocks every eviction; Polaris skips the check without an HPA.
    ("pdbMinAvailableGreaterThanHPAMinReplicas", "success.no-hpa.yaml"),
    ("pdbMinAvailableGreaterThanHPAMinReplicas", "success.hpa-no-match.yaml"),
    # An HPA without minReplicas has a minimum of 1 (the Kubernetes default); Polaris skips it.
    ("pdbMinAvailableGreaterThanHPAMinReplicas", "success.no-min-replicas.yaml"),
}
EXTRA_CHECKS = {"pdbMinAvailableGreaterThanHPAMinReplicas": {"pdb-blocks-eviction"}}


def _cases() -> list[tuple[str, Path]]:
    out = []
    for check in sorted({*SHARED, *EXTRA_CHECKS}):
        files = sorted((POLARIS / check).glob("*.yaml"))
        assert files, f"no fixtures copied for {check}"
        out.extend((check, f) for f in files)
    return out


CASES = _cases()


def test_shared_checks_have_fixtures() -> None:
    assert len(SHARED) >= 15
    for check in SHARED:
        assert (POLARIS / check).is_dir(), check


@pytest.mark.parametrize(("check", "fixture"), CASES, ids=[f"{c}/{f.name}" for c, f in CASES])
def test_agrees_with_polaris(tables: Catalog, check: str, fixture: Path) -> None:
    rules = SHARED.get(check) or EXTRA_CHECKS[check]
    # Like Polaris, evaluate only the rule(s) for this check (the fixtures break others).
    others = [r.id for r in RULES if r.id not in rules]
    report = check_paths(
        [fixture], disabled_rules=others, enabled_rules=sorted(rules), catalog=tables
    )
    fired = [f for f in report.findings if f.rule in rules]
    must_fail = "failure" in fixture.name
    if (check, fixture.name) in STRICTER:
        assert fired, "scaleplan is documented as stricter here and must flag it"
        return
    if must_fail:
        assert fired, (
            f"Polaris fails {fixture.name} for {check}; scaleplan {sorted(rules)} passed it"
        )
    else:
        assert not fired, [f"{f.rule}: {f.message}" for f in fired]
