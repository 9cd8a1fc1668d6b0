"""Numbers as text with a real minus sign (U+2212), as the reports and figures print them."""

from __future__ import annotations

MINUS = "\N{MINUS SIGN}"


def minus(text: str) -> str:
    """`text` (a formatted number) with each hyphen-minus written as a minus sign."""
    return text.replace("-", MINUS)


def number(value, spec: str = "d", plus: bool = False) -> str:
    """`value` formatted by `spec`: '−2.11'; with `plus`, '+4' before a positive value (never '+0')."""
    return minus(format(value, ("+" if plus and value != 0 else "") + spec))


def percent(value: float, decimals: int = 2, plus: bool = False) -> str:
    """A fraction as a percentage: '−18.99%'; with `plus`, '+4.56%' (and '+0.00%')."""
    return minus(format(value, ("+" if plus else "") + f".{decimals}%"))


def window_text(start: int, end: int) -> str:
    """'[0,+4]', '[−1,+1]': a window of event days as the event-study literature writes it."""
    return f"[{number(int(start), plus=True)},{number(int(end), plus=True)}]"
