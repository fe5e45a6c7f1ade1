"""Pictures of a SimResult: rich tables with sparkline bars, and a matplotlib PNG (extra ``plot``)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from scaleplan.errors import InputError, Problem
from scaleplan.simulate.core import SimResult

if TYPE_CHECKING:
    from rich.console import RenderableType

BARS = " ▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None], top: float | None = None) -> str:
    """One character per value, scaled to ``top`` (default: the largest value); None -> '·'."""
    nums = [v for v in values if v is not None]
    hi = top if top is not None else (max(nums) if nums else 0.0)
    out = []
    for v in values:
        if v is None:
            out.append("·")
        elif hi <= 0:
            out.append(BARS[0])
        else:
            out.append(BARS[max(0, min(len(BARS) - 1, round(v / hi * (len(BARS) - 1))))])
    return "".join(out)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}%"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def renderables(res: SimResult) -> list[RenderableType]:
    from rich.table import Table
    from rich.text import Text

    verdict = "holds" if res.ok else "FAILS"
    head = Text(
        f"{res.plan}: {res.requests} requests, {res.arrivals} arrivals, policy {res.policy}, seed {res.seed}; "
        f"SLO p{res.slo_percentile} <= {res.slo_latency_ms:g} ms: attainment {_pct(res.attainment)} "
        f"(target {_pct(res.target)}) -> {verdict}"
    )
    lat = res.latency_ms
    head2 = Text(f"latency (ms): p50 {_ms(lat.p50)}  p95 {_ms(lat.p95)}  p99 {_ms(lat.p99)}  mean {_ms(lat.mean)}  max {_ms(lat.max)}; failed {res.failed}")

    from rich import box

    wt = Table(title="Per window", title_justify="left", box=box.SIMPLE, pad_edge=False)
    for col in ("win", "rps", "repl", "reqs", "attain", "p50", "p95", "p99", "q max", "util"):
        wt.add_column(col, justify="right")
    for w in res.windows:
        wt.add_row(
            str(w.window), f"{w.rps:g}", str(sum(w.replicas.values())), str(w.requests), _pct(w.attainment),
            _ms(w.latency_ms.p50), _ms(w.latency_ms.p95), _ms(w.latency_ms.p99), str(w.queue_max), _pct(w.utilization),
        )
    at = Table(title="Per replica type (latency in ms)", title_justify="left", box=box.SIMPLE, pad_edge=False)
    for col in ("allocation", "capacity", "batch", "reqs", "attain", "p99", "util", "avg batch"):
        at.add_column(col, justify="left" if col in ("allocation", "capacity") else "right")
    for a in res.allocations:
        at.add_row(
            a.name, a.capacity_type, str(a.batch_size), str(a.requests), _pct(a.attainment),
            _ms(a.latency_ms.p99), _pct(a.utilization), "-" if a.mean_batch is None else f"{a.mean_batch:.2f}",
        )
    p99 = [w.latency_ms.p99 for w in res.windows]
    reps: list[float | None] = [float(sum(w.replicas.values())) for w in res.windows]
    rps: list[float | None] = [w.rps for w in res.windows]
    top = max([v for v in p99 if v is not None] + [res.slo_latency_ms])
    spark = Table(title="Over the day (one column per window)", title_justify="left", show_header=False, box=box.SIMPLE, pad_edge=False)
    spark.add_column("what")
    spark.add_column("bars")
    spark.add_row("demand rps", sparkline(rps))
    spark.add_row("replicas", sparkline(reps))
    spark.add_row(f"p99 (full bar {top:.0f} ms)", sparkline(p99, top))
    spark.add_row("below target", "".join("✗" if (w.attainment is not None and w.attainment < res.target) else "·" for w in res.windows))
    spark.add_row("queue max", sparkline([float(w.queue_max) for w in res.windows]))
    out: list[RenderableType] = [head, head2, wt, at, spark]
    if res.failure is not None:
        f = res.failure
        lost = ", ".join(f"{k} x{v}" for k, v in f.lost.items()) or "nothing"
        claim = f"redundancy '{f.redundancy}' claim tested" if f.claim_tested else f"redundancy '{f.redundancy}' does not claim to survive this"
        out.append(Text(
            f"failure {f.mode} at {f.at_s:g} s (window {f.window}): lost {lost}; {f.failed_requests} requests lost in flight; "
            f"attainment after {_pct(f.attainment_after)} (p99 {_ms(f.latency_after_ms.p99)} ms) -> {'holds' if f.holds else 'FAILS'}; {claim}"
        ))
    for note in res.notes:
        out.append(Text(f"note: {note}"))
    return out


def png_bytes(res: SimResult) -> bytes:
    """Latency percentiles and replicas per window as a PNG (needs matplotlib: extra 'plot')."""
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise InputError(None, [Problem("--png", "matplotlib is not installed", hint="pip install 'scaleplan[plot]' (or drop --png)")]) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = list(range(len(res.windows)))
    labels = [str(w.window) for w in res.windows]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    for key, style in (("p50", "-"), ("p95", "--"), ("p99", ":")):
        ys = [getattr(w.latency_ms, key) for w in res.windows]
        ax1.plot(x, [float("nan") if y is None else y for y in ys], style, marker="o", markersize=3, label=key)
    ax1.axhline(res.slo_latency_ms, color="red", linewidth=1, label=f"SLO p{res.slo_percentile} {res.slo_latency_ms:g} ms")
    if res.failure is not None:
        fw = next((i for i, w in enumerate(res.windows) if w.start_s <= res.failure.at_s < w.end_s), None)
        if fw is not None:
            ax1.axvline(fw, color="grey", linestyle="--", linewidth=1, label=f"{res.failure.mode} lost")
    ax1.set_ylabel("latency (ms)")
    ax1.set_title(f"{res.plan}: attainment {100 * res.attainment:.2f}% (target {100 * res.target:g}%), {res.policy}, {res.arrivals}")
    ax1.legend(loc="upper left", fontsize=8)
    bottom = [0.0] * len(x)
    for a in res.allocations:
        ys = [float(w.replicas.get(a.name, 0)) for w in res.windows]
        ax2.bar(x, ys, bottom=bottom, label=a.name)
        bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
    ax2r = ax2.twinx()
    ax2r.plot(x, [w.rps for w in res.windows], color="black", linewidth=1)
    ax2r.set_ylabel("demand (rps)")
    ax2.set_ylabel("replicas")
    ax2.set_xlabel("window")
    ax2.set_xticks(x, labels)
    ax2.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
