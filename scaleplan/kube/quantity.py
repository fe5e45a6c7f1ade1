"""Reading a Kubernetes quantity (``resource.Quantity``: ``23183Mi``, ``3220m``, ``4``, ``1e3``)
the way the API server does: one parser for ``check`` (a request above its limit, a volume
smaller than the model) and ``render``'s replay of the autoscalers it wrote (their targets).
Pure; Decimal, not float, so ``1Gi`` is exactly ``1024Mi`` and ``1`` exactly ``1000m``.
"""

from __future__ import annotations

import re
from decimal import Decimal

# a signed decimal number, then a binary (Ki..Ei) or decimal (n..E) suffix or a decimal
# exponent (1e3); what the API server parses, exactly
_QUANTITY = re.compile(
    r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d{1,3})?$"
)
_SUFFIX = {
    **{s: Decimal(1024) ** (i + 1) for i, s in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{
        s: Decimal(10) ** e
        for s, e in zip("numkMGTPE", (-9, -6, -3, 3, 6, 9, 12, 15, 18), strict=True)
    },
}
GIB = Decimal(1024) ** 3


def quantity(v: object) -> Decimal | None:
    """A Kubernetes quantity ('23183Mi', '3220m', 4, '1e3') as a Decimal; None when unreadable
    (not a quantity, a bool, None)."""
    if isinstance(v, bool) or v is None:
        return None
    m = _QUANTITY.match(str(v).strip())
    if not m:
        return None
    unit = m.group(2) or ""
    # a suffix (Ei and E are suffixes, 1E3 an exponent; until 2026-12-07 "1Ei" was read as an
    # exponent and raised), else an exponent, else none
    scale = _SUFFIX[unit] if unit in _SUFFIX else Decimal(10) ** int(unit[1:]) if unit else 1
    return Decimal(m.group(1)) * scale
