"""The models the profiler benchmarks time, in one place (imported by the profile_* scripts).

- ``torch``: a 3-layer torch MLP (512 wide, 1 thread), ~0.1-5 ms per batch of 1..64;
- ``numpy``: a numpy MLP (256 wide) as a ``(fn, make_batch)`` factory, 0.01-0.5 ms per batch;
- ``cnn``: a small torch CNN on 3x64x64 images, 3-250 ms per batch.

Run the scripts with one BLAS / OpenMP thread (they set ``OPENBLAS_NUM_THREADS`` and
``OMP_NUM_THREADS`` before importing this): on a 2-core machine shared with other work,
OpenBLAS's spinning worker threads make batch >= 8 swing by orders of magnitude.
"""

from __future__ import annotations

from typing import Any

from scaleplan.profile.targets import Workload

KINDS = ("torch", "numpy", "cnn")


def torch_mlp() -> tuple[Any, Workload]:
    """The torch MLP module and its profiler workload (the same module object)."""
    import torch

    from scaleplan.profile.targets import torch_module_workload

    torch.manual_seed(0)
    torch.set_num_threads(1)
    nn = torch.nn
    mod = nn.Sequential(nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 512)).eval()
    return mod, torch_module_workload(mod, name="mlp-torch", target="bench", input_shape=(512,), dtype="float32")


def workload(kind: str) -> Workload:
    if kind == "torch":
        return torch_mlp()[1]
    if kind == "cnn":
        import torch

        from scaleplan.profile.targets import torch_module_workload

        torch.manual_seed(0)
        torch.set_num_threads(1)
        nn = torch.nn
        mod = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
        ).eval()
        return torch_module_workload(mod, name="cnn-torch", target="bench", input_shape=(3, 64, 64), dtype="float32")
    if kind == "numpy":
        import numpy as np

        from scaleplan.profile.targets import fn_workload

        w = np.random.default_rng(0).standard_normal((256, 256)).astype("float32")

        def fn(x: Any) -> Any:
            return np.tanh(np.tanh(x @ w) @ w) @ w

        return fn_workload(fn, lambda bs: (np.ones((bs, 256), dtype="float32"),), name="mlp-numpy", target="bench", dtype=None)
    raise SystemExit(f"unknown model {kind!r}; choose from {', '.join(KINDS)}")
