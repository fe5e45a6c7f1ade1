"""Helpers for the profiler tests: real HTTP servers on 127.0.0.1 and small real models."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ROOT / "tests" / "data" / "profile_formats"
RUN_70B = FORMATS / "vllm_benchmark_serving_llama33_70b_tp8_qps16_first20.json"


def variant(tmp_path: Path, src: Path, name: str, change: Callable[[Any], None]) -> Path:
    """A copy of the result file ``src`` in ``tmp_path`` as ``name``, with ``change`` applied to
    its JSON (NaN written as json writes it)."""
    data = json.loads(src.read_text(encoding="utf-8"))
    change(data)
    out = tmp_path / name
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


def imported_point(path: Path, accelerator: str = "A100", gpus: int = 8) -> Any:
    """The one point ``profile import`` makes of the result file ``path``."""
    from scaleplan.importers.benchmarks import import_files

    prof, _ = import_files([str(path)], accelerator=accelerator, gpus=gpus)
    return prof.measurements[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Mlp:
    """A small real model: a 2-layer MLP in numpy with fixed weights."""

    def __init__(self) -> None:
        rng = np.random.default_rng(0)
        self.w1 = rng.standard_normal((64, 128)).astype(np.float32)
        self.w2 = rng.standard_normal((128, 10)).astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x @ self.w1, 0) @ self.w2


@contextmanager
def serve(kind: str) -> Iterator[str]:
    """Start an aiohttp server of ``kind`` in a thread; yield its base URL.

    kinds: model (serves the MLP on POST /predict), errors (500 on 2 of 3 requests), allerrors,
    stall (never answers), close (closes every connection), openai (streaming completions).
    """
    from aiohttp import web

    if kind == "close":
        with _closing_server() as url:
            yield url
        return
    mlp = _Mlp()
    counter = {"n": 0}

    async def predict(request: web.Request) -> web.Response:
        body = await request.json()
        x = np.asarray(body["inputs"], dtype=np.float32)
        y = mlp(x)
        return web.json_response({"outputs": y.argmax(axis=1).tolist()})

    async def errors(request: web.Request) -> web.Response:
        counter["n"] += 1
        if counter["n"] % 3:
            return web.json_response({"error": "overloaded"}, status=500)
        return web.json_response({"ok": True})

    async def allerrors(request: web.Request) -> web.Response:
        return web.json_response({"error": "broken"}, status=503)

    async def stall(request: web.Request) -> web.Response:
        await asyncio.sleep(3600)
        return web.Response(text="late")

    async def openai(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        n = int(body.get("max_tokens", 8))
        chat = request.path.endswith("chat/completions")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        await asyncio.sleep(0.02)  # prefill: TTFT ~20 ms
        for i in range(n):
            if i:
                await asyncio.sleep(0.005)  # decode: TPOT ~5 ms
            choice = {"index": 0, "delta": {"content": f" tok{i}"}} if chat else {"index": 0, "text": f" tok{i}"}
            await resp.write(f"data: {json.dumps({'choices': [choice]})}\n\n".encode())
        await resp.write(f"data: {json.dumps({'choices': [], 'usage': {'completion_tokens': n}})}\n\n".encode())
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
        return resp

    handlers = {"model": predict, "errors": errors, "allerrors": allerrors, "stall": stall}

    def routes(app: web.Application) -> None:
        if kind == "openai":
            app.router.add_post("/v1/completions", openai)
            app.router.add_post("/v1/chat/completions", openai)
        else:
            app.router.add_post("/predict", handlers[kind])

    with aiohttp_server(routes) as port:
        yield f"http://127.0.0.1:{port}"


@contextmanager
def aiohttp_server(routes: Callable[[Any], None], host: str = "127.0.0.1") -> Iterator[int]:
    """An aiohttp app (``routes`` adds its handlers) served from a thread on ``host``; yields the port."""
    from aiohttp import web

    port = free_port()
    started = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        loop = asyncio.new_event_loop()
        box["loop"] = loop
        app = web.Application()
        routes(app)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, host, port).start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert started.wait(10)
    try:
        yield port
    finally:
        box["loop"].call_soon_threadsafe(box["loop"].stop)
        t.join(5)


@contextmanager
def _closing_server() -> Iterator[str]:
    """A TCP server that reads the request and closes the connection without answering."""
    import socketserver

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(2)
            with suppress(OSError):
                self.request.recv(65536)
            self.request.close()

    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def write_numpy_factory(path: Path) -> str:
    path.write_text(
        "import numpy as np\n"
        "def factory():\n"
        "    w = np.random.default_rng(0).standard_normal((128, 128)).astype('float32')\n"
        "    def fn(x):\n"
        "        return np.tanh(x @ w) @ w\n"
        "    def make_batch(bs):\n"
        "        return (np.ones((bs, 128), dtype='float32'),)\n"
        "    return fn, make_batch\n"
        "def raises():\n"
        "    raise RuntimeError('weights not found')\n"
        "def wrong():\n"
        "    return 42\n"
        "def slow():\n"
        "    import time\n"
        "    def fn(x):\n"
        "        time.sleep(0.05)\n"
        "        return x\n"
        "    return fn, lambda bs: (bs,)\n",
        encoding="utf-8",
    )
    return f"{path}:factory"


def build_onnx_mlp(path: Path, dynamic_batch: bool = True) -> Path:
    """A small real ONNX model (MatMul-Relu-MatMul) built with onnx.helper; batch axis 'N'."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1)
    w1 = numpy_helper.from_array(rng.standard_normal((32, 64)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.standard_normal((64, 8)).astype(np.float32), "w2")
    batch: Any = "N" if dynamic_batch else 4
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 32])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 8])
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]), helper.make_node("MatMul", ["r", "w2"], ["y"])]
    graph = helper.make_graph(nodes, "mlp", [x], [y], initializer=[w1, w2])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def validate_profile_file(path: Path) -> dict[str, Any]:
    """Validate a written profile against `scaleplan schema profile` (jsonschema) and the model."""
    import jsonschema
    import yaml

    from scaleplan.profile.model import profile_json_schema, read_profile

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(profile_json_schema()).validate(data)
    read_profile(path)
    return data  # type: ignore[no-any-return]
