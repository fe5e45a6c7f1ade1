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



def _end_iso(start: int, days: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(start + days * 86400, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def main(argv: Sequence[str] | None = None) -> int:
    import yaml

    ap = argparse.ArgumentParser(description="Write a synthetic OpenMetrics history for the service a plan deployed.")
    ap.add_argument("--plan", required=True, help="plan.yaml written by scaleplan optimize (the running plan)")
    ap.add_argument("--out", required=True, help="folder: om/day*.om and prometheus.yml are written there")
    ap.add_argument("--capacity", type=float, default=105.0, help="true rps per replica at the SLO (default 105)")
    ap.add_argument("--days", type=int, default=14, help="days of history (default 14)")
    ap.add_argument("--scale", type=float, default=1.05, help="demand scale on the built-in curve (peak 400 rps x scale)")
    args = ap.parse_args(argv)
    if not 1 <= args.days <= 60 or not args.capacity > 0 or not args.scale > 0:
        ap.error("--days must be 1..60, --capacity and --scale positive")
    plan = yaml.safe_load(Path(args.plan).read_text(encoding="utf-8"))
    spec = plan["spec"]
    reps = [0] * 24
    for a in plan["allocations"]:
        per = a["replicas_per_window"]
        for h in range(24):
            reps[h] += per[0] if len(per) == 1 else per[h * len(per) // 24]
    slo = spec["slo"]
    out = Path(args.out)
    truth = history(
        out / "om", namespace=spec["kubernetes"]["namespace"], service=spec["metadata"]["name"], replicas=reps,
        capacity=args.capacity, slo_s=slo["latency_ms"] / 1000, q=slo.get("percentile", 95) / 100, days=args.days, scale=args.scale,
    )
    (out / "prometheus.yml").write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n", encoding="utf-8")
    print(f"wrote {args.days} day(s) to {out / 'om'} and {out / 'prometheus.yml'}")
    print(f"true capacity {truth.capacity:g} rps per replica at p{slo.get('percentile', 95)} {slo['latency_ms']:g} ms; history ends {_end_iso(truth.start, truth.days)} (pass it as --end)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
