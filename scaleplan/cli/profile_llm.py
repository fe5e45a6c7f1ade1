"""``scaleplan profile llm MODEL``: an LLM profile from its architecture (docs/llm.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from scaleplan.cli._common import emit_json, handle_errors, print_text, warn
from scaleplan.cli.options import AcceleratorCatalogs, number_option


def profile_llm(
    ctx: typer.Context,
    model: Annotated[str | None, typer.Argument(metavar="MODEL", help="Preset name (e.g. llama-3.1-8b) or path to a Hugging Face config.json.")] = None,
    accelerators: Annotated[str | None, typer.Option("--accelerators", "-a", help="Accelerators, e.g. H100,L40S,L4 (default: the --spec's placement.accelerators, else H100,L40S,L4).")] = None,
    gpus: Annotated[str, typer.Option("--gpus", help="GPUs per replica (TP x PP), e.g. 1,2,4,8.")] = "1,2,4,8",
    input_tokens: Annotated[int | None, number_option("--input-tokens", integer=True, min=1, help="Prompt tokens per request (default 1024; one class: a spec's classes give their own).")] = None,
    output_tokens: Annotated[int | None, number_option("--output-tokens", integer=True, min=1, help="Completion tokens per request (default 256).")] = None,
    concurrency: Annotated[str, typer.Option("--concurrency", help="Sequences in flight per replica, e.g. 1,8,32,128.")] = "1,8,32,128",
    dtype: Annotated[str | None, typer.Option("--dtype", help="bf16, fp16, fp8, int8, int4-awq, int4-gptq (default: the model's).")] = None,
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
        from scaleplan.cli.profile import argv
        from scaleplan.llm.arch import preset_list
        from scaleplan.profile.build import command_line
        from scaleplan.profile.llm import llm_profile_file
        from scaleplan.profile.report import llm_profile_table, preset_table

        if list_presets:
            rows = preset_list()
            if json_out:
                emit_json(rows)
            else:
                print_text(preset_table([r["name"] for r in rows]))
            return
        prof, notes, text = llm_profile_file(
            model, spec, input_tokens=input_tokens, output_tokens=output_tokens, dtype=dtype, kv_cache_dtype=kv_cache_dtype, engine=engine,
            accelerators=accelerators, gpus=gpus, concurrency=concurrency, calibrate=calibrate, catalogs=catalog, out=out, command=command_line(argv(ctx)),
        )
        warn(notes, "note")  # on stderr in every mode: --json and --out - said nothing
        if json_out:
            emit_json(prof.model_dump(mode="json", exclude_none=True))
            return
        if out == "-":
            typer.echo(text, nl=False)
            return
        print_text(llm_profile_table(prof, out))
