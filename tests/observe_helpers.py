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
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from observe_demo import (  # the generator the docs' recipe runs
    BASE,
    DAY_FACTORS,
    SCRAPE_S,
    SIGMA_TPOT,
    VLLM_TPOT_BUCKETS,
    Truth,
    _lognormal_cdf,
    _mu,
    history,
    history_llm,
    pod_rates,
)

__all__ = [
    "BASE", "DAY_FACTORS", "SCRAPE_S", "SIGMA_TPOT", "VLLM_TPOT_BUCKETS", "Truth",
    "_lognormal_cdf", "_mu", "history", "history_llm", "pod_rates",
]


def binaries() -> tuple[str, str] | None:
    prom = shutil.which("prometheus")
    tool = shutil.which("promtool")
    if prom is None or tool is None:
        return None
    return prom, tool


def free_port() -> int:
    """A port nothing listens on (yet) on 127.0.0.1."""
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
def prometheus_server(tsdb: Path, workdir: Path, config: str | None = None) -> Iterator[str]:
    """Run prometheus on 127.0.0.1 over ``tsdb``; yield its base URL; stop it afterwards.
    ``config``: its prometheus.yml (default: no scrapes, the history is in ``tsdb``)."""
    found = binaries()
    assert found is not None
    cfg = workdir / "prometheus.yml"
    cfg.write_text(config or "global:\n  scrape_interval: 1h\nscrape_configs: []\n", encoding="utf-8")
    port = free_port()
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
