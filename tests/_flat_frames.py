"""Comparing captures frames in the ``flatten=True`` tests (``test_flat_kept``).

``pandas.testing.assert_frame_equal`` compares a categorical column twice: value by value
(boxing each of them: the frame's categories are Arrow-backed, ~0.09 s per 12,000-row column)
and then as categories and codes. A frame has six categorical columns: over half the cost of a
comparison, more than the flatten it checks. :func:`assert_frame_equal` makes the same checks
and reaches the same verdict without the value-by-value pass: equal categories in the same
order and equal codes are equal values.

>>> assert_frame_equal(first, again)  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

__all__ = ["assert_frame_equal"]


def assert_frame_equal(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """``pandas.testing.assert_frame_equal(left, right)`` (its defaults: dtypes, index,
    columns, values, flags, categories in the same order): a categorical column's dtype,
    categories, ``ordered`` and codes are compared, then everything else by pandas with the
    codes in the categorical columns' places. Frames that differ in shape, columns or where
    their categorical columns are go to pandas as they are (its message says how)."""
    __tracebackhide__ = True
    at = [i for i, dt in enumerate(left.dtypes) if isinstance(dt, pd.CategoricalDtype)]
    if (not at or type(left) is not type(right) or left.shape != right.shape
            or not left.columns.equals(right.columns)
            or [i for i, dt in enumerate(right.dtypes) if isinstance(dt, pd.CategoricalDtype)] != at):
        pd.testing.assert_frame_equal(left, right)
        return
    left, right = left.copy(deep=False), right.copy(deep=False)
    for i in at:
        a, b = left.iloc[:, i], right.iloc[:, i]
        name = f'DataFrame.iloc[:, {i}] (column name="{left.columns[i]}")'
        assert a.dtype == b.dtype, f"{name}: dtype {a.dtype!r} != {b.dtype!r}"
        pd.testing.assert_index_equal(a.cat.categories, b.cat.categories, obj=f"{name} categories")
        assert a.cat.ordered == b.cat.ordered, f"{name}: ordered {a.cat.ordered} != {b.cat.ordered}"
        left.isetitem(i, a.cat.codes)
        right.isetitem(i, b.cat.codes)
    pd.testing.assert_frame_equal(left, right)


def missing_kind(x: object) -> tuple[str] | None:
    """How a frame's cell is missing, told apart: ``("None",)``, ``("NA",)`` (pandas' NA) or
    ``("nan",)``; ``None`` for a value. The flatten tests compare cells by kind and value
    (``test_flat_big_ints``, ``test_flat_long_way_dtypes``).

    >>> missing_kind(None), missing_kind(pd.NA), missing_kind(float("nan")), missing_kind(0)
    (('None',), ('NA',), ('nan',), None)
    """
    if x is None:
        return ("None",)
    if x is pd.NA:
        return ("NA",)
    if isinstance(x, float) and x != x:
        return ("nan",)
    return None
