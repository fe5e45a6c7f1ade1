"""``kubernetes.autoscaler.max_replicas_factor``: room above the plan's peak for spikes the plan
does not foresee (UX trial 28 / h5: maxReplicaCount was the planned peak, so a surge past the
peak's capacity could not scale out at all). Real render, real simulator, real spec checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from llm_sim_helpers import optimized

from scaleplan.plan import read_plan
from scaleplan.render.replay import formula_count
from scaleplan.render.room import bounds

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "tests" / "data" / "surge" / "spec.yaml"
KEDA = "    type: keda-prometheus\n"


def _spec(factor: float | None, kind: str = "keda-prometheus") -> str:
    text = SPEC.read_text(encoding="utf-8")
    assert KEDA in text
    extra = "" if factor is None else f"    max_replicas_factor: {factor}\n"
    return text.replace(KEDA, f"    type: {kind}\n{extra}")


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("factor")
    out = {}
    for name, factor, kind in (
        ("base", None, "keda-prometheus"), ("x2", 2, "keda-prometheus"), ("hpa", 1.5, "hpa"),
    ):
        (d / name).mkdir()
        out[name] = optimized(d / name, "spec", _spec(factor, kind))
    return out


def _render(cli: Any, plan: Path, out: Path) -> tuple[dict[str, Any], str]:
    res = cli(["render", str(plan), "--out", str(out)])
    objs = {}
    for f in sorted(out.glob("*.yaml")):
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and "kind" in doc:
            objs[doc["kind"]] = doc
    return objs, res.stderr


def test_the_factor_raises_the_autoscalers_bound_and_the_node_limits(
    cli: Any, plans: dict[str, Path], tmp_path: Path,
) -> None:
    """x2: maxReplicaCount 3 -> 6 (the plan's peak, 3, doubled), KEDA's fallback stays at the
    peak, the NodePool's GPU limit covers 6 nodes (+1 for a replacement), the n+1 formula keeps
    counting past the peak's rate, and render says what a full burst costs. The plan is the
    same but for the spec's field (the factor is not in the plan's cost)."""
    base, base_err = _render(cli, plans["base"], tmp_path / "base")
    x2, x2_err = _render(cli, plans["x2"], tmp_path / "x2")
    b, s = base["ScaledObject"]["spec"], x2["ScaledObject"]["spec"]
    assert (b["maxReplicaCount"], s["maxReplicaCount"]) == (3, 6)
    assert b["fallback"]["replicas"] == s["fallback"]["replicas"] == 3
    limits = [o["spec"]["limits"]["nvidia.com/gpu"] for o in (base["NodePool"], x2["NodePool"])]
    assert limits == ["4", "7"]
    peak_rate = max(read_plan(plans["x2"]).demand.rps)
    for spec_, top in ((b, 3), (s, 6)):
        formula = spec_["advanced"]["scalingModifiers"]["formula"]
        counts = [formula_count(formula, {"requests": peak_rate * k}) for k in (1, 1.6, 2.5, 9)]
        assert counts[0] == 3 and counts[-1] == top
        assert counts[1] == (3 if top == 3 else 4) and counts[2] == (3 if top == 3 else 6)
    assert "max_replicas_factor" not in base_err
    assert "max_replicas_factor 2: the autoscalers may run more replicas than the plan's peak " \
        "(chat-g6e-xlarge-od 3 -> 6); a full burst costs up to $5.58/h above the peak's " \
        "$5.58/h" in x2_err.replace("\n", " ")
    # the raised bound is what the plan renders: no drift (r2 review 41 item 9)
    cli(["check", str(tmp_path / "x2"), "--plan", str(plans["x2"])])
    cli(["check", str(tmp_path / "base"), "--plan", str(plans["x2"])], exit_code=1)
    p_base, p_x2 = read_plan(plans["base"]), read_plan(plans["x2"])
    assert p_base.allocations == p_x2.allocations
    assert "max_replicas_factor" not in plans["base"].read_text(encoding="utf-8")


def test_an_hpa_gets_the_same_room(cli: Any, plans: dict[str, Path], tmp_path: Path) -> None:
    objs, _ = _render(cli, plans["hpa"], tmp_path / "hpa")
    peak = read_plan(plans["hpa"]).allocations[0].replicas
    assert objs["HorizontalPodAutoscaler"]["spec"]["maxReplicas"] == -(-peak * 3 // 2)


def test_a_surge_past_the_peak_scales_out_with_room(cli: Any, plans: dict[str, Path]) -> None:
    """2.5x at the peak with pods that serve 60 s after they are asked for: at the planned
    peak as bound no pod can be added (3.7 % of the surge's requests meet the SLO); with x2
    room KEDA adds 3 and the surge holds."""
    args = ["--surge", "2.5x@600+1500", "--replace-after", "60", "--json"]
    got = {}
    notes = {}
    for name in ("base", "x2"):
        res = cli(["simulate", str(plans[name]), *args], exit_code=None)
        got[name] = json.loads(res.stdout)["surge"]
        notes[name] = " ".join(json.loads(res.stdout)["notes"])
    assert got["base"]["holds"] is False and got["base"]["pods_added"] == {}
    # the failed surge says why no pod came, and which field gives room (UX trial 29 F4)
    assert "autoscaler asked for more than its bound of 3 replicas from" in notes["base"]
    assert "kubernetes.autoscaler.max_replicas_factor gives room above the plan's peak" \
        in notes["base"]
    assert "its bound" not in notes["x2"]
    assert got["x2"]["holds"] is True
    assert max(c["replicas"] for c in got["x2"]["replicas"]) == 6


def test_owned_allocations_and_the_specs_caps_bound_the_room(plans: dict[str, Path]) -> None:
    """An allocation priced $0/h runs the nodes that are owned: no room above them. The spec's
    caps hold with every allocation at its bound (r2 review 41 item 1: max_replicas 3, a
    4-GPU quota and factor 3 rendered maxReplicaCount 9 and a 10-GPU NodePool limit)."""
    from scaleplan.spec import Quota

    plan = read_plan(plans["x2"])
    (a,) = plan.allocations
    never = lambda _: False  # noqa: E731
    assert bounds(plan, never) == ({a.name: 6}, [])
    free = a.model_copy(update={"price_per_node_hour": 0.0})
    owned = plan.model_copy(update={"allocations": (free,)})
    assert bounds(owned, never)[0] == {a.name: a.replicas}

    def with_placement(**kw: Any) -> Any:
        pl = plan.spec.placement.model_copy(update=kw)
        return plan.model_copy(update={"spec": plan.spec.model_copy(update={"placement": pl})})

    got, notes = bounds(with_placement(max_replicas=4), never)
    assert got == {a.name: 4} and "stops at placement.max_replicas 4" in notes[0]
    quota = Quota(provider="aws", max_gpus=5)
    got, notes = bounds(with_placement(quotas=(quota,)), never)
    assert got == {a.name: 5} and "stops at quota" in notes[0] and "(5 GPUs)" in notes[0]
    assert bounds(with_placement(max_replicas=2), never)[0] == {a.name: 3}  # peaks reach it


@pytest.mark.parametrize(
    ("value", "kind", "said"),
    [
        ("0.5", "keda-prometheus", "must be at least 1; got 0.5"),
        ("11", "keda-prometheus", "must be at most 10; got 11"),
        ("two", "hpa", "must be a number; got 'two'"),
        ("2", "none", "max_replicas_factor 2 needs an autoscaler: type none fixes each"),
    ],
)
def test_bad_factors_name_the_field(
    cli: Any, tmp_path: Path, value: str, kind: str, said: str,
) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(_spec(None, kind).replace(
        f"    type: {kind}\n", f"    type: {kind}\n    max_replicas_factor: {value}\n"
    ), encoding="utf-8")
    res = cli(["optimize", str(spec), "--out", str(tmp_path / "out")], exit_code=3)
    assert "kubernetes.autoscaler.max_replicas_factor" in res.stderr
    assert said in " ".join(res.stderr.split())
    assert not (tmp_path / "out").exists()
