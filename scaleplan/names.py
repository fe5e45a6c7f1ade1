"""Exact names with a did-you-mean: accelerators, regions, providers, instance types.

A name a user types is matched exactly (accelerator aliases too, ignoring case, spaces and
dashes), never by prefix: ``L40`` is not ``L4`` and ``us-east1`` is not ``us-east-1``. An
unknown name is reported with the closest known names, so the fix is one copy away.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

_MAX_LISTED = 12
# a provider's name in a catalog row and a spec (aws, gcp, azure, onprem, or one of your own)
PROVIDER_NAME = r"^[a-z0-9]([a-z0-9_.-]{0,61}[a-z0-9])?$"

# Region name formats, one place (use with fullmatch): AWS us-east-1 (and us-gov-west-1,
# us-isob-east-1), GCP us-central1, Azure eastus / westus2.
AWS_REGION = re.compile(r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}")
GCP_REGION = re.compile(r"[a-z]+-[a-z]+\d+")
AZURE_REGION = re.compile(r"[a-z]+\d*")
REGION_STYLES = (("aws", AWS_REGION), ("gcp", GCP_REGION), ("azure", AZURE_REGION))
# Instance type name formats (fullmatch): AWS g6.xlarge, GCP n1-standard-4 / a2-highgpu-1g (and
# the catalog's n1-standard-4+1xT4), Azure Standard_NC24ads_A100_v4.
INSTANCE_STYLES = (
    ("aws", re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9-]+")),
    ("gcp", re.compile(r"[a-z][a-z0-9]*-[a-z]+(-[a-z0-9]+)*(\+\d+x[A-Za-z0-9-]+)?")),
    ("azure", re.compile(r"Standard_[A-Za-z0-9_-]+")),
)


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def close_matches(name: str, known: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Known names closest to ``name`` (case and punctuation ignored), best first."""
    names = sorted(set(known))
    by_key: dict[str, str] = {}
    for k in names:
        by_key.setdefault(_key(k), k)
    hits = difflib.get_close_matches(_key(name), list(by_key), n=n, cutoff=cutoff)
    out = [by_key[h] for h in hits]
    if not out:
        out = difflib.get_close_matches(name, names, n=n, cutoff=cutoff)
    return out


def close_options(typed: str, params: Iterable[object]) -> list[str]:
    """The long options (``--out``) of ``params`` (a command's, duck-typed: ``opts``,
    ``secondary_opts``) close to an unknown ``typed`` one, compared as :func:`close_matches`
    does, without their dashes: the ``--`` every option shares is no likeness (difflib rated
    ``--bogus`` 0.67 like ``--out``, over its 0.6 cutoff; ``bogus`` and ``out``: 0.5)."""
    opts = [(*getattr(p, "opts", ()), *getattr(p, "secondary_opts", ())) for p in params]
    bare = {o[2:]: o for names in opts for o in names if o.startswith("--")}
    return [bare[m] for m in close_matches(typed[2:], bare)] if typed.startswith("--") else []


# options a user tries that are spec fields (UX trial 21 F7: `render --flavor aks`; UX trial
# 31: `render --target aks`)
_SPEC_FIELD_OPTIONS = {
    "--flavor": "kubernetes.flavor", "--target": "kubernetes.flavor",
    "--namespace": "kubernetes.namespace",
    "--image": "kubernetes.image", "--routing": "kubernetes.routing",
    "--autoscaler": "kubernetes.autoscaler", "--region": "placement.regions",
    "--regions": "placement.regions", "--redundancy": "placement.redundancy",
}


def explain_unknown_option(err: Any, params: Iterable[object]) -> None:
    """Complete the parser's "No such option" error ``err`` (duck-typed: ``option_name``,
    ``possibilities``, ``message``): the command's options close to it (:func:`close_options`),
    or, with none, where a spec field typed as an option is set."""
    err.possibilities = close_options(err.option_name, params)
    field = _SPEC_FIELD_OPTIONS.get(err.option_name)
    if field and not err.possibilities:
        err.message += (
            f" ({field} is set in the spec, not on the command line: change it there and run "
            "scaleplan optimize again; render, check and simulate read it from the plan)"
        )


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``did you mean 'L40S' or 'L4'?``; empty when no known name is close."""
    close = close_matches(name, known)
    return "did you mean " + " or ".join(repr(c) for c in close) + "?" if close else ""


def unknown_hint(name: str, known: Iterable[str], what: str, see: str = "") -> str:
    """``did you mean 'L40S' or 'L4'?`` or, with nothing close, the known names (or where to look)."""
    names = sorted(set(known))
    close = did_you_mean(name, names)
    if close:
        return close
    if not names:
        return see or f"no {what} are known"
    if len(names) <= _MAX_LISTED:
        return f"known {what}: " + ", ".join(names)
    return see or f"{len(names)} {what} are known"


# vendor words before an accelerator's model name ("nvidia-l4", "Tesla T4", "AMD MI300X")
_VENDOR = re.compile(r"^(nvidia|amd|intel|tesla|google|aws)")


def _series(name: str) -> str:
    """An accelerator name's series: its letters before the first digit, vendor words left
    out (``H100`` -> ``h``, ``MI300X`` -> ``mi``, ``nvidia-l4`` -> ``l``)."""
    key = _VENDOR.sub("", _key(name))
    m = re.match(r"[a-z]*", key)
    return m.group(0) if m else ""


def unknown_accelerator_hint(name: str, known: Iterable[str], add: str = "") -> str:
    """The hint for an accelerator not in the table: close names only where they are plausibly
    the same part (same series: ``L40`` -> ``L40S``; never ``MI300X`` -> ``B300``, UX trial 23
    F12), and how to add one that is not there: its specs under ``accelerators:`` in a catalog
    of your own (``add``: where that catalog is given, e.g. placement.catalogs)."""
    series = _series(name)
    close = [c for c in close_matches(name, known) if _series(c) == series]
    how = (
        f"add its specs under 'accelerators:' in a catalog of your own, with the instance rows"
        f" that carry it (docs/catalog.md){add}"
    )
    if close:
        return (
            "did you mean " + " or ".join(repr(c) for c in close) + "?"
            f" If {name!r} is another accelerator, {how}"
        )
    table = "the accelerator table (scaleplan catalog accelerators)"
    return f"{name!r} is not in {table}; to plan on it, {how}"
