"""``scaleplan profile``: measure a model or an endpoint, estimate, merge and import profiles.

``scaleplan profile TARGET [OPTIONS]`` runs the default ``run`` command; ``llm``, ``estimate``,
``merge`` and ``import`` are subcommands. The group class below routes anything that is not a
subcommand name to ``run``.
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Annotated, Any

import typer
import typer.core

from scaleplan.cli._common import handle_errors, print_report, stderr_console, warn
from scaleplan.cli.options import AcceleratorCatalogs, CatalogFiles, JsonOnStdout, number_option
from scaleplan.option_values import args_of

ARGV_KEY = "scaleplan.profile.argv"


class ProfileGroup(typer.core.TyperGroup):
    """A group whose first argument is a subcommand or, failing that, the TARGET of ``run``."""

    default_command = "run"

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta[ARGV_KEY] = list(args)
        # a bare word close to a command ('lm') is a misspelt command, not run's TARGET
        typo = bool(args) and args[0].isidentifier() and get_close_matches(args[0], list(self.commands), 1, 0.75)
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h") and not typo:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write_usage(ctx.command_path, "TARGET [OPTIONS]   (measure; see 'run --help')")
        formatter.write_usage(ctx.command_path, "llm|estimate|merge|import ... [OPTIONS]")


def argv(ctx: Any) -> list[str]:
    """The arguments after ``scaleplan profile``, as typed (a profile records them)."""
    return list(ctx.meta.get(ARGV_KEY) or [])  # click shares one meta dict down the tree


app = typer.Typer(
    cls=ProfileGroup,
    help=(
        "Measure a model (factory, .onnx, .pt/.pt2) or an HTTP endpoint on real devices; estimate, merge and import profiles.\n\n"
        "scaleplan profile TARGET [OPTIONS] measures TARGET (the 'run' command): TARGET is pkg.module:factory, "
        "path/to/file.py:factory, model.onnx, model.pt / model.pt2, or http(s)://host:port/path."
    ),
    no_args_is_help=True,
)


@app.command("run")
def run(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="pkg.module:factory, path/file.py:factory, model.onnx, model.pt/.pt2, or http(s)://host:port/path.")],
    out: Annotated[str, typer.Option("--out", "-o", metavar="FILE", help="Profile file to write ('-' = stdout). Written atomically after every point.")] = "-",
    device: Annotated[str, typer.Option("--device", help="auto, cpu, cuda, cuda:N or all (comma lists allowed).")] = "auto",
    batch_sizes: Annotated[str | None, typer.Option("--batch-sizes", help="Batch sizes, e.g. 1,2,4,8 (default: powers of two up to --max-batch, the memory ceiling or the SLO).")] = None,
    max_batch: Annotated[int, number_option("--max-batch", integer=True, min=1, help="Largest batch measured: the top of the default sweep, and a bound on --batch-sizes.")] = 1024,
    time_budget: Annotated[float, number_option("--time-budget", what="a number of seconds", example="6", min=0.01, help="Seconds of timed windows per point, at most (endpoints: seconds per sweep level).")] = 6.0,
    window_ms: Annotated[float, number_option("--window-ms", what="a number of milliseconds", example="500", min=1.0, help="Measurement window: a window's rate is the samples it completed over its elapsed time.")] = 500.0,
    stable_windows: Annotated[int, number_option("--stable-windows", integer=True, min=2, help="A point stops once this many consecutive windows agree within --stability ...")] = 3,
    stability: Annotated[float, number_option("--stability", what="a fraction", example="0.1", min=0.001, max=1.0, help="... of their mean (0.1 = +-10 %) ...")] = 0.10,
    target_ci: Annotated[float, number_option("--target-ci", what="a fraction", example="0.05", min=0.001, max=0.5, help="... and the 95% CI of the sustained rate is within +- this fraction; else at --time-budget.")] = 0.05,
    min_samples: Annotated[int, number_option("--min-samples", integer=True, min=3, help="Calls per point, at least (unless the budget runs out).")] = 20,
    min_span: Annotated[float, number_option("--min-span", what="a number of seconds", example="5", min=0.0, help="Seconds of wall clock a point's windows must span before it may stop (a host's speed moves in phases).")] = 5.0,
    interleave: Annotated[bool, typer.Option("--interleave/--no-interleave", help="After a first window per point, take windows in turn across the batch sizes (each point spans the sweep); --no-interleave measures each point in one go.")] = True,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 5 when a point is unstable or contended (the profile is still written).")] = False,
    input_shape: Annotated[str | None, typer.Option("--input-shape", help="Per-sample input shape without the batch axis, e.g. 3x224x224 (torch modules; dynamic ONNX dims).")] = None,
    dtype: Annotated[str, typer.Option("--dtype", help="float32, float16, bfloat16, float64, int64, int32 (torch modules).")] = "float32",
    threads: Annotated[int | None, number_option("--threads", integer=True, min=1, help="CPU threads: torch / onnxruntime intra-op and the BLAS / OpenMP pools (numpy) through threadpoolctl.")] = None,
    slo_ms: Annotated[float | None, number_option("--slo-ms", what="a number of milliseconds", example="100", min=0.0, help="Latency SLO: stop the sweep past it (endpoints: once latency runs far past it).")] = None,
    slo_percentile: Annotated[int, typer.Option("--slo-percentile", help="Percentile the SLO applies to: 50, 90, 95 or 99.")] = 99,
    stop_at_plateau: Annotated[bool, typer.Option("--stop-at-plateau/--no-stop-at-plateau", help="Stop the default sweep once throughput stops growing.")] = True,
    name: Annotated[str | None, typer.Option("--name", help="Model name in the profile (default: from the target).")] = None,
    # endpoints
    payload: Annotated[str | None, typer.Option("--payload", metavar="FILE", help="Endpoints: JSON request body file.")] = None,
    concurrency: Annotated[str | None, typer.Option("--concurrency", help="Endpoints: concurrency levels, e.g. 1,2,4,8 (default 1,2,4,...,64).")] = None,
    rate: Annotated[str | None, typer.Option("--rate", help="Endpoints: open-loop Poisson request rates (req/s), e.g. 1,2,5,10.")] = None,
    requests: Annotated[int | None, number_option("--requests", integer=True, min=1, help="Endpoints: requests per level (default: as many as --time-budget allows).")] = None,
    timeout: Annotated[float, number_option("--timeout", what="a number of seconds", example="30", min=0.01, help="Endpoints: per-request timeout in seconds.")] = 30.0,
    max_error_rate: Annotated[float, number_option("--max-error-rate", what="a fraction", example="0.1", min=0.0, max=1.0, help="Endpoints: stop the sweep once a level's error rate exceeds this.")] = 0.1,
    openai: Annotated[bool, typer.Option("--openai", help="Endpoints: OpenAI-compatible streaming /v1/completions or /v1/chat/completions; records TTFT and TPOT.")] = False,
    model_name: Annotated[str | None, typer.Option("--model-name", help="--openai: the model field of the request (default: the payload's, else 'default').")] = None,
    max_tokens: Annotated[int, number_option("--max-tokens", integer=True, min=1, help="--openai: max_tokens when the payload has none.")] = 64,
    header: Annotated[list[str] | None, typer.Option("--header", help="Endpoints: extra HTTP header 'Name: value' (repeatable).")] = None,
    accelerator: Annotated[str | None, typer.Option("--accelerator", help="Endpoints: the accelerator serving it (L4, H100, cpu), for the optimizer.")] = None,
    gpus: Annotated[int, number_option("--gpus", integer=True, min=1, help="Endpoints / jobs: accelerators per replica.")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Endpoints: seed for --rate arrivals.")] = 0,
    follow_redirects: Annotated[bool, typer.Option("--follow-redirects", help="Endpoints: follow redirects to another host/port/scheme (never with your --header values). Same-origin redirects are always followed.")] = False,
    # cluster
    emit_jobs: Annotated[str | None, typer.Option("--emit-jobs", metavar="DIR", help="Write one Kubernetes Job per accelerator into DIR instead of measuring here.")] = None,
    accelerators: Annotated[str | None, typer.Option("--accelerators", help="--emit-jobs: accelerators, e.g. L4,A10G,A100.")] = None,
    image: Annotated[str | None, typer.Option("--image", help="--emit-jobs: container image with scaleplan and the model (see Dockerfile).")] = None,
    namespace: Annotated[str, typer.Option("--namespace", help="--emit-jobs: namespace of the Jobs.")] = "default",
    catalog: CatalogFiles = None,
    json_out: Annotated[bool, typer.Option("--json", help="JSON on stdout (the profile with --out -, else a summary).")] = False,
) -> None:
    """Measure TARGET: latency percentiles, throughput and peak memory per device and batch size (or per concurrency for endpoints)."""
    with handle_errors(json_out):
        from scaleplan.profile.command import RunArgs, run_target, write_profile
        from scaleplan.profile.report import RichProgress

        args = args_of(RunArgs, locals(), headers=header or [], catalogs=catalog or ())
        done = run_target(
            target, args, argv(ctx), warn=warn,
            write=lambda found, path: print_report(write_profile(found, path, json_out)),
            log=lambda line: stderr_console().print(
                line, markup=False, highlight=False, soft_wrap=True),
            progress=lambda: RichProgress(stderr_console()),
        )
        print_report(done.report(args, json_out))
        verdict = done.verdict  # a model's: the profile's summary holds it too
        for line in verdict.lines() if verdict else ():
            stderr_console().print(line, markup=False, highlight=False)
        if strict and verdict and not verdict.ok:
            raise verdict.strict_error()


@app.command("estimate")
def estimate(
    profile_path: Annotated[str, typer.Argument(metavar="PROFILE", help="Profile with measured points.")],
    accelerators: Annotated[str, typer.Option("--accelerators", "-a", help="Accelerators to estimate, e.g. L4,A10G,H100.")],
    out: Annotated[str, typer.Option("--out", "-o", metavar="FILE", help="Output profile ('-' = stdout): the input plus estimated points.")] = "-",
    flops_per_sample: Annotated[float | None, number_option("--flops-per-sample", what="a number of FLOPs", example="4e9", min=1.0, help="Model FLOPs per sample, when the profile has only CPU points and no counted FLOPs.")] = None,
    weights_gib: Annotated[float | None, number_option("--weights-gib", what="a number of GiB", example="0.5", min=0.0, help="Model weights size on the GPU (default: metadata.weights_gib; unknown = no memory term, wider band).")] = None,
    overhead_ms: Annotated[float | None, number_option("--overhead-ms", what="a number of milliseconds", example="2", min=0.0, help="CPU transfer: fixed per-batch GPU overhead, ms (default 2 = 150 kernels x 10 us + 0.5 ms host).")] = None,
    host_ms_per_sample: Annotated[float, number_option("--host-ms-per-sample", what="a number of milliseconds", example="0.1", min=0.0, help="CPU transfer: host work per sample inside fn (tokenization...), ms.")] = 0.0,
    input_bytes: Annotated[float | None, number_option("--input-bytes", what="a number of bytes", example="4096", min=0.0, help="CPU transfer: input bytes per sample copied to the GPU (default: from metadata.input_shape, else 4096).")] = None,
    compute_efficiency: Annotated[float, number_option("--compute-efficiency", what="a fraction", example="0.5", help="CPU transfer: fraction of dense peak reached at large batch (ramps down to small batch).")] = 0.5,
    memory_efficiency: Annotated[float, number_option("--memory-efficiency", what="a fraction", example="0.75", help="CPU transfer: fraction of peak memory bandwidth reached.")] = 0.75,
    gpu_dtype: Annotated[str | None, typer.Option("--gpu-dtype", help="CPU transfer: dtype served on the GPU: float16 (default unless the profile says), bfloat16, int8, float8, float32.")] = None,
    catalog: AcceleratorCatalogs = None,
    json_out: JsonOnStdout = False,
) -> None:
    """Roofline transfer of measured points to accelerators you do not have (source: estimated, with an uncertainty band)."""
    with handle_errors(json_out):
        from scaleplan.profile.command import EstimateArgs, estimate_file, profile_output

        args = args_of(EstimateArgs, locals())
        prof, warnings = estimate_file(profile_path, accelerators, catalog, args)
        warn(warnings)
        print_report(profile_output(prof, out, json_out))


@app.command("merge")
def merge(
    files: Annotated[list[str], typer.Argument(metavar="FILES...", help="Profiles to merge (e.g. one per accelerator from the cluster Jobs).")],
    out: Annotated[str, typer.Option("--out", "-o", metavar="FILE", help="Merged profile ('-' = stdout).")] = "-",
    name: Annotated[str | None, typer.Option("--name", help="Model name of the merged profile (default: the first file's).")] = None,
    json_out: JsonOnStdout = False,
) -> None:
    """Merge profiles: measurements of all files (a later file's point replaces an earlier identical one)."""
    with handle_errors(json_out):
        from scaleplan.profile.command import merge_files, profile_output

        merged, warnings = merge_files(files, name=name)
        warn(warnings)
        print_report(profile_output(merged, out, json_out))


@app.command("import")
def import_(
    files: Annotated[list[str], typer.Argument(metavar="FILES...", help="Result files of another tool (one run per file; several files = a sweep).")],
    format: Annotated[str, typer.Option("--format", "-f", help="auto, vllm, aiperf, genai-perf, melange, aibrix.")] = "auto",
    accelerator: Annotated[str | None, typer.Option("--accelerator", help="Accelerator the benchmark ran on (L4, H100, ...); the files do not say.")] = None,
    gpus: Annotated[int, number_option("--gpus", integer=True, min=1, help="Accelerators per replica (tensor parallel degree) in the benchmark.")] = 1,
    name: Annotated[str | None, typer.Option("--name", help="Model name (default: from the files).")] = None,
    dtype: Annotated[str | None, typer.Option("--dtype", help="Precision the benchmark served: bf16, fp16, fp8, int8, int4-awq, int4-gptq, mxfp4, nvfp4 (recorded as metadata.dtype and on each point; LLM calibration leaves out points of another precision).")] = None,
    kv_cache_dtype: Annotated[str | None, typer.Option("--kv-cache-dtype", help="KV-cache precision the benchmark ran with: auto, bf16, fp16, fp8 (recorded on each point; LLM calibration leaves out points whose KV cache is of another size).")] = None,
    out: Annotated[str, typer.Option("--out", "-o", metavar="FILE", help="Profile to write ('-' = stdout).")] = "-",
    catalog: AcceleratorCatalogs = None,
    json_out: JsonOnStdout = False,
) -> None:
    """Turn vLLM bench serve / benchmark_serving, AIPerf / GenAI-Perf (and Mélange / AIBrix) results into profile points."""
    with handle_errors(json_out):
        from scaleplan.importers.benchmarks import import_files
        from scaleplan.profile.command import profile_output

        prof, warnings = import_files(files, fmt=format, accelerator=accelerator, gpus=gpus, name=name, dtype=dtype, kv_cache_dtype=kv_cache_dtype, catalogs=catalog or ())
        warn(warnings)
        print_report(profile_output(prof, out, json_out))


@app.command("llm")
def profile_llm(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Argument(metavar="MODEL", help="Preset name (e.g. llama-3.1-8b) or path to a Hugging Face config.json.")] = None,
    accelerators: Annotated[str | None, typer.Option("--accelerators", "-a", help="Accelerators, e.g. H100,L40S,L4 (default: the --spec's placement.accelerators, else H100,L40S,L4).")] = None,
    gpus: Annotated[str, typer.Option("--gpus", help="GPUs per replica (TP x PP), e.g. 1,2,4,8.")] = "1,2,4,8",
    input_tokens: Annotated[int | None, number_option("--input-tokens", integer=True, min=1, help="Prompt tokens per request (default 1024; one class: a spec's classes give their own).")] = None,
    output_tokens: Annotated[int | None, number_option("--output-tokens", integer=True, min=1, help="Completion tokens per request (default 256).")] = None,
    concurrency: Annotated[str, typer.Option("--concurrency", help="Sequences in flight per replica, e.g. 1,8,32,128.")] = "1,8,32,128",
    dtype: Annotated[str | None, typer.Option("--dtype", help="bf16, fp16, fp8, int8, int4-awq, int4-gptq, mxfp4, nvfp4 (default: the model's).")] = None,
    kv_cache_dtype: Annotated[str | None, typer.Option("--kv-cache-dtype", help="auto, bf16, fp16, fp8.")] = None,
    engine: Annotated[str | None, typer.Option("--engine", help="vllm (default), sglang, tgi, trtllm.")] = None,
    calibrate: Annotated[str | None, typer.Option("--calibrate", help="Profile with measured points (any GPU) to calibrate the efficiency factors.")] = None,
    spec: Annotated[str | None, typer.Option("--spec", help="Spec whose traffic classes (tokens) and model settings to use.")] = None,
    catalog: AcceleratorCatalogs = None,
    out: Annotated[str, typer.Option("--out", "-o", metavar="FILE", help="Output profile ('-' = stdout).")] = "-",
    list_presets: Annotated[bool, typer.Option("--list", help="List the shipped architecture presets and exit.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the profile as JSON on stdout.")] = False,
) -> None:
    """Estimate TTFT, TPOT, throughput and KV-cache capacity from a model's architecture (source: estimated, or calibrated with --calibrate)."""
    with handle_errors(json_out):
        from scaleplan.profile.build import command_line
        from scaleplan.profile.llm import LlmArgs, llm_command

        args = args_of(LlmArgs, locals(), catalogs=catalog)
        print_report(llm_command(args, command_line(argv(ctx))))
