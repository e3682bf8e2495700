"""Rounding for people: half up, as a Chinese (or any) reader expects, never half to even.

Python's ``round`` and ``format`` round half to even, on the float's binary value: ``40.25``
shows as ``40.2`` and ``2.675`` as ``2.67``. Every figure a person reads (a score, a share, a
Chinese text such as "40.3 分") goes through ``round_half_up`` instead.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext


def round_half_up(value, places: int = 0) -> Decimal:
    """``value`` rounded half away from zero to ``places`` decimal places, as a ``Decimal``.

    ``value`` may be a ``Decimal``, an ``int``, a ``float`` or the text of a number. A float is
    taken as the shortest text that reads back as it (``repr``), i.e. as the number a person
    wrote: 40.25 → 40.3, 2.675 → 2.68 (its binary value is a little below 2.675). Negative
    numbers mirror positive ones (−40.25 → −40.3). ``str()`` of the result keeps exactly
    ``places`` decimals ("80.0"). Raises ``ValueError`` for a value that is not a finite number
    and for negative ``places``.
    """
    if isinstance(places, bool) or not isinstance(places, int) or places < 0:
        raise ValueError(f"places must be a whole number ≥ 0, not {places!r}")
    if isinstance(value, bool):
        raise ValueError("a boolean is not a number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float)
                                                                  else str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValueError(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    with localcontext() as ctx:
        # enough digits for any magnitude: the default 28 would refuse to quantize 1e30 to 0.01
        ctx.prec = max(28, number.adjusted() + places + 2)
        return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
