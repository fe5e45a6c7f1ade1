"""Tensor-parallel splits that a block-scaled FP8 checkpoint cannot load.

Block-scaled FP8 checkpoints (``quantization_config.weight_block_size: [128, 128]``: DeepSeek-V3
and R1, Qwen's own ``-FP8`` releases) hold one scale per 128 x 128 block of each weight. vLLM and
SGLang shard each FFN's width (each expert's, in an MoE layer run tensor parallel) over the TP
ranks, and refuse to load a shard that is not whole blocks ("output_size of gate's and up's
weight = 192 is not divisible by weight quantization block_n = 128": Qwen/Qwen3-30B-A3B-FP8
at TP 4, vllm-project/vllm#25292). Per-tensor or per-channel FP8 (llm-compressor's
FP8-dynamic, ``--quantization fp8`` on a 16-bit checkpoint) has no blocks and loads at any TP.

Pure.
"""

from __future__ import annotations

from scaleplan.llm.arch import Architecture

__all__ = ["FP8_BLOCK", "fp8_block_split", "fp8_checkpoint_split", "largest_whole_split"]

FP8_BLOCK = 128  # weight_block_size of the block-scaled FP8 checkpoints (DeepSeek, Qwen)


def _ffn_widths(arch: Architecture) -> list[tuple[str, int]]:
    """The FFN widths the TP ranks split: each expert's, and the dense layers' where any."""
    widths = []
    if arch.is_moe:
        widths.append(("expert FFN width (moe_intermediate_size)", arch.moe_intermediate_size))
    if arch.dense_layers:
        widths.append(("FFN width (intermediate_size)", arch.intermediate_size))
    return widths


def _share(width: int, tp: int) -> str:
    """``width / tp`` as a count: 14,784, not ``{:,.4g}``'s 1.478e+04 (UX trial 39 F4)."""
    return f"{width // tp:,}" if width % tp == 0 else f"{width / tp:,.1f}"


def fp8_block_split(arch: Architecture, tp: int) -> str | None:
    """Why TP ``tp`` splits one of ``arch``'s FFN widths into shards that are not whole
    :data:`FP8_BLOCK`-wide blocks (so a block-scaled FP8 checkpoint of it does not load); None
    when every shard is whole blocks, or at TP 1."""
    if tp <= 1:
        return None
    for what, width in _ffn_widths(arch):
        if width % (tp * FP8_BLOCK):
            return (
                f"TP{tp} splits {arch.name}'s {what} {width:,} into {_share(width, tp)} columns a "
                f"GPU, not whole {FP8_BLOCK}-wide blocks"
            )
    return None


def fp8_checkpoint_split(
    arch: Architecture, dtype: str | None, engine: str | None, tp: int
) -> str | None:
    """:func:`fp8_block_split` where a block-scaled checkpoint's blocks are loaded: fp8 weights
    (``dtype``, the precision planned) on vLLM or SGLang, which refuse a shard of partial
    blocks; None for any other precision or engine."""
    if dtype != "fp8" or engine not in ("vllm", "sglang"):
        return None
    return fp8_block_split(arch, tp)


def largest_whole_split(arch: Architecture, up_to: int) -> int:
    """The largest TP degree below ``up_to`` (a power of two, as GPUs per replica come) whose
    shards are whole blocks; 1 at least."""
    tp = 1
    while tp * 2 < up_to and fp8_block_split(arch, tp * 2) is None:
        tp *= 2
    return tp
