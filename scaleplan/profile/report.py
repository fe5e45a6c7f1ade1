"""Profiles as terminal tables (rich): the points that ``profile run``, ``estimate``, ``merge``
and ``import`` wrote, and the predictions of ``profile llm``; short headers and plain numbers,
so a table fits an 80-column terminal. The command line prints them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scaleplan.profile.model import Profile

if TYPE_CHECKING:
    from rich.table import Table


def profile_summary(
    profile: Profile, out: str, verdict: dict[str, object] | None
) -> dict[str, object]:
    """``--json`` with ``--out FILE``: the file, the model, its points and notes (and the run's
    verdict, when measured)."""
    doc: dict[str, object] = {
        "out": out,
        "model": profile.metadata.model,
        "measurements": [
            m.model_dump(mode="json", exclude_none=True) for m in profile.measurements
        ],
        "notes": list(profile.metadata.notes),
    }
    if verdict is not None:
        doc["verdict"] = verdict
    return doc


def profile_table(profile: Profile) -> Table:
    """One row per point: accelerator, device, batch, p50/p99, rate, peak memory, source."""
    from rich.table import Table

    t = Table(title=f"{profile.metadata.model}: {len(profile.measurements)} point(s)")
    for col in ("accel", "device", "batch", "p50 ms", "p99 ms", "req/s", "GiB", "source"):
        t.add_column(col, justify="right" if col not in ("accel", "device", "source") else "left")
    for m in profile.measurements:
        rate = f"{m.throughput_rps:,.0f}" if m.throughput_rps >= 1000 else f"{m.throughput_rps:.4g}"
        mem = "-" if m.peak_memory_gib is None else f"{m.peak_memory_gib:.3g}"
        t.add_row(
            m.accelerator, m.device, str(m.batch_size), f"{m.latency_ms.p50:.4g}",
            f"{m.latency_ms.p99:.4g}", rate, mem, m.source,
        )
    return t


def llm_profile_table(profile: Profile, out: str) -> Table:
    """``profile llm``: TTFT, TPOT and tokens/s per accelerator, GPUs, class and concurrency."""
    from rich.table import Table

    t = Table(title=f"{profile.metadata.model}: {len(profile.measurements)} point(s) -> {out}")
    for col in ("accel", "gpus", "class", "conc", "TTFT ms", "TPOT ms", "tok/s", "source"):
        t.add_column(col, justify="left" if col in ("accel", "class", "source") else "right")
    for m in profile.measurements:
        ttft = f"{m.ttft_ms.p50:.4g}" if m.ttft_ms else "-"
        tpot = f"{m.tpot_ms.p50:.3g}" if m.tpot_ms else "-"
        toks = m.throughput_rps * (m.output_tokens or 1)
        t.add_row(
            m.accelerator, str(m.gpus), (m.request_class or "-")[:10],
            str(m.concurrency or m.batch_size), ttft, tpot, f"{toks:,.0f}", m.source,
        )
    return t
