"""What a Hugging Face config.json leaves out: the defaults of transformers' configuration class.

transformers' ``save_pretrained`` writes only the fields that differ from the configuration
class's defaults, and hand-written configs drop fields too; transformers reads such a file with
the class's defaults, and so does :func:`scaleplan.llm.arch.architecture_from_config`. Each
field taken that way is an :class:`Assumed` (:func:`assumed_fields`), which ``profile llm``
prints as a note and ``validate`` / ``optimize`` as a warning. Until 2026-12-06 only the KV-head
count and the head size were defaulted: a Mixtral config.json without ``num_local_experts`` was
planned as a dense 7.2B model, a Qwen3-MoE one without ``moe_intermediate_size`` as 233.5B
parameters (the dense width taken for an expert's), both silently (UX review 17, F1).

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CLASS_DEFAULTS",
    "EXPERT_KEYS",
    "KV_HEAD_KEYS",
    "TOP_K_KEYS",
    "Assumed",
    "assumed_fields",
    "int_field",
    "with_class_defaults",
]


def int_field(cfg: Mapping[str, Any], *keys: str) -> int | None:
    """The first of ``keys`` that holds a non-negative number, as an int; None without one."""
    for k in keys:
        v = cfg.get(k)
        if isinstance(v, bool):
            continue
        if isinstance(v, int | float) and v >= 0:
            return int(v)
    return None


KV_HEAD_KEYS = ("num_key_value_heads", "num_kv_heads", "multi_query_group_num")
EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts")
TOP_K_KEYS = ("num_experts_per_tok", "moe_top_k", "top_k")

# What transformers' configuration class for a model_type takes for a field its config.json
# leaves out, where that is a number of its own (read from
# src/transformers/models/<type>/configuration_<type>.py). A model_type not named here takes
# num_attention_heads KV heads (LlamaConfig, Phi3Config: multi-head attention) and a head size
# of hidden_size // num_attention_heads, as those classes do. The MoE and MLA fields (below the
# KV heads and head size) are the ones architecture_from_config reads, under the class's own
# name for them (Mixtral's num_local_experts is Qwen's num_experts and DeepSeek's
# n_routed_experts).
CLASS_DEFAULTS: dict[str, dict[str, int]] = {
    "mistral": {"num_key_value_heads": 8},
    "mixtral": {"num_key_value_heads": 8, "num_local_experts": 8, "num_experts_per_tok": 2},
    "qwen2": {"num_key_value_heads": 32},
    "qwen2_moe": {
        "num_key_value_heads": 16, "num_experts": 60, "num_experts_per_tok": 4,
        "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632,
    },
    "qwen3": {"num_key_value_heads": 32, "head_dim": 128},
    "qwen3_moe": {
        "num_key_value_heads": 4, "num_experts": 128, "num_experts_per_tok": 8,
        "moe_intermediate_size": 768,
    },
    "gemma": {"num_key_value_heads": 16, "head_dim": 256},
    "gemma2": {"num_key_value_heads": 4, "head_dim": 256},
    "gemma3": {"num_key_value_heads": 4, "head_dim": 256},  # its text_config: Gemma3TextConfig
    "gemma3_text": {"num_key_value_heads": 4, "head_dim": 256},
    "gpt_oss": {
        "num_key_value_heads": 8, "head_dim": 64, "num_local_experts": 128,
        "num_experts_per_tok": 4,
    },
    "deepseek_v3": {
        "n_routed_experts": 256, "num_experts_per_tok": 8, "moe_intermediate_size": 2048,
        "n_shared_experts": 1, "first_k_dense_replace": 3, "kv_lora_rank": 512,
        "q_lora_rank": 1536, "qk_rope_head_dim": 64, "qk_nope_head_dim": 128, "v_head_dim": 128,
    },
}
# the keys that state each defaulted MoE / MLA field (any of them states it)
_STATED_BY: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(EXPERT_KEYS, EXPERT_KEYS),
    "num_experts_per_tok": TOP_K_KEYS,
}
_HEAD_FIELDS = ("num_key_value_heads", "head_dim")


@dataclass(frozen=True)
class Assumed:
    """A field a config.json leaves out and the value the model takes for it (``why``: whose
    default that is)."""

    field: str
    value: int
    why: str

    def note(self) -> str:
        return f"config.json has no {self.field}: assumed {self.value} ({self.why})"


def _merged(cfg: Mapping[str, Any]) -> Mapping[str, Any]:
    """The config with its ``text_config`` (multimodal wrappers keep the LM there) merged in."""
    if isinstance(cfg.get("text_config"), Mapping):
        return {**cfg, **cfg["text_config"]}
    return cfg


def _kind(cfg: Mapping[str, Any]) -> str | None:
    kind = cfg.get("model_type")
    return kind if isinstance(kind, str) else None


def _class_of(kind: str) -> str:
    return f"transformers' configuration class for model_type {kind!r}"


def _left_out_model_fields(cfg: Mapping[str, Any]) -> list[Assumed]:
    """The MoE / MLA fields of :data:`CLASS_DEFAULTS` that ``cfg`` (merged) states under none
    of their keys. A key stated as null is stated (DeepSeek-V2-Lite's ``q_lora_rank: null``:
    no query compression), not left out."""
    kind = _kind(cfg)
    defaults = CLASS_DEFAULTS.get(kind, {}) if kind else {}
    return [
        Assumed(f, v, f"the default of {_class_of(kind)}")
        for f, v in defaults.items()
        if kind and f not in _HEAD_FIELDS and not any(k in cfg for k in _STATED_BY.get(f, (f,)))
    ]


def with_class_defaults(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """``cfg`` (its ``text_config`` merged) with the MoE / MLA fields it leaves out set to its
    class's defaults (:func:`assumed_fields` names them); the KV heads and head size are
    defaulted where they are read."""
    merged = _merged(cfg)
    return {**{a.field: a.value for a in _left_out_model_fields(merged)}, **merged}


def assumed_fields(cfg: Mapping[str, Any]) -> list[Assumed]:
    """The fields a config.json (its ``text_config`` merged) leaves out, each with the value
    :func:`~scaleplan.llm.arch.architecture_from_config` takes: the default of transformers'
    configuration class for its ``model_type`` (:data:`CLASS_DEFAULTS`): the MoE and MLA fields
    it reads, the KV-head count (else the head count: multi-head attention) and the head size.
    An MLA model (``kv_lora_rank``, stated or defaulted) caches no per-head KV: no KV-head
    assumption for it."""
    cfg = _merged(cfg)
    out = _left_out_model_fields(cfg)
    heads = int_field(cfg, "num_attention_heads", "n_head")
    if not heads or int_field(with_class_defaults(cfg), "kv_lora_rank"):
        return out
    kind = _kind(cfg)
    defaults = CLASS_DEFAULTS.get(kind, {}) if kind else {}
    cls = _class_of(kind) if kind else None
    if int_field(cfg, *KV_HEAD_KEYS) is None:
        if "num_key_value_heads" in defaults:
            why = f"the default of {cls}"
            out.append(Assumed("num_key_value_heads", defaults["num_key_value_heads"], why))
        else:
            why = f"= num_attention_heads, multi-head attention, as {cls} takes it" if cls else (
                "= num_attention_heads, multi-head attention; a model with grouped-query "
                "attention states it in its config.json"
            )
            out.append(Assumed("num_key_value_heads", heads, why))
    if int_field(cfg, "head_dim") is None and "head_dim" in defaults:
        out.append(Assumed("head_dim", defaults["head_dim"], f"the default of {cls}"))
    return out
