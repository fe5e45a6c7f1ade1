"""Dense tensor peaks by dtype, and documented stand-ins for accelerators without a published one.

The profile estimator (:mod:`scaleplan.profile.estimate`) and the LLM model
(:mod:`scaleplan.llm.hardware`) both read peaks through here, so the proxy table and its rule
exist once. A **proxied peak** is a figure the vendor does not publish, chosen conservatively
(low: a slower compute term, i.e. a prediction that does not over-promise), named in every
basis that uses it, and it widens the uncertainty band (:func:`proxy_band`). docs/profile.md
and docs/llm.md ("Proxied peaks") say why each value was chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

from scaleplan.catalog.model import Accelerator

FP8_DTYPES = ("float8", "fp8", "float8_e4m3fn", "float8_e5m2")
#: Factor on a band's high end when a prediction rests on a proxied peak: the stand-in figure
#: itself may be optimistic (the estimator's CPU transfers and the LLM model's TTFT use it).
PROXY_WIDEN = 1.25


@dataclass(frozen=True)
class PeakProxy:
    """A dense FP16 tensor peak standing in for an unpublished one, and what bounds it."""

    fp16_tflops: float
    upper_bound: str  # the accelerator whose published peak bounds this one from above
    upper_bound_tflops: float
    source: str

    @property
    def low_factor(self) -> float:
        """How much faster than predicted the part can be if the upper bound were the truth."""
        return self.fp16_tflops / self.upper_bound_tflops


#: Accelerators whose vendor publishes no tensor peak. A10G: AWS's variant of the A10's GA102
#: die with the same 24 GB / 600 GB/s memory. NVIDIA's A10 data sheet gives 125 dense FP16
#: TFLOPS, an upper bound; Baseten's "NVIDIA A10 vs A10G for ML model inference" (which links
#: AWS's A10G data sheet) gives the A10G 70 FP16 tensor TFLOPS and a lower tensor rate at every
#: precision. The lower figure is used: prefill is planned slower, never faster, than it may be.
PEAK_PROXIES: dict[str, PeakProxy] = {
    "A10G": PeakProxy(
        fp16_tflops=70.0,
        upper_bound="A10",
        upper_bound_tflops=125.0,
        source="Baseten's A10 vs A10G comparison; NVIDIA publishes none",
    ),
}


def own_peak(acc: Accelerator, dtype: str | None) -> tuple[float | None, str]:
    """The dense tensor peak of the served dtype (label says which), else the FP16 peak."""
    d = (dtype or "").lower()
    if d in FP8_DTYPES and acc.fp8_tflops:
        return acc.fp8_tflops, "FP8"
    if d in ("int8", "uint8") and acc.int8_tops:
        return acc.int8_tops, "INT8"
    if d == "bfloat16" and (acc.bf16_tflops or acc.fp16_tflops):
        return acc.bf16_tflops or acc.fp16_tflops, "BF16"
    return acc.fp16_tflops, "FP16"


def proxy_note(acc: Accelerator) -> str | None:
    """The sentence every basis using ``acc``'s proxied peak carries (None: its own peak)."""
    p = PEAK_PROXIES.get(acc.name)
    if p is None or acc.fp16_tflops is not None or acc.bf16_tflops is not None:
        return None
    return (
        f"{acc.name} FP16 peak proxy {p.fp16_tflops:g} TFLOPS ({p.source}; "
        f"the {p.upper_bound}'s {p.upper_bound_tflops:g} is an upper bound)"
    )


def with_proxy(acc: Accelerator) -> tuple[Accelerator, str | None]:
    """``acc`` with its proxied peaks filled in when it has none of its own, and the note.
    BF16 runs at the FP16 rate and INT8 at twice it: the Ampere tensor-core ratios of the
    A10's own data sheet (125 / 125 / 250)."""
    note = proxy_note(acc)
    if note is None:
        return acc, None
    p = PEAK_PROXIES[acc.name]
    int8 = acc.int8_tops or 2 * p.fp16_tflops
    peaks = {"fp16_tflops": p.fp16_tflops, "bf16_tflops": p.fp16_tflops, "int8_tops": int8}
    filled = acc.model_copy(update=peaks)
    return filled, note


def peak_with_proxy(acc: Accelerator, dtype: str | None) -> tuple[float | None, str, str | None]:
    """(peak, label, proxy note): the accelerator's own dense peak, else its documented proxy."""
    filled, note = with_proxy(acc)
    pk, label = own_peak(filled, dtype)
    return pk, label, note if pk is not None else None


def proxy_band(band: tuple[float, float], acc_name: str) -> tuple[float, float]:
    """A latency band widened for a prediction on ``acc_name``'s proxied peak: the low end by
    proxy / upper bound (the part may be that much faster), the high end by PROXY_WIDEN."""
    p = PEAK_PROXIES[acc_name]
    return band[0] * p.low_factor, band[1] * PROXY_WIDEN
