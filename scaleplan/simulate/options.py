"""The options of ``scaleplan simulate`` checked against each other and the plan, and the
windows it simulates (``--windows``).

A value no simulation takes is an :class:`~scaleplan.errors.OptionError` (exit 2, named by
its option once), windows the plan does not have included. An option that does not apply to
this kind of plan (a token-level option on a request-level plan, a request-level one on an LLM
plan, ``--picker`` without an endpoint picker) conflicts with the plan file's content: an
:class:`~scaleplan.errors.InputError` at the plan (exit 3; docs/cli.md, "Exit codes"). The
LLM-only checks import the token-level simulator's tables only when the plan is an LLM plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, TypeVar

from scaleplan.errors import OptionError, input_error
from scaleplan.wording import counted

if TYPE_CHECKING:
    from scaleplan.plan import Plan
    from scaleplan.simulate.failures import Failure
    from scaleplan.simulate.llm_replicas import StepSource
    from scaleplan.simulate.llm_routing import Picker
    from scaleplan.simulate.llm_workload import ArrivalProcess, Lengths
    from scaleplan.simulate.serving import PolicyChoice

C = TypeVar("C", bound=str)

ARRIVALS = ("poisson", "bursty", "trace")


class Choices(NamedTuple):
    """The options both simulators take, as the simulators' types."""

    policy: PolicyChoice
    fail: Failure | None


class LlmChoices(NamedTuple):
    """The token-level simulator's own options, as its types."""

    lengths: Lengths
    picker: Picker
    steps: StepSource
    arrivals: ArrivalProcess


def _one_of(value: str, allowed: tuple[C, ...], option: str) -> C:
    """``value`` as the one of ``allowed`` it names (a usage error when none)."""
    for choice in allowed:
        if choice == value:
            return choice
    raise OptionError(f"must be one of {', '.join(allowed)}; got {value!r}", option=option)


def check_options(
    *,
    policy: str,
    fail: str | None,
    arrivals: str,
    trace: str | None,
    duration: float | None,
    batch_timeout_ms: float,
    fixed_fraction: float,
) -> Choices:
    """The options both simulators read, checked before the plan is read."""
    from scaleplan.simulate.failures import FAILURES
    from scaleplan.simulate.serving import POLICIES

    chosen = Choices(_one_of(policy, POLICIES, "--policy"), None)
    if fail is not None:
        chosen = chosen._replace(fail=_one_of(fail, FAILURES, "--fail"))
    if arrivals not in ARRIVALS:
        message = f"must be poisson, bursty or trace; got {arrivals!r}"
        raise OptionError(message, option="--arrivals")
    if arrivals == "trace" and trace is None:
        raise OptionError("--arrivals trace needs --trace FILE", option="--trace")
    if arrivals == "bursty" and trace is not None:  # the trace's times would silently win
        message = (
            "a --trace brings its own arrival times; give --arrivals bursty or --trace, not both"
        )
        raise OptionError(message, option="--arrivals")
    if duration is not None and (not duration > 0 or duration > 86400):
        message = f"must be > 0 and <= 86400 seconds; got {duration:g}"
        raise OptionError(message, option="--duration")
    if batch_timeout_ms < 0 or batch_timeout_ms > 60000:
        raise OptionError("must be between 0 and 60000", option="--batch-timeout-ms")
    if not 0 <= fixed_fraction <= 1:
        raise OptionError("must be between 0 and 1", option="--fixed-fraction")
    return chosen


def select_windows(text: str, nwin: int, rps: tuple[float, ...]) -> tuple[int, ...] | None:
    """``--windows``: all (None), peak (the busiest, the first of equals), a number, a range
    such as 8-18, or a comma list of those."""
    text = text.strip().lower()
    if text in ("", "all"):
        return None
    if text == "peak":
        return (max(range(nwin), key=lambda w: (rps[w], -w)),)
    out: list[int] = []
    try:
        for part in text.split(","):
            lo, sep, hi = part.partition("-")
            a = int(lo)
            b = int(hi) if sep else a
            out.extend(range(a, b + 1))
    except ValueError:
        how = "use all, peak, a window number, a range such as 8-18, or a comma list"
        raise OptionError(f"cannot read {text!r} ({how})", option="--windows") from None
    if not out or any(w < 0 or w >= nwin for w in out):
        has = counted(nwin, "window")
        message = f"{text!r} selects windows outside 0..{nwin - 1} (the plan has {has})"
        raise OptionError(message, option="--windows")
    return tuple(dict.fromkeys(out))


def check_request_level(
    plan_file: str, *, profile: str | None, lengths: str, replace_after: float | None,
    picker: str, steps: str,
) -> None:
    """A request-level plan takes none of the token-level options; ``--replace-after`` both
    simulators take (checked here for the request-level one)."""
    token_level = (
        profile is not None or lengths not in ("spec", "fixed") or picker != "epp"
        or steps != "auto"
    )
    if token_level:
        message = "--profile, --lengths, --picker and --steps apply to LLM plans only"
        raise input_error(plan_file, "", message, "drop them: this plan is simulated by request")
    if replace_after is not None and not 0 <= replace_after <= 86400:
        raise OptionError("must be between 0 and 86400 seconds", option="--replace-after")


def check_llm(
    plan: Plan,
    plan_file: str,
    *,
    policy: str,
    batch_timeout_ms: float,
    fixed_fraction: float,
    arrivals: str,
    lengths: str,
    picker: str,
    steps: str,
    length_sigma: float,
    min_requests: int,
    replace_after: float | None,
) -> LlmChoices:
    """An LLM plan is simulated token by token: the request-level options do not apply, and
    the token-level ones must be known and in range."""
    from scaleplan.simulate.llm_replicas import STEP_SOURCES
    from scaleplan.simulate.llm_routing import PICKERS
    from scaleplan.simulate.llm_workload import ARRIVAL_PROCESSES, LENGTHS

    request_level = (
        ("--policy", policy != "auto"), ("--batch-timeout-ms", batch_timeout_ms != 0),
        ("--fixed-fraction", fixed_fraction != 0.5),
    )
    unused = [o for o, bad in request_level if bad]
    if unused:
        message = (
            f"{', '.join(unused)} {'does' if len(unused) == 1 else 'do'} not apply to LLM plans "
            "(they are simulated token by token; "
            "routing follows the plan's kubernetes.routing)"
        )
        raise input_error(plan_file, "", message, f"drop {', '.join(unused)}")
    chosen_lengths = _one_of(lengths, LENGTHS, "--lengths")
    chosen_picker = _one_of(picker, PICKERS, "--picker")
    routing = plan.spec.kubernetes.routing
    if picker != "epp" and routing != "inference-pool":
        message = (
            "--picker applies to plans with kubernetes.routing: inference-pool (an endpoint "
            f"picker); this plan routes by {routing}, simulated as rendered"
        )
        raise input_error(plan_file, "", message, "drop --picker")
    # a trace brings its own times (--arrivals trace is implied by --trace)
    process: ArrivalProcess = "poisson"
    if arrivals != "trace":
        process = _one_of(arrivals, ARRIVAL_PROCESSES, "--arrivals")
    chosen_steps = _one_of(steps, STEP_SOURCES, "--steps")
    chosen = LlmChoices(chosen_lengths, chosen_picker, chosen_steps, process)
    if not 0 <= length_sigma <= 3:
        raise OptionError("must be between 0 and 3", option="--length-sigma")
    if not 1 <= min_requests <= 1_000_000:
        raise OptionError("must be between 1 and 1000000", option="--min-requests")
    if replace_after is not None and not 0 <= replace_after <= 86400:
        raise OptionError("must be between 0 and 86400 seconds", option="--replace-after")
    return chosen
