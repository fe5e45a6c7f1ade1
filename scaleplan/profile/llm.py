"""``scaleplan profile llm``: a profile predicted from a model's architecture (docs/llm.md),
from the command's options to the profile file: the inputs assembled
(:func:`scaleplan.llm_inputs.llm_profile_inputs`), the profile to calibrate on read, the LLM
model's prediction (:func:`scaleplan.llm.estimate.llm_profile`) and the file written; or, with
``--list``, the shipped presets (:func:`llm_command`, the command's report). The command line
prints the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple, get_args

from scaleplan.errors import OptionError

if TYPE_CHECKING:
    from scaleplan.profile.model import Profile
    from scaleplan.table import Report


class LlmProfileResult(NamedTuple):
    """The profile, its notes (refusals, skipped points) and its YAML text."""

    profile: Profile
    notes: tuple[str, ...]
    text: str


def _node_gpus(catalogs: list[str]) -> dict[str, int]:
    """Per accelerator, the most one instance of the catalogs (shipped and ``--catalog``) holds:
    a replica of more GPUs spans nodes (TP16 on H100 was priced as one NVLink domain)."""
    from scaleplan.catalog.files import load_catalog

    return load_catalog(catalogs).node_gpus()


def llm_profile_file(
    model: str | None,
    spec: str | None,
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    dtype: str | None,
    kv_cache_dtype: str | None,
    engine: str | None,
    accelerators: str | None,
    gpus: str,
    concurrency: str,
    calibrate: str | None,
    catalogs: list[str] | None,
    out: str,
    command: str,
) -> LlmProfileResult:
    """The profile of MODEL and/or the spec's model (neither: a usage error) on
    ``accelerators`` x ``gpus`` x the traffic classes x ``concurrency`` (the comma lists as
    typed), calibrated on the ``calibrate`` profile's points when given; written to ``out``
    unless it is '-'. ``input_tokens``/``output_tokens``: the options as typed (None: not
    given, 1,024 and 256; given with a spec whose classes give the tokens, a usage error)."""
    from scaleplan.llm.arch import another_model
    from scaleplan.llm.estimate import llm_profile
    from scaleplan.llm.serving import TokenClass
    from scaleplan.llm_inputs import calibrating_points, file_positions, llm_profile_inputs
    from scaleplan.option_values import choice, int_list, names, split_values
    from scaleplan.profile.model import dump_profile, read_profile
    from scaleplan.spec import Engine, KvCacheDtype, LlmDtype
    from scaleplan.yamlio import atomic_write

    if model is None and spec is None:
        message = "give MODEL (a preset or a config.json), or --spec with model.architecture"
        raise OptionError(message, option="MODEL")
    # usage errors (exit 2) before anything is read: a value the model has no row for was an
    # internal error (KeyError 'fp4'), and 'FP8' / 'TRTLLM' were refused though names of
    # presets and accelerators ignore case
    dtype = choice(dtype, get_args(LlmDtype), "--dtype")
    kv_cache_dtype = choice(kv_cache_dtype, get_args(KvCacheDtype), "--kv-cache-dtype")
    engine = choice(engine, get_args(Engine), "--engine")

    default = TokenClass("default", input_tokens or 1024, output_tokens or 256)
    typed = "--input-tokens" if input_tokens else "--output-tokens" if output_tokens else None
    inp = llm_profile_inputs(
        model, spec, default_class=default, tokens_given=typed,
        dtype=dtype, kv_cache_dtype=kv_cache_dtype, engine=engine,
        accelerators=names(accelerators) if accelerators else None, catalogs=split_values(catalogs),
    )
    cal = read_profile(calibrate) if calibrate else None
    measured, precision = calibrating_points(cal, inp.setup)
    # as optimize (solve.llm_capacity): only measured or imported points calibrate
    fits = any(m.source in ("measured", "imported") for m in measured)
    other = (
        another_model(cal.metadata.model, inp.setup.arch, inp.served)
        if cal is not None and fits
        else None
    )
    sizes = int_list(gpus, "--gpus") or [1]
    prof, notes = llm_profile(
        inp.setup, inp.accelerators, sizes, inp.classes,
        int_list(concurrency, "--concurrency") or [1], model_ref=inp.model, measured=measured,
        table=inp.table, command=command, positions=file_positions(cal, measured),
        # measured points of several GPUs are checked against the nodes too (a TP16 H100 run
        # calibrated as one node)
        node_gpus=(
            _node_gpus(split_values(catalogs))
            if max(sizes) > 1 or any(m.gpus > 1 for m in measured)
            else None
        ),
    )
    caveats = (*((other,) if other else ()), *precision)
    if caveats:
        # the file keeps what the terminal says of its calibration: another model's points,
        # a precision assumed (they were printed only, and the written profile read as a clean
        # calibration)
        meta = prof.metadata.model_copy(update={"notes": (*caveats, *prof.metadata.notes)})
        prof = prof.model_copy(update={"metadata": meta})
    notes = (*inp.notes, *caveats, *notes)
    text = dump_profile(prof, out)
    if out != "-":
        atomic_write(out, text, example="profile.yaml")
    return LlmProfileResult(prof, notes, text)


@dataclass(frozen=True)
class LlmArgs:
    """``profile llm``'s options as given (``scaleplan profile llm --help`` says what each
    does; :func:`llm_profile_file` checks them)."""

    model: str | None
    spec: str | None
    input_tokens: int | None
    output_tokens: int | None
    dtype: str | None
    kv_cache_dtype: str | None
    engine: str | None
    accelerators: str | None
    gpus: str
    concurrency: str
    calibrate: str | None
    catalogs: list[str] | None
    out: str
    list_presets: bool
    json_out: bool


def llm_command(a: LlmArgs, command: str) -> Report:
    """``profile llm``'s :class:`~scaleplan.table.Report`: the shipped presets (``--list``),
    else the profile made and written (:func:`llm_profile_file`; ``command``: the command line
    it records), with its notes."""
    from scaleplan.profile.report import llm_report, presets_report

    if a.list_presets:
        return presets_report(a.json_out)
    prof, notes, text = llm_profile_file(
        a.model, a.spec, input_tokens=a.input_tokens, output_tokens=a.output_tokens,
        dtype=a.dtype, kv_cache_dtype=a.kv_cache_dtype, engine=a.engine,
        accelerators=a.accelerators, gpus=a.gpus, concurrency=a.concurrency,
        calibrate=a.calibrate, catalogs=a.catalogs, out=a.out, command=command,
    )
    return llm_report(prof, notes, text, a.out, a.json_out)
