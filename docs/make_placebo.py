"""Write the placebo table of docs/market.md: `.venv/bin/python docs/make_placebo.py` (about 15 s).

Runs `incident.market.placebo.placebo_table` on the shipped real returns
(data/market-returns/) with the seed and size below, and replaces the lines
between the two markers of docs/market.md. tests/test_placebo.py recomputes
rows of it and checks they are the ones written.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from incident.io.files import atomic_write, read_text
from incident.market.placebo import placebo_table, shipped_returns
from incident.market.study import ADJUSTED, TESTS

HERE = Path(__file__).resolve().parent
DOC = HERE / "market.md"
RETURNS = HERE.parent / "data" / "market-returns"
SEED, STUDIES = 25, 1000
BEGIN = "<!-- placebo table: written by docs/make_placebo.py -->"
END = "<!-- end of the placebo table -->"
COLUMNS = [*TESTS, *ADJUSTED]


def markdown(table: pd.DataFrame) -> str:
    """The table as Markdown: rates in %, one decimal; a rate above the band in bold with ↑, below it with ↓."""
    lines = ["| scenario | window | " + " | ".join(COLUMNS) + " |", "|---|---|" + "---:|" * len(COLUMNS)]
    for (scenario, window), row in table.iterrows():
        cells = []
        for test in COLUMNS:
            text = f"{100 * row[test]:.1f} %"
            if row[test] > row["band high"]:
                text = f"**{text} ↑**"
            elif row[test] < row["band low"]:
                text += " ↓"
            cells.append(text)
        lines.append(f"| {scenario} | {window} | " + " | ".join(cells) + " |")
    first = table.iloc[0]
    lines.append("")
    lines.append(f"{int(first['studies']):,} studies per scenario, seed {SEED}. A test of exact 5 % size rejects in "
                 f"{100 * first['band low']:.1f}–{100 * first['band high']:.1f} % of them with probability 95 % "
                 "(binomial); ↑ above that band, ↓ below it.")
    return "\n".join(lines)


def main() -> None:
    table = placebo_table(shipped_returns(RETURNS), "SPY", studies=STUDIES, seed=SEED)
    text = read_text(DOC, 1 << 20, "docs/market.md")
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    atomic_write(DOC, f"{head}{BEGIN}\n{markdown(table)}\n{END}{tail}")
    print(markdown(table))


if __name__ == "__main__":
    main()
