"""LLM architectures: what a model is made of, from a shipped preset or a config.json.

An :class:`Architecture` holds the config.json-level facts the memory and performance model
needs (layers, widths, attention heads, KV heads, experts, MLA ranks) and derives parameter
counts from them. Presets ship in ``scaleplan/data/llm/presets.yaml`` (built from
``shared/data/llm/llm_models.csv`` by ``tools/build_llm_presets.py``; every preset keeps its
source). :func:`from_hf_config` reads a Hugging Face ``config.json``; a field the model needs
and the file lacks is named in the error.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from scaleplan.errors import InputError, Problem
from scaleplan.llm.checkpoint import native_dtype, unpriced_quantization
from scaleplan.llm.config_defaults import (
    EXPERT_KEYS,
    KV_HEAD_KEYS,
    TOP_K_KEYS,
    assumed_fields,
    with_class_defaults,
)
from scaleplan.llm.config_defaults import int_field as _int
from scaleplan.yamlio import load_yaml, read_text

DENSE_FFN_MATRICES = 3  # gated FFN (SwiGLU / GeGLU): gate, up and down projections


@dataclass(frozen=True)
class Architecture:
    """A decoder-only transformer, as far as serving cost is concerned.

    ``intermediate_size`` is the dense FFN width (for DeepSeek the width of its first dense
    layers); ``moe_intermediate_size`` the width of one expert (Mixtral and gpt-oss configs
    carry it in ``intermediate_size``: the parser moves it). MLA models (DeepSeek) set
    ``kv_lora_rank``; their KV cache holds ``kv_lora_rank + qk_rope_head_dim`` elements per
    token and layer, shared by all heads.
    """

    name: str
    hidden_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int
    max_position_embeddings: int | None = None
    num_experts: int = 0
    experts_per_token: int = 0
    moe_intermediate_size: int = 0
    shared_experts: int = 0
    first_dense_layers: int = 0
    kv_lora_rank: int = 0
    q_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    sliding_window: int | None = None
    sliding_layers: int = 0
    tie_word_embeddings: bool = False
    native_dtype: str = "bf16"
    stated_params_b: float | None = None
    source: str = ""

    # ---- derived facts (derived once per architecture: every engine step reads them) -------
    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0

    @functools.cached_property
    def moe_layers(self) -> int:
        return self.num_layers - self.first_dense_layers if self.is_moe else 0

    @functools.cached_property
    def dense_layers(self) -> int:
        return self.num_layers - self.moe_layers

    @functools.cached_property
    def attention_params_per_layer(self) -> int:
        h = self.hidden_size
        if self.is_mla:
            qk = self.qk_nope_head_dim + self.qk_rope_head_dim
            q = h * self.q_lora_rank + self.q_lora_rank * self.num_heads * qk if self.q_lora_rank else h * self.num_heads * qk
            kv = h * (self.kv_lora_rank + self.qk_rope_head_dim) + self.kv_lora_rank * self.num_heads * (self.qk_nope_head_dim + self.v_head_dim)
            return q + kv + self.num_heads * self.v_head_dim * h
        q = h * self.num_heads * self.head_dim
        kv = 2 * h * self.num_kv_heads * self.head_dim
        return q + kv + self.num_heads * self.head_dim * h

    @functools.cached_property
    def expert_params(self) -> int:
        """Parameters of one routed (or shared) expert."""
        return DENSE_FFN_MATRICES * self.hidden_size * self.moe_intermediate_size

    @functools.cached_property
    def dense_ffn_params_per_layer(self) -> int:
        return DENSE_FFN_MATRICES * self.hidden_size * self.intermediate_size

    @property
    def embedding_params(self) -> int:
        """Input embedding plus LM head (once when tied)."""
        return self.vocab_size * self.hidden_size * (1 if self.tie_word_embeddings else 2)

    @functools.cached_property
    def attention_params(self) -> int:
        return self.num_layers * self.attention_params_per_layer

    @functools.cached_property
    def ffn_params(self) -> int:
        """All FFN / expert parameters (every routed expert counted)."""
        moe = self.moe_layers * ((self.num_experts + self.shared_experts) * self.expert_params + self.hidden_size * self.num_experts)
        return self.dense_layers * self.dense_ffn_params_per_layer + moe

    @functools.cached_property
    def active_ffn_params(self) -> int:
        """FFN parameters one token passes through (top-k routed + shared experts)."""
        moe = self.moe_layers * ((self.experts_per_token + self.shared_experts) * self.expert_params + self.hidden_size * self.num_experts)
        return self.dense_layers * self.dense_ffn_params_per_layer + moe

    @property
    def total_params(self) -> int:
        return self.embedding_params + self.attention_params + self.ffn_params

    @property
    def linear_params(self) -> int:
        """Parameters one token multiplies with, 2 FLOPs each: attention and the active FFN
        (an MoE's routed and shared experts), without the embedding tables."""
        return self.attention_params + self.active_ffn_params

    @property
    def active_params(self) -> int:
        """Parameters used per token (MoE: active experts only), embeddings included."""
        return self.embedding_params + self.attention_params + self.active_ffn_params

    @property
    def full_attention_layers(self) -> int:
        return self.num_layers - self.sliding_layers

    def kv_elements_per_token_layer(self) -> int:
        """KV-cache elements one token stores in one layer (all KV heads)."""
        if self.is_mla:
            return self.kv_lora_rank + self.qk_rope_head_dim
        return 2 * self.num_kv_heads * self.head_dim

    def attention_dim(self) -> int:
        """heads x head width that attention scores and values run over (per layer)."""
        if self.is_mla:
            return self.num_heads * (self.qk_nope_head_dim + self.qk_rope_head_dim + self.v_head_dim) // 2
        return self.num_heads * self.head_dim

    def describe(self) -> str:
        kind = "MoE" if self.is_moe else "dense"
        attn = "MLA" if self.is_mla else ("GQA" if self.num_kv_heads < self.num_heads else "MHA")
        extra = f", {self.experts_per_token}+{self.shared_experts} of {self.num_experts} experts" if self.is_moe else ""
        return f"{self.name}: {kind} {attn}, {self.num_layers} layers, {self.total_params / 1e9:.1f}B params ({self.active_params / 1e9:.1f}B active{extra})"


# ---- config.json ------------------------------------------------------------------------------

def config_notes(ref: str, base: Path | None = None, dtype: str | None = None) -> tuple[str, ...]:
    """The notes for the fields the config.json that ``ref`` names (as
    :func:`load_architecture` resolves it) leaves out, and for a quantization it states that
    the model does not price (unless ``dtype`` is given); for a preset, only the note of an HF id
    sized with its base model's preset (:func:`preset_note`)."""
    if not is_config_path(ref):
        note = preset_note(ref)
        return (note,) if note else ()
    p = _config_file(ref, base)
    try:
        cfg = json.loads(read_text(p, what="config.json"))
    except (InputError, json.JSONDecodeError):  # load_architecture said so already
        return ()
    if not isinstance(cfg, dict):
        return ()
    unpriced = unpriced_quantization(cfg) if dtype is None else None
    return (*(a.note() for a in assumed_fields(cfg)), *([unpriced] if unpriced else []))


def architecture_from_config(cfg: Mapping[str, Any], name: str, *, file: str | None = None, source: str = "") -> Architecture:
    """Build an :class:`Architecture` from config.json fields (pure); raises InputError naming
    every missing field."""
    # multimodal wrappers keep the LM in text_config; a left-out MoE / MLA field is its
    # transformers class's default (config_defaults; the notes name each)
    cfg = with_class_defaults(cfg)
    problems: list[Problem] = []
    # a config.json leaves out what equals its transformers class's default (Gemma 3's
    # text_config has no num_attention_heads, num_key_value_heads, head_dim or vocab_size)
    kind = cfg.get("model_type")
    where = "the model's Hugging Face config.json"
    if isinstance(kind, str):
        where += (f" (a config.json may leave out a value equal to the default of transformers' "
                  f"configuration class for model_type {kind!r}; scaleplan does not assume one here)")

    def need(*keys: str) -> int:
        v = _int(cfg, *keys)
        if v is None or v == 0:
            also = "; add num_key_value_heads and head_dim too if they are left out" if keys[0] == "num_attention_heads" else ""
            problems.append(Problem(keys[0], "missing (or not a positive number)", hint=f"add '{keys[0]}' from {where}{also}"))
            return 0
        return v

    hidden = need("hidden_size", "n_embd", "d_model")
    layers = need("num_hidden_layers", "n_layer", "num_layers")
    heads = need("num_attention_heads", "n_head")
    vocab = need("vocab_size")
    kv_lora = _int(cfg, "kv_lora_rank") or 0
    experts = _int(cfg, *EXPERT_KEYS) or 0
    moe_inter = _int(cfg, "moe_intermediate_size") or 0
    inter = _int(cfg, "intermediate_size", "n_inner", "ffn_hidden_size") or 0
    if experts and not moe_inter:
        moe_inter = inter
    if not inter and not moe_inter:
        problems.append(Problem("intermediate_size", "missing: the FFN width is needed for the weights and FLOPs", hint="add 'intermediate_size' from the model's Hugging Face config.json"))
    if experts and not _int(cfg, *TOP_K_KEYS):
        problems.append(Problem("num_experts_per_tok", f"missing: an MoE model with {experts} experts must say how many each token uses", hint="add 'num_experts_per_tok' from config.json"))
    # Qwen2-MoE states its shared expert as one FFN this wide: that many routed-width experts
    shared_width = _int(cfg, "shared_expert_intermediate_size") or 0
    if experts and shared_width and moe_inter and shared_width % moe_inter:
        why = (f"{shared_width:,} is not a whole number of experts {moe_inter:,} wide "
               "(moe_intermediate_size): the model counts a shared expert in routed widths")
        hint = "give the model's own config.json"
        problems.append(Problem("shared_expert_intermediate_size", why, hint=hint))
    shared = _int(cfg, "n_shared_experts") or (shared_width // moe_inter if moe_inter else 0)
    if kv_lora and not _int(cfg, "qk_rope_head_dim"):
        problems.append(Problem("qk_rope_head_dim", "missing: MLA (kv_lora_rank set) needs qk_rope_head_dim, qk_nope_head_dim and v_head_dim", hint="add them from config.json"))
    assumed_list = assumed_fields(cfg)
    problems += [
        Problem(a.field, f"missing: {a.why}, which does not divide num_attention_heads ({heads})",
                hint=f"add '{a.field}' from the model's Hugging Face config.json")
        for a in assumed_list if a.field == "num_key_value_heads" and heads % a.value
    ]
    if problems:
        raise InputError(file, problems)
    assumed = {a.field: a.value for a in assumed_list}
    kv_heads = _int(cfg, *KV_HEAD_KEYS) or assumed.get("num_key_value_heads", heads)
    head_dim = _int(cfg, "head_dim") or assumed.get("head_dim", hidden // heads)
    sliding = _int(cfg, "sliding_window")
    sliding_layers = _sliding_layers(cfg, layers)
    native = native_dtype(cfg)
    params_b = cfg.get("total_params_b")
    arch = Architecture(
        name=name,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate_size=inter or moe_inter,
        vocab_size=vocab,
        max_position_embeddings=_int(cfg, "max_position_embeddings", "n_positions", "max_seq_len"),
        num_experts=experts,
        experts_per_token=(_int(cfg, *TOP_K_KEYS) or 0) if experts else 0,
        moe_intermediate_size=moe_inter if experts else 0,
        shared_experts=shared if experts else 0,
        first_dense_layers=(_int(cfg, "first_k_dense_replace") or 0) if experts else 0,
        kv_lora_rank=kv_lora,
        q_lora_rank=_int(cfg, "q_lora_rank") or 0,
        qk_nope_head_dim=_int(cfg, "qk_nope_head_dim") or 0,
        qk_rope_head_dim=_int(cfg, "qk_rope_head_dim") or 0,
        v_head_dim=_int(cfg, "v_head_dim") or 0,
        sliding_window=sliding if sliding_layers else None,
        sliding_layers=sliding_layers if sliding else 0,
        tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
        native_dtype=native,
        stated_params_b=float(params_b) if isinstance(params_b, int | float) and not isinstance(params_b, bool) else None,
        source=source,
    )
    if "tie_word_embeddings" not in cfg and arch.stated_params_b:
        # the source left it out: take the reading whose parameter count matches the stated one
        tied = replace(arch, tie_word_embeddings=True)
        if abs(tied.total_params / 1e9 - arch.stated_params_b) < abs(arch.total_params / 1e9 - arch.stated_params_b):
            arch = tied
    return arch


def _sliding_layers(cfg: Mapping[str, Any], layers: int) -> int:
    """How many of ``layers`` attend over a sliding window (``sliding_window`` tokens), as the
    model's transformers configuration class lays them out when config.json says:
    ``layer_types`` (each layer named), this repository's ``attention_layer_pattern``
    (``sliding_attentionxN; ...``, or Gemma 2's "interleaved" description),
    ``sliding_window_pattern`` P (Gemma 3: every P-th layer global, the others sliding; 6 when
    a ``gemma3`` config leaves it out), Gemma 2 (alternating, the first sliding) or Mistral
    (every layer, when ``sliding_window`` is set). ``use_sliding_window: false`` (Qwen2 and
    the like) means none, whatever ``sliding_window`` says. 0 without a window."""
    if not _int(cfg, "sliding_window") or cfg.get("use_sliding_window") is False:
        return 0
    lt = cfg.get("layer_types")
    if isinstance(lt, list):
        return sum(1 for t in lt if isinstance(t, str) and "sliding" in t)
    pattern = cfg.get("attention_layer_pattern")
    if isinstance(pattern, str) and "sliding_attentionx" in pattern:
        return int(pattern.split("sliding_attentionx")[1].split(";")[0].split()[0])
    kind = str(cfg.get("model_type") or "")
    every = _int(cfg, "sliding_window_pattern") or (6 if kind.startswith("gemma3") else 0)
    if every > 1:
        return sum(1 for i in range(layers) if (i + 1) % every)
    if kind == "gemma2" or (isinstance(pattern, str) and "interleaved" in pattern):
        return (layers + 1) // 2
    if kind in ("mistral", "mixtral"):
        return layers
    return 0


def from_hf_config(path: str | Path) -> Architecture:
    """Read a Hugging Face ``config.json`` (I/O edge)."""
    p = Path(path)
    text = read_text(p, what="config.json")
    if not text.strip():  # as an empty spec, plan or catalog is said (UX trial 25)
        hint = "give the model's Hugging Face config.json"
        raise InputError(str(p), [Problem("", "config.json is empty", hint=hint)])
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(str(p), [Problem("", f"not valid JSON: {exc.msg} at line {exc.lineno}", hint="give the model's Hugging Face config.json", line=exc.lineno)]) from None
    if not isinstance(cfg, dict):
        raise InputError(str(p), [Problem("", "config.json must be a JSON object", hint="give the model's Hugging Face config.json")])
    # a Hugging Face config.json is named after nothing: the folder that holds it is the model
    # (``config.json`` given from inside it: the current folder's name, never "config")
    folder = p.absolute().parent.name
    name = cfg.get("_name_or_path") if isinstance(cfg.get("_name_or_path"), str) and cfg.get("_name_or_path") else folder or p.stem
    return architecture_from_config(cfg, str(name), file=str(p), source=f"config.json: {p}")


# ---- presets ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _preset_rows() -> dict[str, dict[str, Any]]:
    path = Path(str(resources.files("scaleplan"))) / "data" / "llm" / "presets.yaml"
    doc = load_yaml(path, what="LLM presets")
    out: dict[str, dict[str, Any]] = {}
    for row in doc.data["presets"]:
        out[str(row["name"])] = dict(row)
    return out


def preset_names() -> tuple[str, ...]:
    return tuple(sorted(_preset_rows()))


def preset_list() -> list[dict[str, str]]:
    """``profile llm --list``: each shipped preset that loads, with its one-line description
    (a preset whose row does not load is left out, not an error)."""
    rows = []
    for name in preset_names():
        try:
            rows.append({"name": name, "description": preset(name).describe()})
        except Exception:  # a broken row is skipped, not an error
            continue
    return rows


def _norm(name: str) -> str:
    return name.strip().lower().replace("_", "-").replace(" ", "-").removeprefix("meta-").split("/")[-1]


def resolve_preset(name: str) -> str | None:
    """The preset a user's name means (case-insensitive; HF repo ids and ``Meta-`` prefixes too;
    an HF id ``org/Name-Instruct`` (``-Chat``, ``-it``) whose base model is a preset: that preset,
    which :func:`preset_note` says)."""
    key = _norm(name)
    return _exact_preset(key) or (
        _exact_preset(base) if (base := _variant_base(name, key)) is not None else None
    )


def _exact_preset(key: str) -> str | None:
    rows = _preset_rows()
    if key in rows:
        return key
    for k, r in rows.items():
        if _norm(str(r.get("hf_repo_id", ""))) == key or _norm(k) == key:
            return k
    return None


_VARIANT = re.compile(r"-(instruct|chat|it|base|hf)$")
# the variant may stand before a version, as Mistral names them: Mixtral-8x7B-Instruct-v0.1 is
# Mixtral-8x7B-v0.1 tuned (UX trial 21 F2)
_SAME_ARCHITECTURE = re.compile(r"-(instruct|chat|it)(?=(-v\d+(\.\d+)*)?$)")


def _variant_base(name: str, key: str) -> str | None:
    """The base model's name of an HF id (``org/Name``) that ends in -Instruct, -Chat or -it, or
    has one before its version (``-Instruct-v0.1``): a tuned variant of the same architecture;
    None for anything else (a preset name is exact)."""
    if not _repo_id(name.strip()):
        return None
    base = _SAME_ARCHITECTURE.sub("", key)
    return base if base != key else None


def preset_note(ref: str) -> str | None:
    """The note for an HF id that resolves to the preset of its base model (UX trial 20: a user
    gives the id of the checkpoint served, ``meta-llama/Llama-3.1-70B-Instruct``); None for a
    preset's own name or id, a path, or no preset."""
    key = _norm(ref)
    if _exact_preset(key) is not None or (base := _variant_base(ref, key)) is None:
        return None
    used = _exact_preset(base)
    if used is None:
        return None
    return (
        f"{ref!r} is sized with the preset {used!r}, its base model's: an -Instruct, -Chat or "
        "-it variant has the same architecture"
    )


def _family(key: str) -> str:
    """A preset name's model family: its leading letters ("mistral", "llama", "qwen")."""
    m = re.match(r"[a-z]+", key.removeprefix("meta-"))
    return m.group(0) if m else key


def _close_presets(key: str, names: Sequence[str]) -> list[str]:
    """Up to 3 preset names close to ``key``, only those of its family where there are some:
    Mistral-7B-Instruct-v0.3 (no preset) got 'mistral-7b-instruct-v0.2' or
    'meta-llama-3-8b-instruct' or 'llama-3.3-70b-instruct', two other models (UX trial 34 F7)."""
    close = difflib.get_close_matches(key, names, n=len(names), cutoff=0.5)
    same = [c for c in close if _family(c) == _family(key)]
    # its generation's first (UX trial 37 F6: 'qwen2.5-14b' got 'qwen3-14b' or 'qwen3-8b' or
    # 'qwen3-32b', another architecture, and no qwen2.5 preset), each kept in difflib's order
    return sorted(same or close, key=lambda c: _generation(c) != _generation(key))[:3]


def _generation(key: str) -> str:
    """A preset name's family and version, hyphens aside ("qwen2.5", "llama3.1", "llama3")."""
    m = re.match(r"([a-z]+)-?(\d+(?:\.\d+)?)", key.removeprefix("meta-"))
    return f"{m[1]}{m[2]}" if m else _family(key)


def _preset_hint(name: str, otherwise: str, another: str) -> str:
    """The fix for a name that is no preset: the preset of the same model with or without its
    variant suffix (an -Instruct or -chat model has its base model's architecture), else the
    closest names and ``another`` (how to plan a model that has no preset); else
    ``otherwise``; then where the list is."""
    names = preset_names()
    key = _norm(name)
    base = _VARIANT.sub("", key)
    variants = (base, f"{base}-instruct", f"{base}-chat", f"{base}-it")
    same = [n for n in variants if n != key and n in names]
    if same:
        hint = (
            f"did you mean {same[0]!r}? An instruct or chat variant has its base model's "
            "architecture; "
        )
    elif close := _close_presets(key, names):  # a question first
        # and the way for a model that has no preset: close names are often other sizes
        # (UX trial 25: Qwen2.5-32B got 'qwen3-32b' or 'qwen2.5-72b-instruct' and nothing else)
        maybe = " or ".join(repr(c) for c in close)
        hint = f"did you mean {maybe}? If it is another model, {another}; "
    else:
        hint = f"{otherwise}; "
    return f"{hint}`scaleplan profile llm --list` shows all {len(preset_list())} presets"


def another_model(
    measured: str | None, arch: Architecture, served: Sequence[str] = ()
) -> str | None:
    """A note when points measured on the model named ``measured`` (a profile's
    ``metadata.model``) are about to calibrate ``arch`` and the names say they are another model
    (``facebook/opt-125m`` for Qwen2.5-7B); None when the names agree (ignoring the owner, case,
    an -Instruct/-chat suffix, one name inside the other) or either is unknown; ``served``: the
    spec's other names of the model (``llm.serving.served_names``)."""
    if not measured or not arch.name:
        return None
    preset_of, a = resolve_preset(measured), _VARIANT.sub("", _norm(measured))
    for b, name in ((_VARIANT.sub("", _norm(n)), n) for n in (arch.name, *served)):
        if a == b or a in b or b in a or (preset_of and preset_of == resolve_preset(name)):
            return None
    return (
        f"calibration: the measured points are of {measured!r}, the model planned is "
        f"{arch.name!r}: they calibrate its efficiency only if they measured the same model "
        "(check the measured profile)"
    )


def preset_repository(name: str) -> str | None:
    """The Hugging Face repository a preset's figures were read from (``hf_repo_id``), or None
    for a name that is no preset (a config.json path) or a row without one."""
    key = resolve_preset(name)
    repo = _preset_rows()[key].get("hf_repo_id") if key is not None else None
    return str(repo) if repo else None


@functools.lru_cache(maxsize=64)
def preset(name: str) -> Architecture:
    """A shipped preset by name; unknown names raise InputError with did-you-mean."""
    key = resolve_preset(name)
    if key is None:
        hint = _preset_hint(
            name, "give a preset name or the path to a config.json",
            "give the path to its Hugging Face config.json",
        )
        raise InputError(None, [Problem("architecture", f"unknown LLM preset {name!r}", hint=hint)])
    row = _preset_rows()[key]
    source = str(row.get("source", ""))
    try:
        return architecture_from_config(row, key, file=f"preset {key}", source=source)
    except InputError as exc:  # a shipped row its source left incomplete: not the user's to edit
        missing = ", ".join(p.where for p in exc.problems)
        problem = f"the preset {key!r} cannot be sized (missing {missing})"
        fix = "give the model's config.json"
        raise InputError(None, [Problem("architecture", problem, hint=fix)]) from None


_RECORD_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)
}


def from_record(record: Mapping[str, Any]) -> Architecture:
    """An :class:`Architecture` from its recorded fields (``dataclasses.asdict``, as a plan keeps
    a config.json architecture); ValueError naming the first field that is missing, unknown or
    of the wrong type."""
    fields = dataclasses.fields(Architecture)
    names = {f.name for f in fields}
    for key in record:
        if key not in names:
            raise ValueError(f"unknown field {key!r}")
    for f in fields:
        if f.name not in record:
            if f.default is dataclasses.MISSING:  # a field without a default must be recorded
                raise ValueError(f"{f.name!r} is missing")
            continue
        v, typ = record[f.name], str(f.type)
        base, _, rest = typ.partition(" | ")
        if v is None and rest == "None":
            continue
        ok = _RECORD_TYPES.get(base, (object,))
        if not isinstance(v, ok) or (isinstance(v, bool) and bool not in ok):
            raise ValueError(f"{f.name!r} must be {typ}, not {v!r}")
    return Architecture(**record)


def named_preset(ref: str | None) -> Architecture | None:
    """The shipped preset ``model.architecture`` names; None for none, a config.json path or a
    name that is no preset (what is known without reading a file of the spec's)."""
    if ref is None or is_config_path(ref) or resolve_preset(ref) is None:
        return None
    return preset(ref)


def is_config_path(ref: str) -> bool:
    """``model.architecture`` names a config.json (or a folder holding one), not a preset."""
    return ref.endswith(".json") or ("/" in ref and not resolve_preset(ref)) or ref.startswith(".")


def _config_file(ref: str, base: Path | None = None) -> Path:
    """The config.json a ``model.architecture`` path names: relative to ``base``, and a folder's
    config.json."""
    p = Path(ref)
    if base is not None and not p.is_absolute():
        p = base / p
    return p / "config.json" if p.is_dir() else p


def load_architecture(ref: str, base: Path | None = None) -> Architecture:
    """A preset name, or a path (relative to ``base``) to a config.json / a folder holding one."""
    if is_config_path(ref):
        p = _config_file(ref, base)
        if not p.exists() and _repo_id(ref):  # a Hugging Face id that is no preset: not a path
            problem = f"{ref!r} is no shipped preset, and {p} is no file or folder"
            get = "download the model's config.json and give its path"
            hint = _preset_hint(ref, get, get.replace("the model's", "its"))
            raise InputError(None, [Problem("architecture", problem, hint=hint)])
        if not p.exists() and base is not None:  # a spec's: say the path tried and from where
            hint = "check the path; a relative model.architecture is resolved from the spec's"
            said = Problem("architecture", f"config.json not found: {p}", hint=f"{hint} folder")
            raise InputError(None, [said])
        return from_hf_config(p)
    return preset(ref)


def _repo_id(ref: str) -> bool:
    """``owner/name``, as Hugging Face names a model (not ``./x``, ``/x`` or ``x.json``)."""
    plain = not ref.startswith((".", "/")) and not ref.endswith((".json", "/"))
    return ref.count("/") == 1 and plain
