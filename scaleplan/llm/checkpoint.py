"""A Hugging Face checkpoint's own weight precision, from its config.json: the
``quantization_config`` the LLM model prices (AWQ, GPTQ, compressed-tensors, ModelOpt, fp8,
mxfp4), else its ``torch_dtype`` (pure; :mod:`scaleplan.llm.arch` reads the file)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

TORCH_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float32": "fp16"}


def quantized(q: Mapping[str, Any]) -> str | None:
    """The weights' precision a Hugging Face ``quantization_config`` states, among those the
    model prices (:data:`scaleplan.llm.memory.BYTES_PER_PARAM`); None when it states none of
    them. AWQ and GPTQ checkpoints were read as their 16-bit ``torch_dtype`` (a 4-bit
    Qwen2.5-7B-Instruct-AWQ as 14.2 GiB of weights instead of 5.2)."""
    method = str(q.get("quant_method", "")).lower()
    bits = q.get("bits", q.get("w_bit", 4))
    if method == "awq" and bits == 4:
        return "int4-awq"
    if method == "gptq":
        return {4: "int4-gptq", 8: "int8"}.get(bits) if isinstance(bits, int) else None
    if method == "modelopt":  # NVIDIA ModelOpt checkpoints: quant_algo FP8 / NVFP4
        return {"FP8": "fp8", "NVFP4": "nvfp4"}.get(str(q.get("quant_algo", "")).upper())
    if method == "compressed-tensors":  # llm-compressor (RedHatAI ...-FP8, -W4A16, -W8A8)
        groups = q.get("config_groups")
        first = next(iter(groups.values()), None) if isinstance(groups, Mapping) else None
        w = first.get("weights") if isinstance(first, Mapping) else None
        if isinstance(w, Mapping):
            kinds: dict[tuple[Any, Any], str] = {
                (8, "float"): "fp8", (8, "int"): "int8", (4, "int"): "int4-gptq"
            }
            return kinds.get((w.get("num_bits"), w.get("type")))
    return None


def native_dtype(cfg: Mapping[str, Any]) -> str:
    """The checkpoint's own weight precision: its quantization (``quantization_config``, or a
    preset's ``native_quantization``), else its ``torch_dtype``."""
    q = cfg.get("quantization_config")
    quant = q.get("quant_method") if isinstance(q, Mapping) else cfg.get("native_quantization")
    if isinstance(quant, str) and quant.startswith("mxfp4"):
        return "mxfp4"
    if isinstance(quant, str) and quant.startswith("fp8"):
        return "fp8"
    if isinstance(q, Mapping) and (stated := quantized(q)) is not None:
        return stated
    return _torch_dtype(cfg)


def _torch_dtype(cfg: Mapping[str, Any]) -> str:
    """The precision config.json's ``torch_dtype`` (or ``dtype``) names: bf16 if none."""
    td = cfg.get("torch_dtype") or cfg.get("dtype")
    return TORCH_DTYPES.get(td, "bf16") if isinstance(td, str) else "bf16"


def unpriced_quantization(cfg: Mapping[str, Any]) -> str | None:
    """A note when ``cfg`` states a quantization the model does not price (bitsandbytes,
    EXL2, a 3-bit GPTQ): its weights are then sized as its ``torch_dtype`` (UX review 15, F8:
    it was said nowhere but docs/llm.md); None otherwise."""
    q = cfg.get("quantization_config")
    if not isinstance(q, Mapping):
        return None
    native = native_dtype(cfg)
    if native != _torch_dtype(cfg):
        return None  # priced: the quantization is the precision
    from typing import get_args

    from scaleplan.spec import LlmDtype

    method = q.get("quant_method", "?")
    smaller = ", ".join(d for d in get_args(LlmDtype) if d not in ("bf16", "fp16"))
    return (
        f"config.json's quantization_config (quant_method {str(method)!r}) is not one the model "
        f"prices: the weights are sized as its torch_dtype, {native}; give the precision they "
        f"load in (--dtype, model.dtype: {smaller}) if that is smaller"
    )
