"""Kubernetes Jobs that run ``scaleplan profile`` in a cluster, one per accelerator type (pure,
except :func:`write_jobs`, which writes the Jobs' folder).

Each Job selects nodes of its accelerator with a node affinity whose terms are ORed: the GPU
feature discovery label ``nvidia.com/gpu.product``, GKE's ``cloud.google.com/gke-accelerator``
and Karpenter's ``karpenter.k8s.aws/instance-gpu-name`` (whichever the catalog knows, with
the labels catalog rows state for their own machine type, as render takes them; the shipped
catalogs and the user's ``--catalog`` files), so one
Job works on EKS, GKE and clusters with GPU feature discovery. It requests the GPUs
(``nvidia.com/gpu``), tolerates the usual GPU taint, writes the profile to a file and prints
it to stdout after a marker line, so ``kubectl logs`` yields it (see docs/profile.md).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from scaleplan.catalog.model import Catalog, with_row_labels
from scaleplan.errors import InputError, OptionError, Problem, option_error
from scaleplan.kube.safety import RUN_AS, container_security_context, pod_security_context
from scaleplan.table import Report
from scaleplan.wording import counted
from scaleplan.yamlio import dump_yaml

MARKER = "# --- scaleplan profile result ---"

# options of `profile run` that the Job sets itself (value-taking)
_DROP_WITH_VALUE = {
    "--emit-jobs", "--accelerators", "--image", "--namespace", "--catalog", "--device", "--out",
        "-o",
}


def forwarded_args(argv: Sequence[str], target: str) -> list[str]:
    """The user's measurement options, minus the target and the options the Job sets itself.
    The target is dropped by its value: options may come before it, and the first word that
    is no option was then an option's value ('--batch-sizes 1,8 m.py:factory' lost '1,8')."""
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
        if skip_target and a == target:
            skip_target = False
            i += 1
            continue
        out.append(a)
        i += 1
    return out


def _dns(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")


def job_catalog(accelerators: Sequence[str], catalogs: Sequence[str] = ()) -> Catalog:
    """What the Jobs of ``accelerators`` read: the shipped accelerator specs with the user's
    ``--catalog`` files, merged after the shipped catalogs as every command merges them; their
    rows state a machine type's own node labels. A CPU-only set with no ``--catalog`` reads the
    accelerator table alone (a CPU Job selects no node label)."""
    from scaleplan.catalog.files import accelerator_catalog, load_catalog

    if not catalogs and all(a.strip().upper() == "CPU" for a in accelerators):
        return accelerator_catalog()
    return load_catalog(catalogs)


def canonical_accelerators(cat: Catalog, accelerators: Sequence[str]) -> list[str]:
    """``accelerators`` by their canonical names, once each; an unknown name is a usage error
    (exit 2) with a did-you-mean."""
    problems: list[Problem] = []
    names: list[str] = []
    for a in accelerators:
        canonical = cat.resolve(a)
        if canonical is None:
            from scaleplan.names import unknown_accelerator_hint

            hint = unknown_accelerator_hint(a, cat.accelerator_names(),
                ", and give that file with --catalog; or measure on cpu")
            problems.append(Problem("--accelerators", f"unknown accelerator {a!r}", hint=hint))
            continue
        if canonical not in names:
            names.append(canonical)
    if problems:
        raise option_error(problems)
    return names


def render_jobs(
    target: str, *, accelerators: Sequence[str], image: str, namespace: str = "default",
    gpus: int = 1, extra_args: Sequence[str] = (), catalog: Catalog | None = None,
) -> dict[str, str]:
    """``profile-<acc>.yaml`` per accelerator plus a kustomization.yaml; deterministic text.
    ``catalog``: the accelerators' specs and the rows whose node labels the Jobs select
    (:func:`job_catalog`; by default the shipped catalogs')."""
    cat = catalog if catalog is not None else job_catalog(accelerators)
    canonical = canonical_accelerators(cat, accelerators)
    return _jobs(
        cat, canonical, target, image=image, namespace=namespace, gpus=gpus, extra_args=extra_args,
    )


def _jobs(
    cat: Catalog, canonical: Sequence[str], target: str, *, image: str, namespace: str, gpus: int,
    extra_args: Sequence[str],
) -> dict[str, str]:
    """:func:`render_jobs` for accelerators already by their canonical names."""
    files: dict[str, str] = {}
    for acc in canonical:
        files[f"profile-{_dns(acc)}.yaml"] = dump_yaml(
            _job(cat, acc, target, image=image, namespace=namespace, gpus=gpus,
                extra_args=extra_args)
        )
    files["kustomization.yaml"] = dump_yaml({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": sorted(k for k in files if k != "kustomization.yaml")})
    return dict(sorted(files.items()))


# the Job runs as kube.safety.RUN_AS, the serving pods' non-root uid; HOME points at the /tmp
# emptyDir, so torch / Hugging Face / Triton caches write there under the read-only root
# filesystem
CPU_THREADS = 2  # a CPU Job's default --threads, and its CPU request and limit


def _threads(extra_args: Sequence[str]) -> int | None:
    """The user's ``--threads N`` among the forwarded options, if any."""
    for i, a in enumerate(extra_args):
        value = a.split("=", 1)[1] if a.startswith("--threads=") else (
            extra_args[i + 1] if a == "--threads" and i + 1 < len(extra_args) else ""
        )
        if value.isdigit() and int(value) >= 1:  # the CLI checked it: a whole number >= 1
            return int(value)
    return None


def _resources(gpus: int, threads: int | None) -> dict[str, Any]:
    """Requests and limits. A GPU Job: per GPU 2 CPUs requested (4 the limit) and 8 GiB of
    memory requested (32 GiB the limit), so a 1-GPU Job still fits the smallest GPU nodes
    (g6.xlarge: 4 vCPU, 16 GiB). A CPU Job: its CPU request and limit are the threads it
    measures with, so the point's ``threads`` is the CPU the container really has."""
    if threads is not None:  # CPU
        return {
            "requests": {"cpu": str(threads), "memory": "8Gi"},
            "limits": {"cpu": str(threads), "memory": "32Gi"},
        }
    return {
        "requests": {"cpu": str(2 * gpus), "memory": f"{8 * gpus}Gi"},
        "limits": {"cpu": str(4 * gpus), "memory": f"{32 * gpus}Gi"},
    }


def _job(cat: Catalog, canonical: str, target: str, *, image: str, namespace: str, gpus: int,
        extra_args: Sequence[str]) -> dict[str, Any]:
    """One accelerator's Job: non-root (uid 65532), no privilege escalation, seccomp
    RuntimeDefault, read-only root filesystem with an emptyDir at /tmp (the profile's file and
    HOME's caches), /dev/shm in memory for several GPUs (NCCL), CPU and memory limits."""
    job_name = f"scaleplan-profile-{_dns(canonical)}"
    out_file = f"/tmp/profile-{_dns(canonical)}.yaml"
    labels = {"app.kubernetes.io/name": "scaleplan-profile",
        "app.kubernetes.io/managed-by": "scaleplan", "scaleplan.dev/accelerator": _dns(canonical)}
    cpu = canonical == "CPU"
    args = list(extra_args)
    threads = None
    if cpu:
        threads = _threads(args)
        if threads is None:
            threads = CPU_THREADS
            args += ["--threads", str(threads)]
    device = "cpu" if cpu else ("cuda" if gpus == 1 else "all")
    prof_cmd = ["scaleplan", "profile", target, *args, "--device", device, "--out", out_file]
    # the profile is printed whenever it was written (--strict writes it and exits 5), and
    # the Job ends with the profiler's exit code
    script = (
        f"{shlex.join(prof_cmd)}; rc=$?; if [ -f {out_file} ]; then echo {shlex.quote(MARKER)}"
        f" && cat {out_file}; fi; exit $rc"
    )
    mounts = [{"name": "tmp", "mountPath": "/tmp"}]
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    if not cpu and gpus > 1:  # shared memory for NCCL between the GPUs' workers
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{min(64, 8 * gpus)}Gi"}})
    container: dict[str, Any] = {
        "name": "profile",
        "image": image,
        "command": ["/bin/sh", "-c", script],
        "env": [{"name": "NO_COLOR", "value": "1"}, {"name": "HOME", "value": "/tmp"}],
        "resources": _resources(gpus, threads),
        "securityContext": container_security_context(read_only_root=True),
        "volumeMounts": mounts,
    }
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": pod_security_context(),
    }
    if not cpu:
        acc = cat.accelerator(canonical)
        assert acc is not None
        container["resources"]["limits"][acc.k8s_resource] = gpus
        # the accelerator's labels, then those its catalog rows state for their own machine
        # type, as render selects them (GKE's A3 Mega, Azure's PCIe parts)
        variants = [acc, *(with_row_labels(acc, r) for r in cat.rows if r.accelerator == canonical)]
        terms = []
        for key, field in (("nvidia.com/gpu.product", "gpu_product"),
                ("cloud.google.com/gke-accelerator", "gke_accelerator"),
                ("karpenter.k8s.aws/instance-gpu-name", "karpenter_gpu_name")):
            values = list(dict.fromkeys(v for v in (getattr(x, field) for x in variants) if v))
            if values:
                terms.append({"matchExpressions": [{"key": key, "operator": "In", "values": values}]})
        if not terms:
            raise InputError(None, [Problem("--accelerators", f"{canonical}: the catalog has no "
                "node label for it", hint="add gpu_product / gke_accelerator / karpenter_gpu_name "
                "to its specs in a catalog file")])
        pod["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}
        pod["tolerations"] = [{"key": acc.k8s_resource, "operator": "Exists", "effect": "NoSchedule"}]
    pod["containers"] = [container]
    pod["volumes"] = volumes
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name, "namespace": namespace, "labels": labels},
        "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 86400, "activeDeadlineSeconds": 7200,
            "template": {"metadata": {"labels": labels}, "spec": pod}},
    }


def local_file(target: str) -> str | None:
    """The local file a TARGET names (``path/to/file.py:factory``, ``model.onnx``, a
    TorchScript file), as :func:`scaleplan.profile.targets.load_workload` reads it; None for a
    module path (``pkg.mod:factory``) or a URL."""
    if target.lower().startswith(("http://", "https://")):
        return None
    if target.lower().endswith((".onnx", ".pt", ".pth", ".pt2", ".torchscript")):
        return target
    mod_part = target.rpartition(":")[0]
    if mod_part.endswith(".py") or "/" in mod_part or "\\" in mod_part:
        return mod_part
    return None


def image_path_notes(target: str) -> list[str]:
    """``--emit-jobs`` with a local file as TARGET: the Job runs it inside the image (a note;
    none for a module path)."""
    path = local_file(target)
    if path is None:
        return []
    where = "" if path.startswith("/") else (
        ", resolved from the image's working folder (WORKDIR: /models in the Dockerfile), "
        "not from this one"
    )
    return [
        f"the Jobs run TARGET inside the image: {path} must exist in the image{where}, "
        f"readable by uid {RUN_AS} (docs/profile.md)"
    ]


def not_job_files(folder: Path) -> list[Path]:
    """The entries of an ``--emit-jobs`` folder that :func:`render_jobs` did not write."""
    return [p for p in sorted(folder.iterdir())
        if not (p.name.startswith("profile-") or p.name == "kustomization.yaml")]


class EmittedJobs(NamedTuple):
    """What ``--emit-jobs`` wrote: the files by name, the accelerators by their canonical
    names, the notes."""

    files: dict[str, str]
    accelerators: list[str]
    notes: list[str]


def write_jobs(
    out_dir: str,
    target: str,
    accelerators: str | None,
    *,
    image: str | None,
    namespace: str,
    gpus: int,
    argv: Sequence[str],
    catalogs: Sequence[str] = (),
) -> EmittedJobs:
    """``profile TARGET --emit-jobs DIR``: the Jobs for ``accelerators`` (``--accelerators`` as
    typed, a comma list), forwarding the user's measurement options in ``argv``
    (--accelerators and --image are required: usage errors), written into ``out_dir`` in one
    transaction (``outputs.replace_folder``: a folder holding other files is refused); the
    files written, by name, and the notes on a local file TARGET (:func:`image_path_notes`).
    ``catalogs``: the user's ``--catalog`` files (:func:`job_catalog`)."""
    from scaleplan.option_values import names
    from scaleplan.outputs import check_out_path, replace_folder
    from scaleplan.profile.run_options import is_endpoint

    check_out_path(out_dir, "--emit-jobs")
    if is_endpoint(target):  # its Job ran `profile URL --device cuda`: refused, every Job failed
        message = (
            "--emit-jobs runs a model on the cluster's GPUs; a URL is an endpoint, profiled "
            "from where it can be reached, with no GPU: run scaleplan profile URL there "
            "(--accelerator names what serves it)"
        )
        raise OptionError(message, option="--emit-jobs")
    accs = names(accelerators)
    if not accs:
        message = "--emit-jobs needs --accelerators, e.g. --accelerators L4,A10G,A100"
        raise OptionError(message, option="--accelerators")
    if not image:
        message = (
            "--emit-jobs needs --image (an image with scaleplan and your model; "
            "see docs/profile.md)"
        )
        raise OptionError(message, option="--image")
    cat = job_catalog(accs, catalogs)
    extra_args = forwarded_args(argv, target)
    canonical = canonical_accelerators(cat, accs)
    files = _jobs(
        cat, canonical, target, image=image, namespace=namespace, gpus=gpus, extra_args=extra_args,
    )
    replace_folder(Path(out_dir), files, foreign=not_job_files)
    return EmittedJobs(files, canonical, image_path_notes(target))


def jobs_summary(out_dir: str, jobs: EmittedJobs) -> dict[str, object]:
    """``--emit-jobs --json``: the folder, the canonical accelerator names the Jobs were written
    for, the files and how to apply them."""
    return {
        "out": str(out_dir),
        "accelerators": list(jobs.accelerators),
        "files": sorted(jobs.files),
        "apply": f"kubectl apply -k {out_dir}",
    }


def jobs_line(out_dir: str, jobs: EmittedJobs) -> str:
    """``--emit-jobs``: the one line saying what was written where."""
    return f"wrote {counted(len(jobs.files), 'file')} to {out_dir}: {', '.join(sorted(jobs.files))}"


def jobs_report(out_dir: str, jobs: EmittedJobs, as_json: bool) -> Report:
    """``--emit-jobs``: the Jobs' notes (on stderr in every mode), then :func:`jobs_summary` as
    JSON, or :func:`jobs_line`."""
    if as_json:
        return Report(doc=jobs_summary(out_dir, jobs), notes=jobs.notes)
    return Report(lines=[jobs_line(out_dir, jobs)], notes=jobs.notes)
