"""``scaleplan import melange``: Mélange / AIBrix inputs -> spec.yaml, profile.yaml, catalog.yaml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scaleplan.cli._common import emit_json, handle_errors, input_error, stdout_console

import_app = typer.Typer(help="Convert other tools' inputs into scaleplan files.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")


@import_app.command("melange")
def melange(
    files: Annotated[list[str], typer.Argument(help="One Mélange config JSON, or one or more AIBrix gpu-optimizer profile JSON files.")],
    out: Annotated[str, typer.Option("--out", "-o", metavar="DIR", help="Folder for spec.yaml, profile.yaml and catalog.yaml.")],
    rate: Annotated[float | None, typer.Option("--rate", min=0.0, help="Total request rate (req/s); required for AIBrix profiles, overrides a Mélange config's.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Service name (DNS-1123); default from the file name.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON summary on stdout.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace spec.yaml, profile.yaml or catalog.yaml that already exist in --out.")] = False,
) -> None:
    """State a Mélange problem for scaleplan: no headroom, no redundancy, no derating."""
    with handle_errors():
        from scaleplan.catalog.files import load_catalog
        from scaleplan.importers.melange import import_files
        from scaleplan.profile.model import dump_profile
        from scaleplan.yamlio import atomic_write, dump_yaml

        if rate is not None and rate <= 0:
            raise input_error("--rate", "", "must be > 0", "give the total request rate in req/s")
        from scaleplan.outputs import check_out_path

        check_out_path(out)
        base = load_catalog(providers=())  # accelerator names only
        res = import_files(files, base, rate=rate, name=name)
        d = Path(out)
        if d.exists() and not d.is_dir():
            raise input_error(out, "", "--out is a file, expected a folder", "pass a folder path")
        existing = [n for n in ("spec.yaml", "profile.yaml", "catalog.yaml") if (d / n).exists()]
        if existing and not force:
            raise input_error(str(d / existing[0]), "", f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''} in {out}", "pass --force to replace them, or choose another --out folder")
        spec_text = dump_yaml(res.spec.model_dump(mode="json", exclude_none=True, exclude_defaults=True, by_alias=True) | {"apiVersion": "scaleplan/v1", "kind": "InferenceService"})
        atomic_write(d / "catalog.yaml", dump_yaml(res.catalog.model_dump(mode="json", exclude_none=True)))
        atomic_write(d / "profile.yaml", dump_profile(res.profile))
        atomic_write(d / "spec.yaml", spec_text)
        written = [str(d / n) for n in ("spec.yaml", "profile.yaml", "catalog.yaml")]
        if json_out:
            emit_json({"files": written, "classes": len(res.spec.traffic.classes), "gpus": len(res.catalog.instances), "notes": list(res.notes)})
            return
        con = stdout_console()
        for n in res.notes:
            con.print(f"note: {n}", markup=False)
        for w in written:
            con.print(f"wrote {w}", markup=False)
        con.print(f"next: scaleplan optimize {d / 'spec.yaml'}", markup=False)
