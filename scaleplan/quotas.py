"""A quota's scope and name (``placement.quotas``): the one rule the solver, optimize's
summary and render (a zone spread beyond a node quota) share, below all three."""

from __future__ import annotations

import fnmatch

from scaleplan.spec import Quota

__all__ = ["quota_covers", "quota_label"]


def quota_label(q: Quota) -> str:
    """How a quota is named to the user: provider/region/family, ``*`` where unset."""
    return "/".join([q.provider, q.region or "*", q.family or "*"])


def quota_covers(q: Quota, provider: str, region: str, family: str, gpus: int) -> bool:
    """Whether nodes of ``provider`` / ``region`` / ``family`` with ``gpus`` accelerators each
    lie in quota ``q``'s scope: provider, region, family glob; a CPU-only node only in a quota
    that counts nodes (``max_nodes``). The solver's rule, and optimize's summary's count of a
    plan's use of each quota."""
    return (
        (gpus > 0 or q.max_nodes is not None)
        and provider == q.provider
        and (q.region is None or region == q.region)
        and (q.family is None or fnmatch.fnmatchcase(family.lower(), q.family.lower()))
    )
