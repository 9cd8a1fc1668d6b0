"""Regenerate the README's figures: `.venv/bin/python docs/make_figures.py`.

Writes docs/img/<name>.png at 150 dpi from the Weimob case, each made by the
same one-line call the README shows.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import incident  # noqa: E402
from incident.plots import plot_compensation, plot_financials, plot_market, plot_provision, plot_timeline  # noqa: E402

HERE = Path(__file__).resolve().parent
FIGURES = {
    "timeline": plot_timeline,
    "provision": plot_provision,
    "compensation": plot_compensation,
    "market": plot_market,
    "financials": plot_financials,
}


def main(out: Path = HERE / "img") -> None:
    inc = incident.load(HERE.parent / "data" / "weimob-2020")
    out.mkdir(parents=True, exist_ok=True)
    for name, plot in FIGURES.items():
        ax = plot(inc)
        path = out / f"{name}.png"
        ax.figure.savefig(path, dpi=150, bbox_inches="tight", metadata={"Software": None})
        plt.close(ax.figure)
        print(f"{path.relative_to(HERE.parent)}: {path.stat().st_size / 1024:.0f} kB")


if __name__ == "__main__":
    main()
