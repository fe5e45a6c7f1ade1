"""Kubernetes Jobs that run ``scaleplan profile`` in a cluster, one per accelerator type (pure).

Each Job selects nodes of its accelerator with a node affinity whose terms are ORed: the GPU
feature discovery label ``nvidia.com/gpu.product``, GKE's ``cloud.google.com/gke-accelerator``
and Karpenter's ``karpenter.k8s.aws/instance-gpu-name`` (whichever the catalog knows), so one
Job works on EKS, GKE and clusters with GPU feature discovery. It requests the GPUs
(``nvidia.com/gpu``), tolerates the usual GPU taint, writes the profile to a file and prints
it to stdout after a marker line, so ``kubectl logs`` yields it (see docs/profile.md).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scaleplan.errors import InputError, OptionError, Problem
from scaleplan.yamlio import dump_yaml

MARKER = "# --- scaleplan profile result ---"

# options of `profile run` that the Job sets itself (value-taking)
_DROP_WITH_VALUE = {"--emit-jobs", "--accelerators", "--image", "--namespace", "--device", "--out", "-o"}


def forwarded_args(argv: Sequence[str]) -> list[str]:
    """The user's measurement options, minus the target and the options the Job sets itself."""
    args = list(argv)
    if args and args[0] == "run":
        args = args[1:]
    out: list[str] = []
    skip_target = True
    i = 0
    while i < len(args):
        a = args[i]
        name = a.split("=", 1)[0]
        if name in _DROP_WITH_VALUE:
            i += 1 if "=" in a else 2
            continue
        if skip_target and not a.startswith("-"):
            skip_target = False
            i += 1
            continue
        out.append(a)
        i += 1
    return out


def _dns(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")


def render_jobs(target: str, *, accelerators: Sequence[str], image: str, namespace: str = "default", gpus: int = 1, extra_args: Sequence[str] = ()) -> dict[str, str]:
    """``profile-<acc>.yaml`` per accelerator plus a kustomization.yaml; deterministic text."""
    from scaleplan.catalog.files import accelerator_catalog

    cat = accelerator_catalog()
    problems: list[Problem] = []
    files: dict[str, str] = {}
    names: list[str] = []
    for a in accelerators:
        canonical = cat.resolve(a)
        if canonical is None:
            from scaleplan.names import unknown_hint

            problems.append(Problem("--accelerators", f"unknown accelerator {a!r}", hint=unknown_hint(a, cat.accelerator_names(), "accelerators", "use a name from `scaleplan catalog accelerators`, or cpu")))
            continue
        if canonical in names:
            continue
        names.append(canonical)
    if problems:
        raise InputError(None, problems)
    for canonical in names:
        job_name = f"scaleplan-profile-{_dns(canonical)}"
        out_file = f"/tmp/profile-{_dns(canonical)}.yaml"
        labels = {"app.kubernetes.io/name": "scaleplan-profile", "app.kubernetes.io/managed-by": "scaleplan", "scaleplan.dev/accelerator": _dns(canonical)}
        device = "cpu" if canonical == "CPU" else ("cuda" if gpus == 1 else "all")
        prof_cmd = ["scaleplan", "profile", target, *extra_args, "--device", device, "--out", out_file]
        script = f"{shlex.join(prof_cmd)} && echo {shlex.quote(MARKER)} && cat {out_file}"
        container: dict[str, Any] = {
            "name": "profile",
            "image": image,
            "command": ["/bin/sh", "-c", script],
            "env": [{"name": "NO_COLOR", "value": "1"}],
            "resources": {"requests": {"cpu": "2", "memory": "8Gi"}, "limits": {"memory": "32Gi"}},
        }
        pod: dict[str, Any] = {"restartPolicy": "Never"}
        if canonical != "CPU":
            acc = cat.accelerator(canonical)
            assert acc is not None
            container["resources"]["limits"][acc.k8s_resource] = gpus
            terms = []
            for key, value in (("nvidia.com/gpu.product", acc.gpu_product), ("cloud.google.com/gke-accelerator", acc.gke_accelerator), ("karpenter.k8s.aws/instance-gpu-name", acc.karpenter_gpu_name)):
                if value:
                    terms.append({"matchExpressions": [{"key": key, "operator": "In", "values": [value]}]})
            if not terms:
                raise InputError(None, [Problem("--accelerators", f"{canonical}: the catalog has no node label for it", hint="add gpu_product / gke_accelerator / karpenter_gpu_name to its specs in a catalog file")])
            pod["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}
            pod["tolerations"] = [{"key": acc.k8s_resource, "operator": "Exists", "effect": "NoSchedule"}]
        pod["containers"] = [container]
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": job_name, "namespace": namespace, "labels": labels},
            "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 86400, "activeDeadlineSeconds": 7200, "template": {"metadata": {"labels": labels}, "spec": pod}},
        }
        files[f"profile-{_dns(canonical)}.yaml"] = dump_yaml(job)
    files["kustomization.yaml"] = dump_yaml({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": sorted(k for k in files if k != "kustomization.yaml")})
    return dict(sorted(files.items()))


def not_job_files(folder: Path) -> list[Path]:
    """The entries of an ``--emit-jobs`` folder that :func:`render_jobs` did not write."""
    return [p for p in sorted(folder.iterdir()) if not (p.name.startswith("profile-") or p.name == "kustomization.yaml")]


def write_jobs(
    out_dir: str,
    target: str,
    accelerators: Sequence[str],
    *,
    image: str | None,
    namespace: str,
    gpus: int,
    argv: Sequence[str],
) -> dict[str, str]:
    """``profile TARGET --emit-jobs DIR``: the Jobs for ``accelerators``, forwarding the user's
    measurement options in ``argv`` (--accelerators and --image are required: usage errors),
    written into ``out_dir`` in one transaction (``outputs.replace_folder``: a folder holding
    other files is refused); the files written, by name."""
    from scaleplan.outputs import replace_folder

    if not accelerators:
        message = "--emit-jobs needs --accelerators, e.g. --accelerators L4,A10G,A100"
        raise OptionError(message, option="--accelerators")
    if not image:
        message = (
            "--emit-jobs needs --image (an image with scaleplan and your model; "
            "see docs/profile.md)"
        )
        raise OptionError(message, option="--image")
    files = render_jobs(
        target, accelerators=accelerators, image=image, namespace=namespace, gpus=gpus,
        extra_args=forwarded_args(argv),
    )
    replace_folder(Path(out_dir), files, foreign=not_job_files)
    return files


def jobs_summary(
    out_dir: str, accelerators: Sequence[str], files: dict[str, str]
) -> dict[str, object]:
    """``--emit-jobs --json``: the folder, the canonical accelerator names the Jobs were written
    for (render_jobs checked them), the files and how to apply them."""
    from scaleplan.catalog.files import accelerator_catalog

    cat = accelerator_catalog()
    return {
        "out": str(out_dir),
        "accelerators": list(dict.fromkeys(cat.resolve(a) or a for a in accelerators)),
        "files": sorted(files),
        "apply": f"kubectl apply -k {out_dir}",
    }
