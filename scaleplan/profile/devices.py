"""Devices the profiler can run on: the CPU and, when torch sees them, CUDA GPUs.

Accelerator names are normalised to the catalog's canonical names ("NVIDIA H200" -> H200) so
that measured points line up with catalog rows. CUDA details (driver, CUDA version, compute
capability) come from torch and, for the driver, from ``nvidia-smi`` when it is on PATH.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import platform
import shutil
import subprocess
import sys
from typing import Any

from scaleplan.errors import ExternalError, Problem, option_error
from scaleplan.profile.model import DeviceInfo
from scaleplan.wording import counted


def _torch() -> Any | None:
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


def normalize_accelerator(name: str) -> str:
    """Catalog name of an accelerator ("NVIDIA H200" -> "H200"); the input if unknown."""
    from scaleplan.catalog.files import accelerator_catalog

    return accelerator_catalog().resolve_product(name) or name.strip()


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cpu_info() -> DeviceInfo:
    mem = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 2)
    return DeviceInfo(device="cpu", name=cpu_name(), accelerator="CPU", memory_gib=mem,
        cpu_count=cpu_count())


@functools.lru_cache(maxsize=1)
def nvidia_driver() -> str | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    line = out.stdout.strip().splitlines()
    return line[0].strip() if out.returncode == 0 and line else None


def cuda_count() -> int:
    torch = _torch()
    if torch is None:
        return 0
    try:
        return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0
    except Exception:  # a broken driver reads as "no CUDA"
        return 0


def cuda_info(index: int) -> DeviceInfo:
    torch = _torch()
    assert torch is not None
    props = torch.cuda.get_device_properties(index)
    name = str(props.name)
    return DeviceInfo(
        device=f"cuda:{index}",
        name=name,
        accelerator=normalize_accelerator(name),
        memory_gib=round(float(props.total_memory) / 2**30, 2),
        driver=nvidia_driver(),
        cuda=str(torch.version.cuda) if torch.version.cuda else None,
        compute_capability=f"{props.major}.{props.minor}",
    )


def enumerate_cuda() -> list[str]:
    """``cuda:N`` for every visible GPU; empty without torch or CUDA."""
    return [f"cuda:{i}" for i in range(cuda_count())]


def _no_cuda() -> tuple[str, str]:
    """Why no GPU was found, and the fix; onnxruntime-gpu alone is not enough for .onnx
    targets: scaleplan finds and names the GPUs through torch."""
    if _torch() is None:
        return (
            "torch is not installed, and scaleplan finds and names GPUs through torch "
            "(for .onnx targets too)",
            "pip install torch (a CUDA build) beside onnxruntime-gpu, or use --device cpu",
        )
    return (
        "torch sees no CUDA GPU (torch.cuda.is_available() is False)",
        "run on a machine with an NVIDIA GPU and a CUDA build of torch, or use --device cpu",
    )


def resolve_devices(spec: str) -> list[str]:
    """``auto|cpu|cuda|cuda:N|all`` (comma lists allowed) -> concrete device names.

    ``auto`` is the first GPU when there is one, else the CPU. Asking for CUDA without a GPU
    is an external failure (exit 5) with a clear message.
    """
    parts = [p.strip().lower() for p in spec.split(",") if p.strip()]
    _check_device_words(parts)  # a bad word is a usage error whether or not there is a GPU
    # only look for GPUs (importing torch) when the request can involve one
    gpus = enumerate_cuda() if any(p != "cpu" for p in parts) else []
    out: list[str] = []
    for part in parts:
        if part == "auto":
            out.append(gpus[0] if gpus else "cpu")
        elif part == "cpu":
            out.append("cpu")
        elif part == "all":
            out.extend(["cpu", *gpus])
        elif part == "cuda" or part.startswith("cuda:"):
            if not gpus:
                why, hint = _no_cuda()
                raise ExternalError(f"--device {part}: no CUDA device available: {why}", hint=hint)
            if part == "cuda":
                out.append(gpus[0])
            else:
                idx = part.split(":", 1)[1]
                if f"cuda:{idx}" not in gpus:
                    raise ExternalError(f"--device {part}: only "
                        f"{counted(len(gpus), 'CUDA device')} visible ({', '.join(gpus)})",
                        hint="pick an index that exists, or check CUDA_VISIBLE_DEVICES")
                out.append(f"cuda:{idx}")
    return list(dict.fromkeys(out))


def _check_device_words(parts: list[str]) -> None:
    """``--device``'s words: auto, cpu, cuda, cuda:N or all (usage error, exit 2, otherwise)."""
    hint = "use auto, cpu, cuda, cuda:N or all"
    for part in parts:
        index = part.removeprefix("cuda:") if part.startswith("cuda:") else None
        if part not in ("auto", "cpu", "cuda", "all") and not (index and index.isdigit()):
            raise option_error([Problem("--device", f"bad device {part!r}", hint=hint)])
    if not parts:
        raise option_error([Problem("--device", "no device given", hint=hint)])


def device_info(device: str) -> DeviceInfo:
    if device == "cpu":
        return cpu_info()
    return cuda_info(int(device.split(":", 1)[1]))


def framework_versions(names: tuple[str, ...] = ("numpy", "torch", "onnxruntime", "onnx")) -> dict[str, str]:
    """Versions of the frameworks already imported (nothing is imported just to ask)."""
    out = {"python": platform.python_version()}
    for n in names:
        mod = sys.modules.get(n)
        v = getattr(mod, "__version__", None) if mod is not None else None
        if v:
            out[n] = str(v)
    return dict(sorted(out.items()))
