"""MoE config.json files that leave fields out (UX review 17, F1).

transformers' ``save_pretrained`` writes only the fields that differ from the configuration
class's defaults, and hand-written configs drop them too: a Mixtral config.json without
``num_local_experts`` was planned as a dense 7.2B model, a Qwen3-MoE one without
``moe_intermediate_size`` as 233.5B parameters (the dense width taken for an expert's), both
silently. A left-out MoE or MLA field takes the class's default, and a note names it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scaleplan.llm.arch import architecture_from_config, assumed_fields, preset

MIXTRAL = {
    "model_type": "mixtral", "hidden_size": 4096, "intermediate_size": 14336,
    "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
    "vocab_size": 32000, "max_position_embeddings": 32768, "num_local_experts": 8,
    "num_experts_per_tok": 2, "torch_dtype": "bfloat16", "tie_word_embeddings": False,
}
QWEN3_MOE = {
    "model_type": "qwen3_moe", "hidden_size": 2048, "intermediate_size": 6144,
    "moe_intermediate_size": 768, "num_hidden_layers": 48, "num_attention_heads": 32,
    "num_key_value_heads": 4, "head_dim": 128, "vocab_size": 151936,
    "max_position_embeddings": 40960, "num_experts": 128, "num_experts_per_tok": 8,
    "torch_dtype": "bfloat16", "tie_word_embeddings": False,
}
DEEPSEEK_V3 = {
    "model_type": "deepseek_v3", "hidden_size": 7168, "intermediate_size": 18432,
    "moe_intermediate_size": 2048, "num_hidden_layers": 61, "num_attention_heads": 128,
    "num_key_value_heads": 128, "vocab_size": 129280, "n_routed_experts": 256,
    "num_experts_per_tok": 8, "n_shared_experts": 1, "first_k_dense_replace": 3,
    "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_nope_head_dim": 128, "qk_rope_head_dim": 64,
    "v_head_dim": 128, "torch_dtype": "bfloat16", "tie_word_embeddings": False,
}


def _without(cfg: dict, *keys: str) -> dict:
    return {k: v for k, v in cfg.items() if k not in keys}


def _sizes(cfg: dict) -> tuple[int, int, int, int]:
    a = architecture_from_config(cfg, "m")
    return a.total_params, a.active_params, a.kv_elements_per_token_layer(), a.moe_layers


@pytest.mark.parametrize(
    ("cfg", "left_out"),
    [
        (MIXTRAL, ("num_local_experts", "num_experts_per_tok")),
        (QWEN3_MOE, ("moe_intermediate_size",)),
        (QWEN3_MOE, ("num_experts", "num_experts_per_tok", "moe_intermediate_size")),
        (DEEPSEEK_V3, ("n_routed_experts", "n_shared_experts", "first_k_dense_replace")),
        (DEEPSEEK_V3, ("kv_lora_rank", "q_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim")),
    ],
)
def test_a_left_out_moe_field_takes_the_class_default(cfg: dict, left_out: tuple[str, ...]) -> None:
    """The class defaults equal these models' own values, so leaving them out sizes the same
    model; each field left out is named in a note with the value taken."""
    assert _sizes(_without(cfg, *left_out)) == _sizes(cfg)
    notes = {a.field: a for a in assumed_fields(_without(cfg, *left_out))}
    assert set(notes) == set(left_out), notes
    for f in left_out:
        assert notes[f].value == cfg[f]
        assert f"config.json has no {f}: assumed {cfg[f]}" in notes[f].note()
    assert not [a for a in assumed_fields(cfg) if a.field in left_out]


def test_stated_fields_are_not_replaced() -> None:
    """A field stated (even as null: DeepSeek-V2-Lite's q_lora_rank) is the model's; only a
    field absent from the file takes the default."""
    lite = {**DEEPSEEK_V3, "q_lora_rank": None}
    assert architecture_from_config(lite, "m").q_lora_rank == 0
    assert "q_lora_rank" not in {a.field for a in assumed_fields(lite)}
    small = {**MIXTRAL, "num_local_experts": 4}
    assert architecture_from_config(small, "m").num_experts == 4


def test_the_mixtral_preset_is_what_a_left_out_config_sizes() -> None:
    a = architecture_from_config(_without(MIXTRAL, "num_local_experts", "num_experts_per_tok"), "m")
    p = preset("mixtral-8x7b")
    assert (a.num_experts, a.experts_per_token) == (p.num_experts, p.experts_per_token) == (8, 2)
    assert abs(a.total_params - p.total_params) / p.total_params < 0.001


def test_profile_llm_says_which_expert_fields_it_assumed(cli, tmp_path: Path) -> None:
    p = tmp_path / "config.json"
    p.write_text(json.dumps(_without(MIXTRAL, "num_local_experts", "num_experts_per_tok")))
    args = ["--accelerators", "H100", "--gpus", "2", "--concurrency", "1", "--out", "-"]
    left_out = cli(["profile", "llm", str(p), *args])
    err = " ".join(left_out.stderr.split())
    assert "note: config.json has no num_local_experts: assumed 8 (the default of" in err, err
    assert "config.json has no num_experts_per_tok: assumed 2" in err, err
    p.write_text(json.dumps(MIXTRAL))
    assert cli(["profile", "llm", str(p), *args]).stdout == left_out.stdout


@pytest.mark.parametrize(
    ("model", "tp", "said"),
    [
        ("qwen3-30b-a3b", 2, None),  # 768 / 2 = 384 = 3 blocks
        ("qwen3-30b-a3b", 4, "TP4 splits qwen3-30b-a3b's expert FFN width (moe_intermediate_size)"
                             " 768 into 192 columns a GPU, not whole 128-wide blocks"),
        ("qwen3-30b-a3b", 8, "into 96 columns a GPU"),
        ("qwen3-235b-a22b", 4, None),  # 1536 / 4 = 384
        ("qwen3-235b-a22b", 8, "1,536 into 192 columns a GPU"),
        ("mixtral-8x7b", 8, None),  # 14336 / 8 = 1792 = 14 blocks
        ("deepseek-v3", 8, None),  # experts 2048 / 8, dense layers 18432 / 8 = 2304
        ("llama-3.1-8b", 8, None),  # 14336 / 8
        ("qwen3-30b-a3b", 1, None),
        # 29,568 / 2 = 14,784 columns, not {:,.4g}'s 1.478e+04 (UX trial 39 F4)
        ("qwen2.5-72b-instruct", 2, "29,568 into 14,784 columns a GPU"),
    ],
)
def test_a_tp_split_that_a_block_fp8_checkpoint_cannot_load_is_named(
    model: str, tp: int, said: str | None
) -> None:
    """vLLM and SGLang shard each FFN width (each expert's) over the TP ranks and refuse a
    block-scaled FP8 checkpoint (weight_block_size [128, 128]) whose shard is not whole blocks:
    Qwen/Qwen3-30B-A3B-FP8 fails to load at TP 4 (vllm-project/vllm#25292); the plan priced it
    (UX review 17, F4)."""
    from scaleplan.llm.shards import fp8_block_split

    got = fp8_block_split(preset(model), tp)
    if said is None:
        assert got is None, got
    else:
        assert got is not None and said in got, got


QWEN15_MOE = {  # Qwen/Qwen1.5-MoE-A2.7B: 14.3B parameters, 2.7B activated (its model card)
    "model_type": "qwen2_moe", "hidden_size": 2048, "intermediate_size": 5632,
    "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632,
    "num_hidden_layers": 24, "num_attention_heads": 16, "num_key_value_heads": 16,
    "vocab_size": 151936, "num_experts": 60, "num_experts_per_tok": 4,
    "torch_dtype": "bfloat16", "tie_word_embeddings": False,
}


def test_qwen2_moe_counts_its_shared_expert() -> None:
    """Qwen2-MoE states its shared expert as one FFN of shared_expert_intermediate_size (5,632
    = 4 x the routed 1,408), not n_shared_experts: it was not read, so Qwen1.5-MoE-A2.7B
    counted 13.5B parameters, 1.9B active (UX review 17, F6). It is as many routed-width
    experts as it is wide (the same weights and FLOPs), and it is the class default too."""
    a = architecture_from_config(QWEN15_MOE, "m")
    assert a.shared_experts == 4
    assert abs(a.total_params / 1e9 - 14.3) < 0.1, a.total_params
    assert abs(a.active_params / 1e9 - 2.7) < 0.05, a.active_params
    left_out = _without(QWEN15_MOE, "shared_expert_intermediate_size")
    assert _sizes(left_out) == _sizes(QWEN15_MOE)
    assert "shared_expert_intermediate_size" in {f.field for f in assumed_fields(left_out)}


def test_a_shared_expert_width_not_a_whole_number_of_experts_is_refused() -> None:
    from scaleplan.errors import InputError

    with pytest.raises(InputError, match="shared_expert_intermediate_size"):
        architecture_from_config({**QWEN15_MOE, "shared_expert_intermediate_size": 2000}, "m")


def test_profile_llm_notes_a_tp_a_block_fp8_checkpoint_cannot_load(cli) -> None:
    """profile llm priced Qwen3-30B-A3B in fp8 at TP 4 without a word, though Qwen's own FP8
    checkpoint does not load there on vLLM (UX review 17, F4): a note per such TP, once."""
    args = ["profile", "llm", "qwen3-30b-a3b", "--dtype", "fp8", "--accelerators", "H100,L40S",
            "--gpus", "2,4", "--concurrency", "1", "--out", "-"]
    err = " ".join(cli(args).stderr.split())
    said = ("note: TP4: TP4 splits qwen3-30b-a3b's expert FFN width (moe_intermediate_size) 768 "
            "into 192 columns a GPU, not whole 128-wide blocks: a block-scaled FP8 checkpoint")
    assert err.count(said) == 1, err
    assert "TP2 splits" not in err, err
    bf16 = " ".join(cli([*args[:3], *args[5:]]).stderr.split())
    assert "128-wide blocks" not in bf16, bf16


def test_an_accelerator_left_out_for_memory_names_its_largest_shape(cli, tmp_path: Path) -> None:
    """DeepSeek-V3 (fp8) with H100 and H200 allowed: H100 was 'left out: deepseek-v3 fp8 on
    1x H100 (TP1) does not fit: weights need 626.7 GiB per GPU', as if 8 had not been tried.
    The reason given is the most GPUs tried (8 x H100: 78.3 GiB a GPU against 71.7), the
    shape nearest to fitting (UX review 17)."""
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "apiVersion: scaleplan/v1\nkind: InferenceService\nmetadata: {name: ds}\n"
        "model: {architecture: deepseek-v3, engine: vllm}\n"
        "traffic:\n  peak_rps: 2\n  classes:\n"
        "    - {name: chat, share: 1.0, input_tokens: 2000, output_tokens: 400}\n"
        "slo: {ttft_ms: 1500, tpot_ms: 60}\n"
        "placement: {providers: [aws], regions: [us-east-1], accelerators: [H100, H200]}\n"
        "kubernetes: {image: vllm/vllm-openai:v0.11.0}\n"
    )
    r = cli(["optimize", str(spec), "--out", str(tmp_path / "out"), "--no-manifests"])
    (said,) = [w for w in r.stderr.splitlines() if w.startswith("warning: H100 is left out")]
    assert "deepseek-v3 fp8 on 8x H100 (TP8) does not fit: weights need 78.3 GiB per GPU" in said
