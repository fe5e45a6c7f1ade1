"""Profiles as plain terminal tables (:mod:`scaleplan.table`): the points that ``profile run``,
``estimate``, ``merge`` and ``import`` wrote, and the predictions of ``profile llm``; short
headers and plain numbers, so a table fits an 80-column terminal; no cell is cut. The command
line prints them. Also the live progress of ``profile run`` (a bar per device) on the console
the command line passes in."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scaleplan.profile.model import Profile
from scaleplan.profile.stats import figure
from scaleplan.table import Column, Line, Report, table_text, titled
from scaleplan.wording import counted

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import Console

    from scaleplan.profile.model import Measurement


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


BOUND_NOTE = (
    ">= a lower bound on capacity, not the capacity: an open-loop run that served less\n"
    "   than it offered without a queue for most of it (a drain tail; docs/llm.md)"
)


def _bound(m: Measurement) -> bool:
    """Whether the point is a lower bound on capacity, as the LLM calibration reads it."""
    from scaleplan.llm.estimate import point_reading

    return point_reading(m).lower_bound


def _with_bound_note(table: str, points: Sequence[Measurement]) -> str:
    return f"{table.rstrip()}\n{BOUND_NOTE}\n" if any(_bound(m) for m in points) else table


def profile_table(profile: Profile) -> str:
    """One row per point: accelerator, device, batch, p50/p99, rate, peak memory, source (a
    plain table, :mod:`scaleplan.table`: no cell cut)."""
    right = (Column(h, "right") for h in ("batch", "p50 ms", "p99 ms", "req/s", "GiB"))
    # GPUs per replica when any point has several: TP2 and TP4 runs of one GPU type looked
    # like the same point twice
    tp = any(m.gpus > 1 for m in profile.measurements)
    gpus = [Column("gpus", "right")] if tp else []
    cols = [Column("accel"), *gpus, Column("device"), *right, Column("source")]
    rows = []
    for m in profile.measurements:
        rate = (">=" if _bound(m) else "") + figure(m.throughput_rps, 4)
        mem = "-" if m.peak_memory_gib is None else f"{m.peak_memory_gib:.3g}"
        rows.append([
            m.accelerator, *([str(m.gpus)] if tp else []), m.device, str(m.batch_size),
            figure(m.latency_ms.p50, 4), figure(m.latency_ms.p99, 4), rate, mem, m.source,
        ])
    title = f"{profile.metadata.model}: {counted(len(rows), 'point')}"
    # an endpoint's DEVICE is its URL (an in-cluster one runs past 80 columns): then records,
    # each point under its URL, whole
    table = table_text(cols, rows, title=title, width=80, key=cols.index(Column("device")))
    return _with_bound_note(table, profile.measurements)


def preset_table(names: Sequence[str]) -> str:
    """``profile llm --list``: the shipped presets, one row each (kind, attention, layers,
    parameters, active parameters, experts used + shared of all), in 80 columns; the one-line
    descriptions ran to 85 ('qwen3-235b-a22b: MoE GQA, 94 layers, 235.1B params (...)')."""
    from scaleplan.llm.arch import preset

    cols = [
        Column("preset"), Column("kind"), Column("attn"), Column("layers", "right"),
        Column("params", "right"), Column("active", "right"), Column("experts", "right"),
    ]
    rows = []
    for name in names:
        a = preset(name)
        attn = "MLA" if a.is_mla else ("GQA" if a.num_kv_heads < a.num_heads else "MHA")
        moe = f"{a.experts_per_token}+{a.shared_experts}/{a.num_experts}" if a.is_moe else "-"
        rows.append([
            name, "MoE" if a.is_moe else "dense", attn, str(a.num_layers),
            f"{a.total_params / 1e9:.1f}B", f"{a.active_params / 1e9:.1f}B", moe,
        ])
    return table_text(cols, rows)


def llm_profile_table(profile: Profile, out: str) -> str:
    """``profile llm``: TTFT, TPOT and tokens/s per accelerator, GPUs, class and concurrency
    (a plain table: a class name is never cut)."""
    right = (Column(h, "right") for h in ("conc", "TTFT ms", "TPOT ms", "tok/s"))
    cols = [Column("accel"), Column("gpus", "right"), Column("class"), *right, Column("source")]
    rows = []
    for m in profile.measurements:
        ttft = figure(m.ttft_ms.p50, 4) if m.ttft_ms else "-"
        tpot = figure(m.tpot_ms.p50, 3) if m.tpot_ms else "-"
        toks = m.throughput_rps * (m.output_tokens or 1)
        rows.append([
            m.accelerator, str(m.gpus), m.request_class or "-",
            str(m.concurrency or m.batch_size), ttft, tpot,
            (">=" if _bound(m) else "") + f"{toks:,.0f}", m.source,
        ])
    title = f"{profile.metadata.model}: {counted(len(rows), 'point')} -> {out}"
    return _with_bound_note(table_text(cols, rows, title=title), profile.measurements)


class RichProgress:
    """A rich progress bar per device (one step per batch size), and a line per point
    (:class:`scaleplan.profile.measure.Progress`, drawn on ``console``)."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=self.console, transient=False,
        )
        self.tasks: dict[str, Any] = {}
        self.labels: dict[str, str] = {}

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def device_started(self, device: str, accelerator: str, batch_sizes: Sequence[int]) -> None:
        self.labels[device] = f"{device} ({accelerator})"
        self.tasks[device] = self.progress.add_task(self.labels[device], total=len(batch_sizes))

    def point_started(self, device: str, batch_size: int) -> None:
        label = f"{self.labels[device]} batch {batch_size}"
        self.progress.update(self.tasks[device], description=label)

    def point_done(self, device: str, m: Measurement | None, note: str | None) -> None:
        from scaleplan.profile.measure import describe

        con = self.progress.console
        if m is not None:
            con.print(f"measured {describe(m)}", markup=False, highlight=False, soft_wrap=True)
            self.progress.advance(self.tasks[device])
        if note:
            con.print(f"note: {note}", markup=False, highlight=False, soft_wrap=True)
        self.console.file.flush()

    def refine_started(self, device: str, total_s: float) -> None:
        label = f"{self.labels[device]}: windows across batch sizes (s)"
        self.tasks[f"{device} refine"] = self.progress.add_task(label, total=max(total_s, 1e-9))

    def refine_advance(self, device: str, seconds: float) -> None:
        self.progress.advance(self.tasks[f"{device} refine"], seconds)

    def refine_done(self, device: str) -> None:
        task = self.tasks[f"{device} refine"]
        self.progress.update(task, completed=self.progress.tasks[task].total)

    def device_done(self, device: str) -> None:
        task = self.tasks[device]
        total = self.progress.tasks[task].total
        self.progress.update(task, description=self.labels[device], completed=total)


def summary_report(
    profile: Profile, out: str, as_json: bool, verdict: dict[str, object] | None = None
) -> Report:
    """A profile written to ``out``: :func:`profile_summary` as JSON, or its table and the file
    written (a path is never wrapped or cut); nothing for '-', where the profile itself was
    the output."""
    if out == "-":
        return Report()
    if as_json:
        return Report(doc=profile_summary(profile, out, verdict))
    return Report(text=profile_table(profile), lines=[Line(f"wrote {out}", hang=2)])


def presets_report(as_json: bool) -> Report:
    """``profile llm --list``: the shipped architecture presets, as JSON or a table."""
    from scaleplan.llm.arch import preset_list

    rows = preset_list()
    if as_json:
        return Report(doc=rows)
    return Report(text=preset_table([r["name"] for r in rows]), lines=[Line(t) for t in ACTIVE])


# what ACTIVE counts (UX trial 38 F6: gpt-oss-120b's 5.7B against its card's 5.1B): what one
# token uses, embeddings included, as the cards of Mixtral (12.9B), Qwen (Qwen3-30B-A3B 3.3B,
# Qwen1.5-MoE-A2.7B) and DeepSeek-V3 (37B) count; gpt-oss's card alone leaves out the input
# embedding (a lookup): 5.13B. Not excluding both embeddings: that matches no card (4.6B).
ACTIVE = (
    "ACTIVE: the parameters one token uses (MoE: its top-k and shared experts), the",
    "  embeddings and LM head included, as Mixtral's, Qwen's and DeepSeek's cards",
    "  count; gpt-oss's cards leave out the input embedding (gpt-oss-120b: 5.1B)",
)


def llm_report(
    profile: Profile, notes: Sequence[str], text: str, out: str, as_json: bool
) -> Report:
    """``profile llm``: its notes (on stderr in every mode: ``--json`` and ``--out -`` say
    nothing else there), then the profile as JSON, its YAML ``text`` (``--out -``), or its
    table and the file written."""
    if as_json:
        return Report(doc=profile.model_dump(mode="json", exclude_none=True), notes=notes)
    if out == "-":
        return Report(text=text, notes=notes)
    return Report(lines=titled(llm_profile_table(profile, out)), notes=notes)
