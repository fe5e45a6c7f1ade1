"""A synthetic service history for trying `scaleplan observe` without a cluster (docs/observe.md).

Writes one OpenMetrics file per day for the service a plan deployed: the request counter and
latency histogram the rendered manifests depend on, and `up` per pod, with a known hourly curve
(quiet nights, a working-day plateau), a known capacity per replica (`--capacity`: the rate at
which the latency percentile equals the SLO, from an M/M/1-like sojourn time) and the plan's
replicas per hour. Load it into a local Prometheus and point `observe` at it:

    python tools/observe_demo.py --plan run/plan.yaml --out demo
    for f in demo/om/*.om; do promtool tsdb create-blocks-from openmetrics "$f" demo/tsdb; done
    prometheus --config.file=demo/prometheus.yml --storage.tsdb.path=demo/tsdb \
        --storage.tsdb.retention.time=36500d --web.listen-address=127.0.0.1:19090 &
    scaleplan observe --prometheus http://127.0.0.1:19090 --plan run/plan.yaml \
        --end 2026-01-15T00:00:00Z --out observed.yaml

The tests (tests/observe_helpers.py) use the same generator.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaleplan.llm.engine_metrics import E2E_HISTOGRAMS, TOKEN_HISTOGRAMS

START = 1767225600  # 2026-01-01T00:00:00Z
SCRAPE_S = 60
BUCKETS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
# base demand per UTC hour: quiet nights, a working-day plateau
BASE = (40, 30, 25, 25, 30, 50, 90, 160, 260, 340, 380, 400, 400, 390, 380, 370, 340, 300, 250, 190, 140, 100, 70, 50)
DAY_FACTORS = (1.0, 0.97, 1.02, 1.03, 0.98, 1.01, 0.99, 1.04, 0.96, 1.0, 1.02, 0.98, 1.01, 0.99)


@dataclass(frozen=True)
class Truth:
    start: int  # unix seconds, midnight UTC
    days: int
    hourly: tuple[tuple[float, ...], ...]  # [day][hour] mean rps
    capacity: float  # rps per replica at which the latency percentile equals the SLO
    slo_s: float
    quantile: float  # the SLO percentile as a fraction
    replicas: tuple[int, ...]  # per hour of day

    def curve_quantile(self, q: float) -> list[float]:
        out = []
        for h in range(24):
            xs = sorted(d[h] for d in self.hourly)
            pos = q * (len(xs) - 1)
            lo = math.floor(pos)
            hi = min(lo + 1, len(xs) - 1)
            out.append(xs[lo] + (xs[hi] - xs[lo]) * (pos - lo))
        return out


def _mu(capacity: float, slo_s: float, q: float) -> float:
    """M/M/1-like sojourn: latency quantile ln(1/(1-q)) / (mu - x); equals the SLO at x = capacity."""
    return capacity + math.log(1 / (1 - q)) / slo_s


def history(outdir: Path, *, namespace: str, service: str, replicas: Sequence[int], capacity: float, slo_s: float, q: float = 0.95, start: int = START, days: int = 14, scale: float = 1.0, counter: str = "http_requests_total", hist: str = "http_request_duration_seconds") -> Truth:
    """Write one OpenMetrics file per day into ``outdir``; ``replicas`` per hour of day (what
    the plan ran). One file per day keeps promtool fast: it reads its input once per 2 h block."""
    hourly = tuple(tuple(b * scale * DAY_FACTORS[d % len(DAY_FACTORS)] for b in BASE) for d in range(days))
    mu = _mu(capacity, slo_s, q)
    n_steps = days * 86400 // SCRAPE_S
    lab = f'namespace="{namespace}",service="{service}"'
    family = counter[: -len("_total")] if counter.endswith("_total") else counter
    total = 0.0
    s_total = 0.0
    cum = [0.0] * (len(BUCKETS) + 1)
    rows: list[tuple[int, float, list[float], float, float, int]] = []  # t, counter, buckets, sum, count, replicas
    for k in range(n_steps):
        t = start + k * SCRAPE_S
        # the sample at t holds what happened in (t - scrape, t]
        prev = t - 1
        day = (prev - start) // 86400
        hour = ((prev - start) % 86400) // 3600
        rate = hourly[min(max(day, 0), days - 1)][hour] if k > 0 else 0.0
        r = replicas[hour] if k > 0 else replicas[0]
        n = rate * SCRAPE_S
        total += n
        lam = max(mu - rate / max(r, 1), 1e-3)  # past saturation: nearly everything lands in +Inf
        for i, le in enumerate(BUCKETS):
            cum[i] += n * (1 - math.exp(-lam * le))
        cum[-1] += n
        s_total += n * min(1 / lam, 60.0)
        rows.append((t, total, list(cum), s_total, cum[-1], r))
    outdir.mkdir(parents=True, exist_ok=True)
    per_day = 86400 // SCRAPE_S
    les = [str(le) for le in BUCKETS] + ["+Inf"]
    for d in range(days):
        chunk = rows[d * per_day : (d + 1) * per_day]
        lines = [f"# TYPE {family} counter"]
        lines += [f"{counter}{{{lab}}} {c:.3f} {t}" for t, c, *_ in chunk]
        lines.append(f"# TYPE {hist} histogram")
        for i, le in enumerate(les):
            lines += [f'{hist}_bucket{{{lab},le="{le}"}} {b[i]:.3f} {t}' for t, _, b, *_ in chunk]
        lines += [f"{hist}_sum{{{lab}}} {sm:.3f} {t}" for t, _, _, sm, _, _ in chunk]
        lines += [f"{hist}_count{{{lab}}} {ct:.3f} {t}" for t, _, _, _, ct, _ in chunk]
        lines.append("# TYPE up gauge")
        for p in range(max(replicas)):
            lines += [f'up{{{lab},pod="{service}-{p}"}} {1 if p < r else 0} {t}' for t, *_, r in chunk]
        lines.append("# EOF")
        (outdir / f"day{d:02d}.om").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Truth(start=start, days=days, hourly=hourly, capacity=capacity, slo_s=slo_s, quantile=q, replicas=tuple(replicas))



def _known(buckets: tuple[float, ...] | None) -> tuple[float, ...]:
    assert buckets is not None
    return buckets


# vLLM's own bucket edges (seconds), as render and observe know them
# (scaleplan.llm.engine_metrics): e2e request latency, TTFT, and inter-token latency / time
# per output token (one histogram, two names)
VLLM_LATENCY_BUCKETS = _known(E2E_HISTOGRAMS["vllm"][1])
VLLM_TTFT_BUCKETS = _known(TOKEN_HISTOGRAMS["vllm"]["ttft"][1])
VLLM_TPOT_BUCKETS = _known(TOKEN_HISTOGRAMS["vllm"]["tpot"][1])
VLLM_LENGTH_BUCKETS = (64.0, 256.0, 1024.0, 4096.0)
# Per-request spread (lognormal, log-space sigma, around the hour's mean): a request's TPOT is
# the mean of its many decode steps at about the same batch, so it is tight (sigma 0.15: p95 =
# 1.27 x the mean); a TTFT depends on the prompt and on where it lands among the other
# prompts (sigma 0.5: p95 = 2.0 x the mean); an e2e latency is mostly its decode, so it is
# tight around its class's mean (sigma 0.2), spread by the class mix (a mixture over the
# classes when the hour names them, as the demo's do). Token counts: exponential (only their
# means are read).
SIGMA_TPOT = 0.15
SIGMA_TTFT = 0.5
SIGMA_E2E = 0.2


def _lognormal_cdf(x: float, mean: float, sigma: float) -> float:
    mu = math.log(mean) - sigma * sigma / 2
    return 0.5 * math.erfc(-(math.log(x) - mu) / (sigma * math.sqrt(2)))


def _cdf(x: float, mean: float, sigma: float | None) -> float:
    return 1 - math.exp(-x / mean) if sigma is None else _lognormal_cdf(x, mean, sigma)


def _e2e_cdf(h: Sequence[object]) -> object:
    """The e2e latency's CDF of hour ``h``: a mixture over its classes (``h[6]``: (share,
    mean e2e s) each) when it names them, else one lognormal around running / rate."""
    mix = h[6] if len(h) > 6 else ((1.0, h[1] / h[0]),)  # type: ignore[operator]
    return lambda x: sum(w * _lognormal_cdf(x, m, SIGMA_E2E) for w, m in mix if m > 0)  # type: ignore[attr-defined]


def history_llm(outdir: Path, *, namespace: str, service: str, pods: Sequence[str], hours: Sequence[Sequence[Any]], start: int = START, days: int = 2, prefix: str = "", waiting: Sequence[float] | None = None, engine: str = "vllm", tpot_names: Sequence[str] | None = None, up: Sequence[int] | None = None) -> None:
    """An LLM service (vLLM by default) in OpenMetrics, series per pod (as a ServiceMonitor
    labels them): per UTC hour of day ``hours[h]`` = (requests/s per pod, requests running per pod, mean TTFT s, mean
    TPOT s, prompt tokens, generated tokens[, ((share, mean e2e s) per class)]) for every pod up. Written: ``vllm:request_success_total``,
    the e2e latency, TTFT, TPOT (vLLM's bucket edges; per request lognormal around the mean,
    ``SIGMA_*``) and prompt and generation token histograms (exponential; ``_sum`` / ``_count``
    give every mean exactly), ``vllm:num_requests_running`` and ``up``.
    The mean e2e latency is running / rate (Little's law). ``waiting[h]``: requests waiting per
    pod in hour ``h`` (``vllm:num_requests_waiting``; not written when None). ``up[h]``: how
    many of ``pods`` (the first ones) run in hour ``h`` (all when None); a pod that does not
    run has no samples then (no scrape target), its counters resume where they stopped. Files:
    ``<prefix>dayNN.om``. ``engine``: whose metric names (``scaleplan.llm.engine_metrics.METRICS``,
    the table render and observe use); a metric the engine does not export is not written
    (TGI: no TTFT histogram, so its TTFT column is ignored). The TPOT histogram goes under every
    name the engine exports it as (vLLM v0.11: ``vllm:inter_token_latency_seconds`` and the
    deprecated ``vllm:time_per_output_token_seconds``, the same histogram); ``tpot_names``: under
    these instead (e.g. only the old name, as vLLM before v0.11, or only the new, v0.13 on)."""
    from scaleplan.llm.engine_metrics import METRICS

    em = METRICS[engine]
    tpots = tpot_names if tpot_names is not None else (em.tpot, em.tpot_old)
    want: tuple[tuple[str | None, tuple[float, ...], float | None, object], ...] = (
        (em.latency, VLLM_LATENCY_BUCKETS, SIGMA_E2E, lambda h: h[1] / h[0]),
        (em.ttft, VLLM_TTFT_BUCKETS, SIGMA_TTFT, lambda h: h[2]),
        *((name, VLLM_TPOT_BUCKETS, SIGMA_TPOT, lambda h: h[3]) for name in tpots),
        (em.prompt_tokens, VLLM_LENGTH_BUCKETS, None, lambda h: h[4]),
        (em.output_tokens, VLLM_LENGTH_BUCKETS, None, lambda h: h[5]),
    )
    hists = [(name, b, sg, f) for name, b, sg, f in want if name is not None]
    assert em.running is not None and (waiting is None or em.waiting is not None)
    # OpenMetrics names a counter's family without its _total sample suffix; TGI's counter has
    # none (its exporter writes the Prometheus text format), so it goes in untyped
    counter = f"# TYPE {em.requests.removesuffix('_total')} counter" if em.requests.endswith("_total") else f"# TYPE {em.requests} unknown"
    per_day = 86400 // SCRAPE_S
    # per hour of day: each histogram's bucket fractions and mean (computed once)
    frac: list[dict[str, tuple[list[float], float]]] = []
    for h in hours:
        row = {}
        for name, buckets, sigma, mean_of in hists:
            m = mean_of(h) if h[0] > 0 else 1.0  # type: ignore[operator]
            if name == em.latency and h[0] > 0:
                cdf = _e2e_cdf(h)
                row[name] = ([cdf(le) for le in buckets], m)  # type: ignore[operator]
            else:
                row[name] = ([_cdf(le, m, sigma) for le in buckets], m)
        frac.append(row)
    n_up = [len(pods)] * 24 if up is None else [min(u, len(pods)) for u in up]
    outdir.mkdir(parents=True, exist_ok=True)
    # rows[p]: per scrape (t, counter, states, running), None while pod p does not run
    rows: list[list[tuple[int, float, dict[str, list[float]], float] | None]] = []
    for p in range(len(pods)):
        state = {name: [0.0] * (len(b) + 2) for name, b, _, _ in hists}  # buckets..., +Inf (= count), sum
        count = 0.0
        mine: list[tuple[int, float, dict[str, list[float]], float] | None] = []
        for k in range(days * per_day):
            t = start + k * SCRAPE_S
            hour = ((t - 1 - start) % 86400) // 3600
            if p >= n_up[hour]:
                mine.append(None)
                continue
            h = hours[hour]
            n = h[0] * SCRAPE_S if k > 0 else 0.0
            count += n
            for name, buckets, _, _ in hists:
                st, (fr, m) = state[name], frac[hour][name]
                for i in range(len(buckets)):
                    st[i] += n * fr[i]
                st[len(buckets)] += n
                st[-1] += n * m
            mine.append((t, count, {name: list(st) for name, st in state.items()}, h[1]))
        rows.append(mine)
    for d in range(days):
        labs = [f'namespace="{namespace}",service="{service}",pod="{p}"' for p in pods]
        chunks = [[r for r in mine[d * per_day : (d + 1) * per_day] if r is not None] for mine in rows]
        lines = [counter]
        lines += [f"{em.requests}{{{lab}}} {c:.3f} {t}" for lab, chunk in zip(labs, chunks, strict=True) for t, c, _, _ in chunk]
        for name, buckets, _, _ in hists:
            lines.append(f"# TYPE {name} histogram")
            les = [str(float(le)) for le in buckets] + ["+Inf"]  # "60.0": prometheus_client's spelling
            for lab, chunk in zip(labs, chunks, strict=True):
                for i, le in enumerate(les):
                    lines += [f'{name}_bucket{{{lab},le="{le}"}} {s[name][i]:.4f} {t}' for t, _, s, _ in chunk]
                lines += [f"{name}_sum{{{lab}}} {s[name][-1]:.6f} {t}" for t, _, s, _ in chunk]
                lines += [f"{name}_count{{{lab}}} {s[name][len(buckets)]:.4f} {t}" for t, _, s, _ in chunk]
        lines.append(f"# TYPE {em.running} gauge")
        lines += [f"{em.running}{{{lab}}} {r:g} {t}" for lab, chunk in zip(labs, chunks, strict=True) for t, _, _, r in chunk]
        if waiting is not None:
            lines.append(f"# TYPE {em.waiting} gauge")
            lines += [f"{em.waiting}{{{lab}}} {waiting[((t - 1 - start) % 86400) // 3600]:g} {t}" for lab, chunk in zip(labs, chunks, strict=True) for t, *_ in chunk]
        lines.append("# TYPE up gauge")
        lines += [f"up{{{lab}}} 1 {t}" for lab, chunk in zip(labs, chunks, strict=True) for t, *_ in chunk]
        lines.append("# EOF")
        (outdir / f"{prefix}day{d:02d}.om").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _end_iso(start: int, days: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(start + days * 86400, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at_hour(values: Sequence[Any], h: int) -> Any:
    """UTC hour ``h``'s entry of a per-window list (one entry: the whole day)."""
    return values[h * len(values) // 24]


def _served(d: object, classes: Sequence[tuple[float, int, int]], rate: float, start: int, slowdown: float) -> tuple[float, float, float, tuple[tuple[float, float], ...]]:
    """(requests running, mean TTFT s, mean TPOT s, (share, mean e2e s) per class) of one pod at ``rate`` requests/s: the LLM
    model's open-loop prediction for the class mix (``classes``: share, prompt, output tokens;
    :func:`scaleplan.llm.mix.serve_mix`, as ``optimize --observed`` fits it)
    at the pods' own concurrency x ``slowdown``. The concurrency is the fixed point of Little's
    law (running = rate x the mean time in the server, which grows with the running), from
    ``start`` (the plan's); a few steps, then the last."""
    from scaleplan.llm.mix import serve_mix  # the mix as optimize --observed fits it

    c = max(start, 1)
    best: tuple[float, float, float, tuple[tuple[float, float], ...]] = (0.0, 0.0, 0.0, ())
    for _ in range(30):
        m = serve_mix(d, classes, c)  # type: ignore[arg-type]
        e2e = tuple((w, ms * slowdown / 1000) for w, ms in m.e2e_ms)
        ttft, tpot = m.ttft_ms * slowdown / 1000, m.tpot_ms * slowdown / 1000
        best = (rate * sum(w * s for w, s in e2e), ttft, tpot, e2e)
        nxt = max(1, round(best[0]))
        if nxt == c:
            break
        c = nxt
    return best


def pod_rates(plan: Any, scale: float) -> dict[str, list[float]]:
    """Each LLM allocation's requests/s per pod in each UTC hour: the plan's demand x ``scale``
    over the pods it runs that hour (``replicas_per_window``), split as its routing splits
    it: evenly over every pod (``routing: service``, one Service), else in proportion to each
    pod's ``capacity_rps_per_replica`` (the HTTPRoute's capacity weights; under
    inference-pool equal shares for a pool of one shape, as the endpoint picker gives them;
    a pool of several shapes is split here by capacity too, not by the picker's KV-cache
    split the optimizer sizes it for, docs/llm.md). Until 2026-12-06 every routing was split evenly: under
    inference-pool a g6e pod of 0.94 rps got the ~2 rps of an A100 TP2 pod of 5.93 (UX trial
    22 F7). An hour with no pod: the whole rate (no pod is written then)."""
    even = plan.spec.kubernetes.routing == "service"
    llms = [a for a in plan.allocations if a.llm is not None]
    top = max((a.capacity_rps_per_replica for a in llms), default=1.0)
    # relative to the fastest: pods of one capacity get 1.0, the even split to the last bit
    weight = {a.name: 1.0 if even else a.capacity_rps_per_replica / top for a in llms}
    out: dict[str, list[float]] = {a.name: [] for a in llms}
    for h in range(24):
        rate = _at_hour(plan.demand.rps, h) * scale
        total = sum(int(_at_hour(a.replicas_per_window, h)) * weight[a.name] for a in llms)
        for a in llms:
            out[a.name].append(rate * weight[a.name] / total if total > 0 else rate)
    return out


def llm_demo(plan_file: Path, out: Path, *, days: int, scale: float, slowdown: float) -> int:
    """An LLM plan's service (``model.engine``) as its engine's metrics, per pod, as the
    rendered ServiceMonitor labels them (:func:`history_llm`): the plan's demand curve x
    ``scale``, split over the pods the plan runs that hour as its routing splits it
    (:func:`pod_rates`; a pod the plan does not run has no samples); each hour's mean TTFT
    and TPOT are the LLM model's predictions (the plan's deployment, calibrated as the plan
    was) for the class mix at the pods' concurrency that hour x ``slowdown``, requests running
    by Little's law; tokens per request the spec's class mix. Returns the number of pods
    written (the most at once)."""
    from scaleplan.inputs import load_tables, shipped_accelerators
    from scaleplan.kube.safety import sanitize_dns_label
    from scaleplan.observe.queries import model_services
    from scaleplan.plan import read_plan
    from scaleplan.render import render_report
    from scaleplan.simulate.llm_replicas import model_deployment, plan_architecture

    plan = read_plan(plan_file)
    spec = plan.spec
    report = render_report(plan, load_tables())
    deps = [sanitize_dns_label(a.name) for a in plan.allocations]
    services = sorted(model_services(report.objects, deps))  # not the endpoint picker's
    shares = {c.name: c.share for c in spec.traffic.classes}
    prompt = sum(c.share * (c.input_tokens or 0) for c in spec.traffic.classes)
    output = sum(c.share * (c.output_tokens or 0) for c in spec.traffic.classes)
    llms = [a for a in plan.allocations if a.llm is not None]

    def reps(a: object, h: int) -> int:
        per = a.replicas_per_window  # type: ignore[attr-defined]
        return int(_at_hour(per, h))

    running = [sum(reps(a, h) for a in llms) for h in range(24)]
    rates = pod_rates(plan, scale)
    arch = plan_architecture(plan, str(plan_file))
    for i, a in enumerate(llms):
        d, why = model_deployment(plan, a, shipped_accelerators(), arch)
        if d is None:
            raise SystemExit(f"observe_demo: {a.name}: {why}")
        per = a.llm.classes  # type: ignore[union-attr]
        mix = [(shares[c.name], c.input_tokens or 1, c.output_tokens or 1) for c in spec.traffic.classes if c.name in per]
        w = sum(x[0] for x in mix) or 1.0
        mix = [(s / w, i_, o) for s, i_, o in mix]
        planned = max(p.concurrency for p in per.values())
        hours = []
        for h in range(24):
            x = rates[a.name][h]
            n, ttft, tpot, e2e = _served(d, mix, x, planned, slowdown)
            hours.append((x, n, ttft, tpot, prompt, output, e2e))
        dep = sanitize_dns_label(a.name)
        names = [f"{dep}-5c7b9d8f4-x{k:04d}" for k in range(max(reps(a, h) for h in range(24)))]
        up = [reps(a, h) for h in range(24)]
        history_llm(out / "om", namespace=spec.kubernetes.namespace, service=services[i % len(services)], pods=names, hours=hours, days=days, prefix=f"{dep}-", engine=spec.model.engine or "vllm", up=up)
    return max(running)


def main(argv: Sequence[str] | None = None) -> int:
    import yaml

    ap = argparse.ArgumentParser(description="Write a synthetic OpenMetrics history for the service a plan deployed.")
    ap.add_argument("--plan", required=True, help="plan.yaml written by scaleplan optimize (the running plan)")
    ap.add_argument("--out", required=True, help="folder: om/*.om and prometheus.yml are written there")
    ap.add_argument("--capacity", type=float, default=None, help="true rps per replica at the SLO (default 105; not for LLM plans)")
    ap.add_argument("--days", type=int, default=14, help="days of history (default 14)")
    ap.add_argument("--scale", type=float, default=None, help="demand scale: on the built-in curve (peak 400 rps x scale, default 1.05), or on an LLM plan's own curve (default 1)")
    ap.add_argument("--slowdown", type=float, default=1.2, help="LLM plans: served TTFT and TPOT over the plan's predictions (default 1.2)")
    args = ap.parse_args(argv)
    if not 1 <= args.days <= 60 or not all(v is None or v > 0 for v in (args.capacity, args.scale, args.slowdown)):
        ap.error("--days must be 1..60, --capacity, --scale and --slowdown positive")
    plan = yaml.safe_load(Path(args.plan).read_text(encoding="utf-8"))
    spec = plan["spec"]
    out = Path(args.out)
    end = _end_iso(START, args.days)
    if spec["model"].get("engine") and any(a.get("llm") for a in plan["allocations"]):
        # the rendered manifests of an LLM plan expose the engine's metrics, not
        # http_requests_total: observe asks for those (it said "no data" of this tool's history)
        if args.capacity is not None:
            ap.error("--capacity is for plans without model.engine; an LLM plan's capacity comes from the LLM model: use --slowdown")
        n = llm_demo(Path(args.plan), out, days=args.days, scale=args.scale or 1.0, slowdown=args.slowdown)
        (out / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n", encoding="utf-8")
        print(f"wrote {args.days} day(s) of {spec['model']['engine']} metrics for {n} pods to {out / 'om'} and {out / 'prometheus.yml'}")
        print(f"served TTFT and TPOT {args.slowdown:g} x the LLM model's predictions at each hour's concurrency; history ends {end} (pass it as --end)")
        return 0
    reps = [0] * 24
    for a in plan["allocations"]:
        per = a["replicas_per_window"]
        for h in range(24):
            reps[h] += _at_hour(per, h)
    slo = spec["slo"]
    truth = history(
        out / "om", namespace=spec["kubernetes"]["namespace"], service=spec["metadata"]["name"], replicas=reps,
        capacity=args.capacity or 105.0, slo_s=slo["latency_ms"] / 1000, q=slo.get("percentile", 95) / 100, days=args.days, scale=args.scale or 1.05,
    )
    (out / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n", encoding="utf-8")
    print(f"wrote {args.days} day(s) to {out / 'om'} and {out / 'prometheus.yml'}")
    print(f"true capacity {truth.capacity:g} rps per replica at p{slo.get('percentile', 95)} {slo['latency_ms']:g} ms; history ends {end} (pass it as --end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
