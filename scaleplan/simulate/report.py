"""Pictures of a SimResult: rich tables with sparkline bars, and a matplotlib PNG (extra ``plot``)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from scaleplan.errors import InputError, Problem
from scaleplan.simulate.llm_results import LlmSimResult
from scaleplan.simulate.results import SimResult

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
        # allocation names are never cut (they are copied into kubectl); numbers wrap instead
        whole = {"no_wrap": True, "min_width": max((len(a.name) for a in res.allocations), default=10)} if col == "allocation" else {}
        at.add_column(col, justify="left" if col in ("allocation", "capacity") else "right", **whole)  # type: ignore[arg-type]
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
            f"failure {f.mode} at {f.at_s:g} s (window {f.window}): lost {lost}; {f.failed_requests} requests lost"
            + (f" ({f.static_weight_failures} sent there by the static HTTPRoute weights)" if f.static_weight_failures else " in flight")
            + "; "
            f"attainment after {_pct(f.attainment_after)} (p99 {_ms(f.latency_after_ms.p99)} ms) -> {'holds' if f.holds else 'FAILS'}; {claim}"
        ))
    for note in res.notes:
        out.append(Text(f"note: {note}"))
    return out


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, or InputError naming the extra to install."""
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise InputError(None, [Problem("--png", "matplotlib is not installed", hint="pip install 'scaleplan[plot]' (or drop --png)")]) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(plt: Any, fig: Any) -> bytes:
    """``fig`` laid out and saved as a byte-stable PNG (no software tag), then closed."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def png_bytes(res: SimResult) -> bytes:
    """Latency percentiles and replicas per window as a PNG (needs matplotlib: extra 'plot')."""
    plt = _pyplot()
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
    return _png(plt, fig)


# ---------------------------------------------------------------- LLM plans


def _pc(x: float | None) -> str:
    return "-" if x is None else ("100%" if x >= 1 else f"{100 * x:.1f}%")


def _p(x: float | None) -> str:
    return "-" if x is None else (f"{x:.0f}" if x >= 100 else f"{x:.1f}")


def llm_renderables(res: LlmSimResult) -> list[RenderableType]:
    """Terminal view of an LLM simulation: per class against the SLO, per window, per allocation,
    queue / KV / preemptions over time."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    pct = res.slo_percentile
    slo = ", ".join(s for s in (
        f"TTFT <= {res.slo_ttft_ms:g} ms" if res.slo_ttft_ms is not None else "",
        f"TPOT <= {res.slo_tpot_ms:g} ms" if res.slo_tpot_ms is not None else "",
        f"e2e <= {res.slo_e2e_ms:g} ms",
    ) if s)
    out: list[RenderableType] = [
        Text("LLM plan: simulated token by token (continuous batching, chunked prefill, KV cache; docs/simulate.md)"),
        Text(
            f"{res.plan}: {res.requests} requests, {res.arrivals} arrivals, {res.lengths} lengths, routing {res.routing}, seed {res.seed}; "
            f"SLO p{pct}: {slo}; attainment {_pct(res.attainment)} (target {_pct(res.target)}), goodput {res.goodput_rps:.3g} req/s -> "
            f"{'holds' if res.ok else 'FAILS'}"
        ),
    ]
    ct = Table(title=f"Per class (ms; p{pct} = the SLO percentile)", title_justify="left", box=box.SIMPLE, pad_edge=False)
    for col in ("class", "reqs", "TTFT p50", f"TTFT p{pct}", "TPOT p50", f"TPOT p{pct}", f"e2e p{pct}", "attain", "SLO"):
        ct.add_column(col, justify="left" if col == "class" else "right")
    for c in res.classes:
        ct.add_row(
            c.name, str(c.requests), _p(c.ttft_ms.p50), _p(c.ttft_at_slo_pct_ms), _p(c.tpot_ms.p50), _p(c.tpot_at_slo_pct_ms),
            _p(getattr(c.e2e_ms, f"p{pct}", None) if pct in (50, 90, 95, 99) else None), _pc(c.attainment), "holds" if c.holds else "FAILS",
        )
    out.append(ct)
    wt = Table(title="Per window", title_justify="left", box=box.SIMPLE, pad_edge=False)
    for col in ("win", "rps", "repl", "reqs", "attain", f"TTFT p{pct}", f"TPOT p{pct}", "q max", "KV max", "preempt"):
        wt.add_column(col, justify="right")
    for w in res.windows:
        tt = getattr(w.ttft_ms, f"p{pct}", None) if pct in (50, 90, 95, 99) else w.ttft_ms.p99
        tp = getattr(w.tpot_ms, f"p{pct}", None) if pct in (50, 90, 95, 99) else w.tpot_ms.p99
        wt.add_row(
            f"{w.window}{'!' if w.saturated else ''}", f"{w.rps:.3g}", str(w.replicas), str(w.requests), _pc(w.attainment),
            _p(tt), _p(tp), str(w.waiting_max), f"{100 * w.kv_used_max:.0f}%" if any(a.kv_cache_tokens for a in res.allocations) else "-", str(w.preemptions),
        )
    out.append(wt)
    at = Table(title="Per allocation", title_justify="left", box=box.SIMPLE, pad_edge=False)
    for col in ("allocation", "seqs", "KV tok", "budget", "reqs", "batch", "preempt"):
        whole = {"no_wrap": True, "min_width": max((len(a.name) for a in res.allocations), default=10)} if col == "allocation" else {}
        at.add_column(col, justify="left" if col == "allocation" else "right", **whole)  # type: ignore[arg-type]
    for a in res.allocations:
        at.add_row(a.name, str(a.max_num_seqs), str(a.kv_cache_tokens or "-"), str(a.token_budget), str(a.requests),
                   "-" if a.mean_batch is None else f"{a.mean_batch:.1f}", str(a.preemptions))
    out.append(at)
    out.append(Text("step times: " + "; ".join(f"{a.name}: {a.step_source}" for a in res.allocations)))
    n = max(1, len(res.series_t_s))
    stride = max(1, -(-n // 48))
    waiting: list[float | None] = [float(x) for x in res.series_waiting[::stride]]
    kv: list[float | None] = list(res.series_kv_used[::stride])
    pre = list(res.series_preemptions)
    pre_d: list[float | None] = [float(pre[k] - (pre[k - stride] if k >= stride else 0)) for k in range(0, len(pre), stride)]
    sp = Table(title="Over time (48 columns at most)", title_justify="left", show_header=False, box=box.SIMPLE, pad_edge=False)
    sp.add_column("what")
    sp.add_column("bars")
    sp.add_row(f"waiting (max {max(res.series_waiting, default=0)})", sparkline(waiting))
    sp.add_row("KV used (full bar 100%)", sparkline(kv, 1.0))
    sp.add_row(f"preemptions (total {pre[-1] if pre else 0})", sparkline(pre_d))
    out.append(sp)
    if res.saturated:
        out.append(Text("SATURATED: offered load exceeds what the replicas serve; the queue grows without bound (windows marked !)"))
    if res.failure is not None:
        f = res.failure
        lost = ", ".join(f"{k} x{v}" for k, v in f.lost.items()) or "nothing"
        claim = f"redundancy '{f.redundancy}' claim tested" if f.claim_tested else f"redundancy '{f.redundancy}' does not claim to survive this"
        back = "never" if f.back_at_s == float("inf") else f"at {f.back_at_s:g} s ({f.replacement_basis})"
        out.append(Text(
            f"failure {f.mode} at {f.at_s:g} s (window {f.window}): lost {lost}; replacements serve {back}; "
            f"{f.failed_requests} requests lost; attainment after {_pct(f.attainment_after)} -> {'holds' if f.holds else 'FAILS'}; {claim}"
        ))
    for note in res.notes:
        out.append(Text(f"note: {note}"))
    return out


def llm_png_bytes(res: LlmSimResult) -> bytes:
    """TTFT and TPOT percentiles per window against their SLO lines, and the queue and KV use over
    time, as a PNG (needs matplotlib: extra 'plot')."""
    plt = _pyplot()
    x = list(range(len(res.windows)))
    fig, (ax1, ax2, ax3) = plt.subplots(3, 1, figsize=(10, 8))
    for ax, key, slo, label in ((ax1, "ttft_ms", res.slo_ttft_ms, "TTFT"), (ax2, "tpot_ms", res.slo_tpot_ms, "TPOT")):
        for q, style in (("p50", "-"), ("p95", "--"), ("p99", ":")):
            ys = [getattr(getattr(w, key), q) for w in res.windows]
            ax.plot(x, [float("nan") if y is None else y for y in ys], style, marker="o", markersize=3, label=q)
        if slo is not None:
            ax.axhline(slo, color="red", linewidth=1, label=f"SLO p{res.slo_percentile} {slo:g} ms")
        ax.set_ylabel(f"{label} (ms)")
        ax.set_xticks(x, [str(w.window) for w in res.windows])
        ax.legend(loc="upper left", fontsize=8)
    ax1.set_title(f"{res.plan}: attainment {100 * res.attainment:.2f}% (target {100 * res.target:g}%), {res.routing}")
    ax2.set_xlabel("window")
    t = list(res.series_t_s)
    ax3.plot(t, list(res.series_waiting), color="black", linewidth=1, label="waiting requests")
    ax3.set_ylabel("waiting")
    ax3.set_xlabel("simulated seconds")
    ax3r = ax3.twinx()
    ax3r.plot(t, [100 * v for v in res.series_kv_used], color="tab:blue", linewidth=1, label="KV used %")
    ax3r.set_ylabel("KV used (%)")
    ax3r.set_ylim(0, 100)
    if res.failure is not None:
        ax3.axvline(res.failure.at_s, color="grey", linestyle="--", linewidth=1)
    ax3.legend(loc="upper left", fontsize=8)
    return _png(plt, fig)
