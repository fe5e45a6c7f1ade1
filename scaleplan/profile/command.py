"""``scaleplan profile estimate`` and ``profile merge``, from the command's files and options
to the profile they make (with its warnings): the profiles read, the catalogs loaded, the
transfer's assumptions assembled, then :func:`scaleplan.profile.estimate.estimate_profile` or
:func:`scaleplan.profile.merge.merge_profiles`. The command line writes and prints the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scaleplan.profile.model import Profile


def estimate_file(
    profile_path: str, accelerators: str, catalogs: Sequence[str] | None, *,
    flops_per_sample: float | None, weights_gib: float | None, overhead_ms: float | None,
    host_ms_per_sample: float, input_bytes: float | None, compute_efficiency: float,
    memory_efficiency: float, gpu_dtype: str | None,
) -> tuple[Profile, list[str]]:
    """The profile at ``profile_path`` plus estimated points for ``accelerators`` (a comma
    list), with the accelerator specs of the shipped catalogs and ``catalogs``."""
    from scaleplan.catalog.files import load_catalog
    from scaleplan.errors import OptionError
    from scaleplan.option_values import names, split_values
    from scaleplan.profile.estimate import TransferOptions, estimate_profile
    from scaleplan.profile.model import read_profile

    if flops_per_sample is not None and flops_per_sample <= 0:  # it read as "none given"
        raise OptionError(f"must be > 0; got {flops_per_sample:g}", option="--flops-per-sample")
    prof = read_profile(profile_path)
    cat = load_catalog(split_values(list(catalogs or [])))
    opts = TransferOptions(
        overhead_ms=overhead_ms, compute_efficiency=compute_efficiency,
        memory_efficiency=memory_efficiency, weights_gib=weights_gib,
        input_bytes_per_sample=input_bytes, host_ms_per_sample=host_ms_per_sample,
        gpu_dtype=gpu_dtype,
    )
    result = estimate_profile(
        prof, names(accelerators), cat, flops_per_sample=flops_per_sample, options=opts
    )
    return result.profile, result.warnings


def merge_files(files: Sequence[str], *, name: str | None) -> tuple[Profile, list[str]]:
    """The profiles in ``files`` merged, in order (a later file's point replaces an earlier
    identical one), with the warnings."""
    from scaleplan.profile.merge import merge_profiles
    from scaleplan.profile.model import read_profile

    return merge_profiles([(f, read_profile(f)) for f in files], name=name)
