"""A synthetic service in a real Prometheus: known daily curve, capacity and latency histogram.

``history()`` writes 14 days of OpenMetrics text for a service that ran a plan: the request
counter and latency histogram the rendered manifests depend on, and ``up`` per pod. The
truth (hourly curve per day, true capacity per replica) is returned next to it, so tests can
check what ``observe`` recovers. ``prometheus_server()`` loads the text with ``promtool tsdb
create-blocks-from openmetrics`` and runs ``prometheus`` on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import contextlib
import math
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

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


def history(outdir: Path, *, namespace: str, service: str, replicas: Sequence[int], capacity: float, slo_s: float, q: float = 0.95, start: int = 1767225600, days: int = 14, scale: float = 1.0, counter: str = "http_requests_total", hist: str = "http_request_duration_seconds") -> Truth:
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


def binaries() -> tuple[str, str] | None:
    prom = shutil.which("prometheus")
    tool = shutil.which("promtool")
    if prom is None or tool is None:
        return None
    return prom, tool


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_blocks(indir: Path, tsdb: Path) -> None:
    """promtool tsdb create-blocks-from openmetrics, one day file at a time (two in parallel)."""
    found = binaries()
    assert found is not None
    tsdb.mkdir(parents=True, exist_ok=True)
    files = sorted(indir.glob("*.om"))
    running: list[subprocess.Popen[bytes]] = []
    for f in files:
        running.append(subprocess.Popen([found[1], "tsdb", "create-blocks-from", "openmetrics", "-q", str(f), str(tsdb)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        if len(running) >= 2:
            _wait(running.pop(0))
    for p in running:
        _wait(p)


def _wait(p: subprocess.Popen[bytes]) -> None:
    _, err = p.communicate(timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"promtool failed: {err.decode(errors='replace')[-2000:]}")


@contextlib.contextmanager
def prometheus_server(tsdb: Path, workdir: Path) -> Iterator[str]:
    """Run prometheus on 127.0.0.1 over ``tsdb``; yield its base URL; stop it afterwards."""
    found = binaries()
    assert found is not None
    cfg = workdir / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n", encoding="utf-8")
    port = _free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [found[0], f"--config.file={cfg}", f"--storage.tsdb.path={tsdb}", f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=36500d", "--query.lookback-delta=5m"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"prometheus did not start: {(workdir / 'prometheus.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


POD_BUCKETS = (0.1, 0.2, 0.25, 0.3, 0.5, 1.0)


def history_pods(outdir: Path, *, namespace: str, service: str, allocations: Sequence[tuple[str, float, int]], slo_s: float, q: float = 0.95, start: int = 1767225600, days: int = 7, scale: float = 1.0) -> list[str]:
    """Like :func:`history`, with series per pod (the labels a ServiceMonitor adds): each
    allocation (Deployment name, true capacity per replica, replicas all day) gets an even share
    of the requests, as behind one Service, and its own latency from its own capacity."""
    pods = [(f"{dep}-5c7b9d8f4-x{i:04d}", cap) for dep, cap, n in allocations for i in range(n)]
    total_pods = len(pods)
    n_steps = days * 86400 // SCRAPE_S
    per_day = 86400 // SCRAPE_S
    les = [str(le) for le in POD_BUCKETS] + ["+Inf"]
    state = {p: [0.0] * (len(POD_BUCKETS) + 3) for p, _ in pods}  # counter, buckets..., +Inf, sum
    rows: dict[str, list[tuple[int, list[float]]]] = {p: [] for p, _ in pods}
    for k in range(n_steps):
        t = start + k * SCRAPE_S
        prev = t - 1
        day = (prev - start) // 86400
        hour = ((prev - start) % 86400) // 3600
        rate = BASE[hour] * scale * DAY_FACTORS[day % len(DAY_FACTORS)] if k > 0 else 0.0
        n = rate * SCRAPE_S / total_pods
        x = rate / total_pods
        for p, cap in pods:
            st = state[p]
            lam = max(_mu(cap, slo_s, q) - x, 1e-3)
            st[0] += n
            for i, le in enumerate(POD_BUCKETS):
                st[1 + i] += n * (1 - math.exp(-lam * le))
            st[1 + len(POD_BUCKETS)] += n
            st[-1] += n * min(1 / lam, 60.0)
            rows[p].append((t, list(st)))
    outdir.mkdir(parents=True, exist_ok=True)
    for d in range(days):
        lines = ["# TYPE http_requests counter"]
        for p, _ in pods:
            lab = f'namespace="{namespace}",service="{service}",pod="{p}"'
            lines += [f"http_requests_total{{{lab}}} {st[0]:.3f} {t}" for t, st in rows[p][d * per_day : (d + 1) * per_day]]
        lines.append("# TYPE http_request_duration_seconds histogram")
        for p, _ in pods:
            lab = f'namespace="{namespace}",service="{service}",pod="{p}"'
            chunk = rows[p][d * per_day : (d + 1) * per_day]
            for i, le in enumerate(les):
                lines += [f'http_request_duration_seconds_bucket{{{lab},le="{le}"}} {st[1 + i]:.3f} {t}' for t, st in chunk]
            lines += [f"http_request_duration_seconds_sum{{{lab}}} {st[-1]:.3f} {t}" for t, st in chunk]
            lines += [f"http_request_duration_seconds_count{{{lab}}} {st[1 + len(POD_BUCKETS)]:.3f} {t}" for t, st in chunk]
        lines.append("# TYPE up gauge")
        for p, _ in pods:
            lab = f'namespace="{namespace}",service="{service}",pod="{p}"'
            lines += [f"up{{{lab}}} 1 {t}" for t, _ in rows[p][d * per_day : (d + 1) * per_day]]
        lines.append("# EOF")
        (outdir / f"day{d:02d}.om").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [p for p, _ in pods]
