"""An LLM replica's derated rate holds its SLO percentile in the token-level simulator.

The optimizer derated each class of an LLM replica alone, as M/D/c slots at the class's
open-loop rate. One replica of chat-aks (tests/test_llm_nplus1_sim.py) planned at 5.40 req/s
attained 93.0-95.8 % of its p95 in ``simulate`` (four seeds, 15,000 requests a class): a
queue at its slots drains one departure at a time from sequences at every stage, not in
M/D/c's deterministic rhythm; a replica that queued keeps the cohorts its queue admitted
together (the queue-fed, closed-loop rates); and a waiting request of either class waits
for a slot either class frees. Now the replica is a birth-death chain over the LLM model's
queue-fed rates at each sequence count, for the class mix
(:func:`scaleplan.solve.queueing.max_rate_slots`, :func:`scaleplan.solve.llm_capacity.
queue_derating`).
"""

from __future__ import annotations

import math

import pytest
from test_llm_nplus1_sim import CHAT_AKS

from scaleplan.inputs import shipped_accelerators
from scaleplan.solve.queueing import erlang_c, max_rate_slots

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

ONE_REPLICA = (
    CHAT_AKS.replace("peak_rps: 6", "peak_rps: 1\n  headroom: 0")
    .replace("redundancy: n+1", "redundancy: none\n  min_replicas: 1")
    .replace("spot: {allowed: true}", "spot: {allowed: false}")
)


def _mmc_rate(c: int, mu: float, budget_ms: float, pct: int) -> float:
    """The largest rate of an M/M/c queue whose p-th percentile wait fits ``budget_ms``."""
    lo, hi = 0.0, 0.95 * c * mu
    for _ in range(60):
        lam = (lo + hi) / 2
        pw, tail = erlang_c(c, lam / mu), 1 - pct / 100
        w = 0.0 if pw <= tail else 1000 * math.log(pw / tail) / (c * mu - lam)
        lo, hi = (lam, hi) if w <= budget_ms else (lo, lam)
    return lo


def test_chain_with_linear_rates_is_erlang_c() -> None:
    """Departures at n x mu below the slots are the M/M/c queue: the same rate."""
    for c, mu, budget in ((1, 2.0, 300.0), (8, 0.5, 1500.0), (48, 0.13, 700.0)):
        rate = max_rate_slots([k * mu for k in range(1, c + 1)], budget, 95)
        assert rate == pytest.approx(_mmc_rate(c, mu, budget, 95), abs=2e-4)


def test_slower_rates_below_the_slots_reach_them_more_often() -> None:
    """The same rate at the slots, lower below them (a replica whose cohorts cluster): it sits
    at its slots more often, so it may run less busy."""
    c, top = 48, 6.0
    rates = [top * math.sqrt(k / c) for k in range(1, c + 1)]
    slower = [0.9 * t for t in rates[:-1]] + [top]
    assert max_rate_slots(slower, 700.0, 95) < 0.98 * max_rate_slots(rates, 700.0, 95)


def test_chat_aks_replica_holds_p95_at_its_planned_rate(tmp_path: pytest.TempPathFactory) -> None:
    """One chat-aks replica driven at exactly its planned capacity holds the p95 in the
    simulator over several seeds (it attained 93.0-95.8 % at the 5.40 req/s planned before)."""
    from scaleplan.inputs import load_inputs
    from scaleplan.simulate.llm import simulate_llm
    from scaleplan.solve import SolveOptions, solve

    spec_file = tmp_path / "one.yaml"  # type: ignore[operator]
    spec_file.write_text(ONE_REPLICA, encoding="utf-8")
    inp = load_inputs(str(spec_file))
    plan = solve(inp.spec, inp.profile, inp.catalog, options=SolveOptions(inputs=inp.hashes)).plan
    (a,) = plan.allocations
    assert a.replicas == 1 and a.accelerator == "A100-80GB" and a.llm is not None
    assert a.llm.max_num_seqs == 48
    cap = a.capacity_rps_per_replica
    assert 5.0 < cap < 5.4  # 5.40 before; the simulator holds p95 up to about 5.3
    for seed in (0, 1, 2):
        res = simulate_llm(plan, seed=seed, min_requests=15_000, rate_scale=cap, accelerators=ACCS)
        assert res.attainment >= 0.95, (seed, res.attainment)
