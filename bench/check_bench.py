"""Benchmark `scaleplan check`: 1,000 manifests (objects) in 200 files, in-process and via the CLI.

    /work/venv/bin/python bench/check_bench.py [--objects 1000] [--profile]

Prints wall times; the target is under 3 s for 1,000 manifests on a 2-core machine.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLEAN = ROOT / "tests" / "data" / "check" / "clean" / "app.yaml"


def make_tree(folder: Path, objects: int) -> int:
    """Copies of the clean 5-object GPU service, renamed, one copy per file."""
    text = CLEAN.read_text(encoding="utf-8")
    per_file = 5
    files = objects // per_file
    for i in range(files):
        t = (
            text.replace("llm-g6-xlarge", f"llm-{i}-g6-xlarge")
            .replace("name: llm\n", f"name: llm-{i}\n")
            .replace("name: gpu-l4", f"name: gpu-l4-{i}")
            .replace("karpenter.sh/nodepool: gpu-l4", f"karpenter.sh/nodepool: gpu-l4-{i}")
        )
        (folder / f"svc-{i:04d}.yaml").write_text(t, encoding="utf-8")
    return files


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=1000)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = make_tree(folder, args.objects)
        t0 = time.perf_counter()
        from scaleplan.check import check_paths
        from scaleplan.inputs import load_tables

        t_import = time.perf_counter() - t0
        t0 = time.perf_counter()
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
        report = check_paths([folder], catalog=load_tables)
        cold = time.perf_counter() - t0
        if args.profile:
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        t0 = time.perf_counter()
        report2 = check_paths([folder], catalog=load_tables)
        warm = time.perf_counter() - t0
        assert report.objects == args.objects and report2.findings == report.findings
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "scaleplan", "check", str(folder), "--format", "json"],
            capture_output=True,
            text=True,
        )
        cli = time.perf_counter() - t0
        assert proc.returncode == 0, proc.stderr
        print(f"objects: {report.objects} in {files} files, findings: {len(report.findings)}")
        print(f"import scaleplan.check: {t_import:.3f} s")
        print(f"check_paths, first call in process (validators built): {cold:.3f} s")
        print(f"check_paths, second call (validators cached): {warm:.3f} s")
        print(f"CLI end to end (python -m scaleplan check DIR --format json): {cli:.3f} s")
        print(f"target < 3 s: {'met' if cli < 3 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
