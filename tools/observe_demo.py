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



VLLM_LATENCY_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
VLLM_TOKEN_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5)  # TTFT / TPOT (seconds)
VLLM_LENGTH_BUCKETS = (64.0, 256.0, 1024.0, 4096.0)


def history_llm(outdir: Path, *, namespace: str, service: str, pods: Sequence[str], hours: Sequence[tuple[float, float, float, float, float, float]], start: int = START, days: int = 2, prefix: str = "", waiting: Sequence[float] | None = None, engine: str = "vllm", tpot_names: Sequence[str] | None = None) -> None:
    """An LLM service (vLLM by default) in OpenMetrics, series per pod (as a ServiceMonitor
    labels them): per UTC hour of day ``hours[h]`` = (requests/s per pod, requests running per pod, mean TTFT s, mean
    TPOT s, prompt tokens, generated tokens) for every pod. Written: ``vllm:request_success_total``,
    the e2e latency, TTFT, TPOT, prompt and generation token histograms (exponential around the
    mean; ``_sum`` / ``_count`` give the mean exactly), ``vllm:num_requests_running`` and ``up``.
    The mean e2e latency is running / rate (Little's law). ``waiting[h]``: requests waiting per
    pod in hour ``h`` (``vllm:num_requests_waiting``; not written when None). Files:
    ``<prefix>dayNN.om``. ``engine``: whose metric names (``scaleplan.render.engine.METRICS``,
    the table render and observe use); a metric the engine does not export is not written
    (TGI: no TTFT histogram, so its TTFT column is ignored). The TPOT histogram goes under every
    name the engine exports it as (vLLM v0.11: ``vllm:inter_token_latency_seconds`` and the
    deprecated ``vllm:time_per_output_token_seconds``, the same histogram); ``tpot_names``: under
    these instead (e.g. only the old name, as vLLM before v0.11, or only the new, v0.13 on)."""
    from scaleplan.render.engine import METRICS

    em = METRICS[engine]
    tpots = tpot_names if tpot_names is not None else (em.tpot, em.tpot_old)
    want = (
        (em.latency, VLLM_LATENCY_BUCKETS, lambda h: h[1] / h[0]),
        (em.ttft, VLLM_TOKEN_BUCKETS, lambda h: h[2]),
        *((name, VLLM_TOKEN_BUCKETS, lambda h: h[3]) for name in tpots),
        (em.prompt_tokens, VLLM_LENGTH_BUCKETS, lambda h: h[4]),
        (em.output_tokens, VLLM_LENGTH_BUCKETS, lambda h: h[5]),
    )
    hists = [(name, b, f) for name, b, f in want if name is not None]
    assert em.running is not None and (waiting is None or em.waiting is not None)
    # OpenMetrics names a counter's family without its _total sample suffix; TGI's counter has
    # none (its exporter writes the Prometheus text format), so it goes in untyped
    counter = f"# TYPE {em.requests.removesuffix('_total')} counter" if em.requests.endswith("_total") else f"# TYPE {em.requests} unknown"
    per_day = 86400 // SCRAPE_S
    state = {name: [0.0] * (len(b) + 2) for name, b, _ in hists}  # buckets..., +Inf (= count), sum
    count = 0.0
    rows: list[tuple[int, float, dict[str, list[float]], float]] = []
    for k in range(days * per_day):
        t = start + k * SCRAPE_S
        hour = ((t - 1 - start) % 86400) // 3600
        h = hours[hour]
        n = h[0] * SCRAPE_S if k > 0 else 0.0
        count += n
        for name, buckets, mean in hists:
            st, m = state[name], mean(h)
            for i, le in enumerate(buckets):
                st[i] += n * (1 - math.exp(-le / m))
            st[len(buckets)] += n
            st[-1] += n * m
        rows.append((t, count, {name: list(st) for name, st in state.items()}, h[1]))
    outdir.mkdir(parents=True, exist_ok=True)
    for d in range(days):
        chunk = rows[d * per_day : (d + 1) * per_day]
        labs = [f'namespace="{namespace}",service="{service}",pod="{p}"' for p in pods]
        lines = [counter]
        lines += [f"{em.requests}{{{lab}}} {c:.3f} {t}" for lab in labs for t, c, _, _ in chunk]
        for name, buckets, _ in hists:
            lines.append(f"# TYPE {name} histogram")
            les = [str(float(le)) for le in buckets] + ["+Inf"]  # "60.0": prometheus_client's spelling
            for lab in labs:
                for i, le in enumerate(les):
                    lines += [f'{name}_bucket{{{lab},le="{le}"}} {s[name][i]:.4f} {t}' for t, _, s, _ in chunk]
                lines += [f"{name}_sum{{{lab}}} {s[name][-1]:.6f} {t}" for t, _, s, _ in chunk]
                lines += [f"{name}_count{{{lab}}} {s[name][len(buckets)]:.4f} {t}" for t, _, s, _ in chunk]
        lines.append(f"# TYPE {em.running} gauge")
        lines += [f"{em.running}{{{lab}}} {r:g} {t}" for lab in labs for t, _, _, r in chunk]
        if waiting is not None:
            lines.append(f"# TYPE {em.waiting} gauge")
            at = [(t, waiting[((t - 1 - start) % 86400) // 3600]) for t, *_ in chunk]
            lines += [f"{em.waiting}{{{lab}}} {w:g} {t}" for lab in labs for t, w in at]
        lines.append("# TYPE up gauge")
        lines += [f"up{{{lab}}} 1 {t}" for lab in labs for t, *_ in chunk]
        lines.append("# EOF")
        (outdir / f"{prefix}day{d:02d}.om").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _end_iso(start: int, days: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(start + days * 86400, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def llm_demo(plan_file: Path, out: Path, *, days: int, scale: float, slowdown: float) -> int:
    """An LLM plan's service (``model.engine``) as its engine's metrics, per pod, as the
    rendered ServiceMonitor labels them (:func:`history_llm`): the plan's demand curve x
    ``scale``, split evenly over each allocation's peak replicas; each hour's mean TTFT and TPOT
    are the plan's own predictions for the class mix at its planned concurrency x ``slowdown``;
    tokens per request the spec's class mix; requests running by Little's law. Returns the
    number of pods written."""
    from scaleplan.inputs import load_tables
    from scaleplan.kube.safety import sanitize_dns_label
    from scaleplan.plan import read_plan
    from scaleplan.render import render_report

    plan = read_plan(plan_file)
    spec = plan.spec
    report = render_report(plan, load_tables())
    services = sorted(o.name for o in report.objects if o.kind == "Service")
    shares = {c.name: c.share for c in spec.traffic.classes}
    prompt = sum(c.share * (c.input_tokens or 0) for c in spec.traffic.classes)
    output = sum(c.share * (c.output_tokens or 0) for c in spec.traffic.classes)
    rps = plan.demand.rps
    pods = {a.name: max(a.replicas_per_window) for a in plan.allocations if a.llm is not None}
    total = sum(pods.values())
    for i, a in enumerate(x for x in plan.allocations if x.llm is not None):
        per = a.llm.classes  # type: ignore[union-attr]
        w = sum(shares.get(c, 0.0) for c in per) or 1.0
        ttft = sum(shares.get(c, 0.0) * p.ttft_ms for c, p in per.items()) / w / 1000 * slowdown
        tpot = sum(shares.get(c, 0.0) * p.tpot_ms for c, p in per.items()) / w / 1000 * slowdown
        hours = []
        for h in range(24):
            x = rps[h * len(rps) // 24] * scale / total
            hours.append((x, x * (ttft + tpot * max(output - 1, 0)), ttft, tpot, prompt, output))
        dep = sanitize_dns_label(a.name)
        names = [f"{dep}-5c7b9d8f4-x{k:04d}" for k in range(pods[a.name])]
        history_llm(out / "om", namespace=spec.kubernetes.namespace, service=services[i % len(services)], pods=names, hours=hours, days=days, prefix=f"{dep}-", engine=spec.model.engine or "vllm")
    return total


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
        print(f"served TTFT and TPOT {args.slowdown:g} x the plan's predictions; history ends {end} (pass it as --end)")
        return 0
    reps = [0] * 24
    for a in plan["allocations"]:
        per = a["replicas_per_window"]
        for h in range(24):
            reps[h] += per[0] if len(per) == 1 else per[h * len(per) // 24]
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
