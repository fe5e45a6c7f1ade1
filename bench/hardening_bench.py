"""Benchmark the hardening bounds of issue 19 (docs/benchmarks.md, "Hardening").

    python bench/hardening_bench.py [--classes 2000] [--time-limit 10] [--skip-optimize]

1. ``optimize --time-limit 10`` on a spec with 2,000 request classes: wall and CPU seconds
   (target: returns within 15 s).
2. Peak memory (max RSS of the process) of ``profile`` against an endpoint that streams an
   endless body, ``catalog refresh`` against an EC2 endpoint that sends an endless reply, and
   ``simulate`` of a plan with 10^7 replicas (target: under 1 GiB, or exit 3 first).

Every command runs as a child process; its peak RSS comes from ``getrusage(RUSAGE_CHILDREN)``
in a fresh wrapper process, so one measurement never sees another's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "vision-daily"
WRAP = (
    "import resource, subprocess, sys, time\n"
    "t = time.perf_counter()\n"
    "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(r.returncode, ru.ru_maxrss, time.perf_counter() - t, ru.ru_utime + ru.ru_stime)\n"
    "sys.stderr.write(r.stderr.decode('utf-8', 'replace')[-400:])\n"
)


def measure(args: list[str], env: dict[str, str] | None = None, timeout: float = 900) -> dict[str, Any]:
    """Run ``scaleplan ARGS``: exit code, peak RSS (MiB), wall and CPU seconds, stderr tail."""
    e = {**os.environ, **(env or {})}
    r = subprocess.run([sys.executable, "-c", WRAP, sys.executable, "-m", "scaleplan", *args], capture_output=True, text=True, timeout=timeout, env=e, check=False)
    code, rss_kib, wall, cpu = r.stdout.split()
    return {"exit": int(code), "peak_rss_mib": round(int(rss_kib) / 1024, 1), "wall_s": round(float(wall), 2), "cpu_s": round(float(cpu), 2), "stderr": r.stderr.strip().splitlines()[-1:] }


class _Endless(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.end_headers()
        chunk = b"<a>" + b"x" * (1 << 20) + b"</a>"
        try:
            while True:
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST


def endless_server() -> tuple[ThreadingHTTPServer, str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    host, port = srv.server_address[:2]
    return srv, f"http://{host}:{port}"


def spec_with_classes(folder: Path, n: int) -> Path:
    for name in ("spec.yaml", "profile.yaml"):
        shutil.copy(EXAMPLE / name, folder / name)
    spec = folder / "spec.yaml"
    text = spec.read_text(encoding="utf-8")
    share = 1.0 / n
    cls = "".join(f"    - {{name: c{i}, share: {share!r}}}\n" for i in range(n))
    spec.write_text(text.replace("  headroom: 0.2\n", "  headroom: 0.2\n  classes:\n" + cls), encoding="utf-8")
    return spec


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--classes", type=int, default=2000)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--skip-optimize", action="store_true")
    a = ap.parse_args()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        # simulate of a plan with 10^7 replicas
        plan = t / "huge.yaml"
        plan.write_text((EXAMPLE / "plan.yaml").read_text(encoding="utf-8").replace("\n  replicas: 5\n", "\n  replicas: 10000000\n", 1), encoding="utf-8")
        out["simulate_1e7_replicas"] = measure(["simulate", str(plan)])
        srv, url = endless_server()
        try:
            body = t / "body.json"
            body.write_text(json.dumps({"inputs": [[0.1] * 4]}), encoding="utf-8")
            out["profile_endless_body"] = measure(["profile", f"{url}/predict", "--payload", str(body), "--concurrency", "1", "--requests", "3", "--accelerator", "cpu", "--timeout", "120", "--out", str(t / "p.yaml")])
            cat = t / "aws.yaml"
            shutil.copy(ROOT / "catalogs" / "aws.yaml", cat)
            fake = {"AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKEFAKE", "AWS_SECRET_ACCESS_KEY": "fake", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
            out["refresh_endless_reply"] = measure(["catalog", "refresh", "--regions", "us-east-1", "--out", str(cat), "--endpoint-url", url, "--max-attempts", "1"], env=fake)
        finally:
            srv.shutdown()
        if not a.skip_optimize:
            spec = spec_with_classes(t, a.classes)
            out[f"optimize_{a.classes}_classes_time_limit_{a.time_limit:g}"] = measure(["optimize", str(spec), "--out", str(t / "out"), "--time-limit", str(a.time_limit)], timeout=1800)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
