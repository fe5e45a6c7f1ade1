"""The verdict a measured profile ends with: is each point's throughput a figure to plan on?

Pure: a profile (and the CI target it was measured for) in, findings out. The CLI prints them
on the terminal at the end of ``scaleplan profile`` and ``--strict`` turns a profile that is
not ``ok`` into exit 5. Per point (measured points with windows, i.e. the sustained rate):

* ``ok``: the windows agreed and the CI of the sustained rate is within the target;
* ``wide``: stable windows, but the CI is wider than the target (more budget narrows it);
* ``unstable``: the budget ran out before the windows agreed (``stable: false``);
* ``contended``: the median call is far above the fast calls, or other processes kept the
  host's CPUs busy (``contended: true``): the sustained rate is this host's, under that load,
  and its interval the spread of one window.

Across points: throughput that *falls* as the batch grows (the larger batch's CI lies wholly
below the smaller one's) says the larger batches cost more than they give on this device.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from scaleplan.errors import ExternalError
from scaleplan.profile.model import Measurement, Profile
from scaleplan.profile.stats import figure
from scaleplan.wording import counted

Status = Literal["ok", "wide", "unstable", "contended"]


@dataclass(frozen=True)
class PointVerdict:
    device: str
    batch_size: int
    throughput_rps: float
    ci_rel: float | None
    status: Status
    median_over_fast: float | None
    slowdown: float
    others_cpus: float | None = None

    def line(self, target_ci: float) -> str:
        ci = f"+-{self.ci_rel:.1%}" if self.ci_rel is not None else "CI n/a"
        why = {
            "ok": "ok",
            "wide": f"wide (target +-{target_ci:.0%})",
            "unstable": "unstable: windows never agreed",
            "contended": self._contended(),
        }[self.status]
        return (f"  {self.device} batch {self.batch_size}: {figure(self.throughput_rps)} "
            f"req/s {ci}  {why}")

    def _contended(self) -> str:
        if self.others_cpus is None:
            return f"contended ({self.slowdown:.3g}x slower than quiet)"
        return f"contended: x{self.slowdown:.3g}, others {self.others_cpus:.2f} CPUs"


@dataclass(frozen=True)
class Falling:
    device: str
    small: int
    large: int
    small_rps: float
    large_rps: float

    def line(self) -> str:
        return (f"  {self.device}: throughput falls from batch {self.small} "
            f"({figure(self.small_rps)}/s) to batch {self.large} ({figure(self.large_rps)}/s)")


@dataclass(frozen=True)
class Verdict:
    points: tuple[PointVerdict, ...]
    falling: tuple[Falling, ...]
    target_ci: float

    @property
    def ok(self) -> bool:
        """No point unstable or contended (``--strict`` exits 5 otherwise)."""
        return not any(p.status in ("unstable", "contended") for p in self.points)

    def strict_error(self) -> ExternalError:
        """``--strict`` on a verdict that is not ``ok``: exit 5 (the profile is written)."""
        return ExternalError(
            "--strict: the profile is unstable or contended (written anyway; see the verdict above)"
        )

    def count(self, status: Status) -> int:
        return sum(1 for p in self.points if p.status == status)

    def headline(self) -> list[str]:
        out = [f"verdict: {self.count('ok')} of {counted(len(self.points), 'point')} ok (stable, "
            f"CI within +-{self.target_ci:.0%})"]
        parts = [f"{k} {st}" for st in ("wide", "unstable", "contended") if (k := self.count(st))]
        if self.falling:
            parts.append("throughput falls as batch grows")
        if parts:
            out.append("  " + "; ".join(parts))
        return out

    def lines(self) -> list[str]:
        """The verdict as lines of at most 80 columns."""
        out = [*self.headline(), *(p.line(self.target_ci) for p in self.points),
            *(f.line() for f in self.falling)]
        if self.count("contended"):
            out.append("  contended: the host was busy; throughput_rps is what it sustained under")
            out.append("  that load. Re-measure on a quiet host before planning on it.")
        if self.count("unstable") or self.count("wide"):
            out.append("  unstable or wide: raise --time-budget (more windows), or plan on the")
            out.append("  lower CI bound (placement.conservative: true in the spec).")
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "target_ci": self.target_ci,
            "points": [{"device": p.device, "batch_size": p.batch_size,
                "throughput_rps": p.throughput_rps, "throughput_ci_rel": p.ci_rel,
                "status": p.status, "median_over_fast": p.median_over_fast,
                "slowdown": round(p.slowdown, 3), "others_cpus": p.others_cpus} for p in self.points],
            "falling": [{"device": f.device, "from_batch": f.small, "to_batch": f.large,
                "from_rps": f.small_rps, "to_rps": f.large_rps} for f in self.falling],
        }


def slowdown(m: Measurement) -> float:
    """The larger of median call / fast call and quiet rate / sustained rate (1.0 = quiet)."""
    gap = m.throughput_quiet_rps / m.throughput_rps if m.throughput_quiet_rps else 1.0
    return max(m.median_over_fast or 1.0, gap)


def point_status(m: Measurement, target_ci: float) -> Status:
    if m.contended:
        return "contended"
    if m.stable is False:
        return "unstable"
    if m.throughput_ci_rel is None or m.throughput_ci_rel > target_ci:
        return "wide"
    return "ok"


def profile_verdict(profile: Profile, target_ci: float) -> Verdict:
    """The verdict on a profile's measured, windowed points (others are left out)."""
    pts = [m for m in profile.measurements if m.source == "measured" and m.windows is not None]
    verdicts = tuple(PointVerdict(m.device, m.batch_size, m.throughput_rps, m.throughput_ci_rel,
        point_status(m, target_ci), m.median_over_fast, slowdown(m), m.others_cpus) for m in pts)
    by_dev: dict[str, list[Measurement]] = defaultdict(list)
    for m in pts:
        by_dev[m.device].append(m)
    falling: list[Falling] = []
    for dev in sorted(by_dev):
        ms = sorted(by_dev[dev], key=lambda m: m.batch_size)
        for a, b in itertools.pairwise(ms):
            hi_b = b.throughput_rps * (1 + (b.throughput_ci_rel or 0.0))
            lo_a = a.throughput_rps * (1 - (a.throughput_ci_rel or 0.0))
            if hi_b < lo_a:
                falling.append(Falling(dev, a.batch_size, b.batch_size, a.throughput_rps,
                    b.throughput_rps))
    return Verdict(points=verdicts, falling=tuple(falling), target_ci=target_ci)


def noisy_plan_points(
    profile: Profile, used: Iterable[tuple[str, int, str | None]], profile_file: str
) -> list[str]:
    """Warnings for a plan whose capacity rests on measured points the verdict did not pass:
    ``contended`` (a busy host's rate) or ``unstable`` (the budget ran out first). ``used``:
    the plan's (accelerator, batch size, request class) operating points. The profile's verdict
    said so when it was measured; ``optimize`` planned on them without a word."""
    keys = set(used)
    bad: dict[tuple[str, str], list[int]] = defaultdict(list)
    for m in profile.measurements:
        if m.source != "measured" or (m.accelerator, m.batch_size, m.request_class) not in keys:
            continue
        status = point_status(m, target_ci=1.0)
        if status in ("contended", "unstable") and m.batch_size not in bad[(m.accelerator, status)]:
            bad[(m.accelerator, status)].append(m.batch_size)
    why = {
        "contended": ("measured on a busy host (its rate is what that load left)",
                      "on a quiet host"),
        "unstable": ("unstable (the time budget ran out before its windows agreed)",
                     "with a longer --time-budget"),
    }
    return [
        f"{profile_file}: the plan's capacity on {acc} rests on {counted(len(bs), 'point')} "
        f"{why[status][0]}: {acc} batch {', '.join(map(str, sorted(bs)))}; re-measure "
        f"{why[status][1]} before relying on the plan (docs/profile.md, The verdict)"
        for (acc, status), bs in sorted(bad.items())
    ]
