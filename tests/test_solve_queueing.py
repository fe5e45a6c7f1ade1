"""The optimizer's dynamic-batching derating against the simulator (scaleplan.simulate).

For a few (batch, latency, SLO) points: one replica at the derated capacity holds the SLO
percentile in simulation (Poisson, fixed seed), and 25 % more load (capped at 0.99) breaks it,
so the derating is not far too conservative.
"""

from __future__ import annotations

import pytest
from simulate_helpers import allocation, make_plan

from scaleplan.inputs import shipped_accelerators
from scaleplan.profile.model import Measurement, Percentiles
from scaleplan.simulate import simulate
from scaleplan.solve.oppoints import server_model
from scaleplan.solve.queueing import discrete_latency_ms, max_utilization, max_utilization_discrete

ACCS = shipped_accelerators()  # the table simulate is given (it reads no catalog)

# (batch, full-batch mean service ms = p50, p99 ms, SLO ms, percentile)
POINTS = [
    (32, 11.7, 16.38, 25.0, 99),  # vision-daily's L4 point
    (8, 7.05, 9.87, 25.0, 99),  # vision-daily's T4 point
    (64, 26.05, 39.07, 60.0, 95),  # embedding-cpu-gpu's T4 point
    (16, 10.0, 13.0, 20.0, 95),
    (1, 14.0, 21.0, 60.0, 95),  # batch 1: the M/D/1 queue
]
REQUESTS = 40_000


def _attainment(batch: int, service_ms: float, p99: float, slo: float, pct: int, rho: float) -> float:
    tput = 1000.0 * batch / service_ms
    lam = rho * tput
    alloc = allocation(batch=batch, service_ms=service_ms, throughput_rps=tput, p50=service_ms, p99=p99, capacity=lam, replicas=(1,), zones=("a",))
    plan = make_plan([alloc], rps=(lam,), slo_ms=slo, percentile=pct, redundancy="none")
    att = simulate(plan, duration_s=REQUESTS / lam, seed=0, accelerators=ACCS).attainment
    assert att is not None
    return att


def _latency_at(p99: float, pct: int, p50: float) -> float:
    # the simulator's lognormal through p50/p99, as the profile's percentile would state it
    return p99 if pct == 99 else p50 + 0.8 * (p99 - p50)  # simulate_helpers' p95


@pytest.mark.parametrize(("batch", "service_ms", "p99", "slo", "pct"), POINTS)
def test_derated_capacity_holds_in_simulation(batch: int, service_ms: float, p99: float, slo: float, pct: int) -> None:
    tput = 1000.0 * batch / service_ms
    lat = _latency_at(p99, pct, service_ms)
    u = max_utilization_discrete(slo, lat, batch, tput, pct)
    assert 0.3 < u <= 0.95
    assert _attainment(batch, service_ms, p99, slo, pct, u) >= pct / 100
    # not absurdly conservative: 25 % more load misses the target
    assert _attainment(batch, service_ms, p99, slo, pct, min(0.99, 1.25 * u)) < pct / 100


def test_continuous_model_overpromises_for_discrete_batching() -> None:
    """The finding this model fixes: M/D/c lets vision's L4 run at ~0.92, the simulator misses there."""
    batch, service_ms, p99, slo, pct = POINTS[0]
    tput = 1000.0 * batch / service_ms
    u_cont = max_utilization(slo - p99, batch, tput, pct)
    u_disc = max_utilization_discrete(slo, p99, batch, tput, pct)
    assert u_cont > 0.9 > 0.8 > u_disc
    assert _attainment(batch, service_ms, p99, slo, pct, u_cont) < pct / 100


def test_batch_one_is_md1() -> None:
    assert max_utilization_discrete(60.0, 17.5, 1, 71.43, 95) == max_utilization(42.5, 1, 71.43, 95)


def test_discrete_latency_grows_with_load() -> None:
    lats = [discrete_latency_ms(r / 10, 32, 11.7, 16.38, 99) for r in range(10)]
    assert lats == sorted(lats)
    assert lats[0] < 16.38 < lats[-1]
    assert discrete_latency_ms(1.0, 32, 11.7, 16.38, 99) == float("inf")
    assert max_utilization_discrete(10.0, 16.38, 32, 2735.0, 99) == 0.0  # budget < 0


def _m(**kw: object) -> Measurement:
    base: dict[str, object] = {"device": "cuda", "accelerator": "L4", "batch_size": 8, "latency_ms": Percentiles(p50=10, p90=11, p95=12, p99=13), "throughput_rps": 800, "source": "measured"}
    return Measurement.model_validate({**base, **kw})


def test_server_model_by_profile_kind() -> None:
    assert server_model("model", _m()) == "discrete"
    assert server_model("synthetic", _m()) == "discrete"
    assert server_model("llm-endpoint", _m()) == "continuous"
    assert server_model("endpoint", _m()) == "continuous"
    assert server_model("synthetic", _m(ttft_ms=Percentiles(p50=100, p90=110, p95=120, p99=130))) == "continuous"
