"""Numbers as text with a real minus sign (U+2212), as the reports and figures print them.

Never in scientific notation: a reader compares '0.00514' with '0.0967' at a
glance, not '5.14e-03' with '9.67e-02'.
"""

from __future__ import annotations

MINUS = "\N{MINUS SIGN}"
MISSING = "—"  # a value the data do not give (an em dash, never 'nan')
SMALLEST_P = 0.001  # p-values below it are written '< 0.001': more digits claim a precision no test has


def minus(text: str) -> str:
    """`text` (a formatted number) with each hyphen-minus written as a minus sign."""
    return text.replace("-", MINUS)


def number(value, spec: str = "d", plus: bool = False) -> str:
    """`value` formatted by `spec`: '−2.11'; with `plus`, '+4' before a positive value (never '+0')."""
    return minus(format(value, ("+" if plus and value != 0 else "") + spec))


def count(value) -> str:
    """A whole number with thousands separators: '1,175'."""
    return number(int(value), ",d")


def percent(value: float, decimals: int = 2, plus: bool = False) -> str:
    """A fraction as a percentage: '−18.99%'; with `plus`, '+4.56%' (and '+0.00%')."""
    return minus(format(value, ("+" if plus else "") + f".{decimals}%"))


def p_value(p: float) -> str:
    """A p-value: '< 0.001' below 0.001, else three significant digits ('0.0967', '0.322', '1.00'); '—' for none."""
    if is_missing(p):
        return MISSING
    if p < SMALLEST_P:
        return f"< {SMALLEST_P}"
    return format(p, "#.3g")  # between 0.001 and 1 '#.3g' is never scientific; '#' keeps '0.0740' three digits


def is_missing(value) -> bool:
    """None, NaN, NaT or pandas' NA: a value the data do not give."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and NaT are the values not equal to themselves
    except TypeError:  # pandas' NA, whose truth is unknown
        return True


def window_text(start: int, end: int) -> str:
    """'[0,+4]', '[−1,+1]': a window of event days as the event-study literature writes it."""
    return f"[{number(int(start), plus=True)},{number(int(end), plus=True)}]"
