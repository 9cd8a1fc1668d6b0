"""Who pays what: the provision as a waterfall, the cash scheme as a heatmap."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm, Normalize
from matplotlib.patches import Rectangle

from incident.analysis.costs import cash_example, provision_table, sensitivity_table, traffic_table
from incident.core.model import Incident
from incident.analysis.timeline import compensated_window, window_note
from incident.plots.style import COLOURS, axes_for, house_style, millions, person_label, renderable, source_line, subtitle, thousands


def plot_provision(inc_or_table: Incident | pd.DataFrame, *, ax=None):
    """The provision as a horizontal waterfall: the remainder, each named party, the total.

    Takes an incident or its `provision_table`; bar widths are the amounts,
    labelled in millions with their share of the total.
    """
    inc: Incident | None
    if isinstance(inc_or_table, Incident):
        inc, table = inc_or_table, provision_table(inc_or_table)
    else:
        inc, table = None, inc_or_table
    total, currency = table.attrs.get("total", table["amount"].sum()), table.attrs.get("currency", "")
    parts = pd.concat([table[table["kind"] == "remainder"], table[table["kind"] == "named"]], ignore_index=True)
    with house_style():
        ax = axes_for(ax, (9, 1.4 + 0.55 * (len(parts) + 1)))
        left = 0.0
        labels = []
        for y, part in parts.iterrows():
            colour = COLOURS["blue"] if part["kind"] == "remainder" else COLOURS["orange"]
            ax.barh(y, part["amount"], left=left, height=0.62, color=colour, gid=f"provision:{part['party']}")
            _amount_label(ax, left + part["amount"], y, part["amount"], part["share"])
            labels.append(_party_label(part))
            left += part["amount"]
        y_total = len(parts)
        ax.barh(y_total, total, height=0.62, color=COLOURS["grey"], gid="provision:total")
        _amount_label(ax, total, y_total, total, 1.0)
        labels.append("Total provision")
        named = parts[parts["kind"] == "named"]
        if len(named) > 1:
            _bracket(ax, named.index.min(), named.index.max(), total * 1.17,
                     f"{len(named)} named parties:\n{millions(named['amount'].sum())} M "
                     f"({named['share'].sum():.1%})")
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.tick_params(axis="y", length=0)
        ax.set_xlim(0, total * 1.5)
        thousands(ax.xaxis, scale=1e6)
        ax.set_xlabel(f"{currency} million".strip())
        ax.grid(axis="x")
        ax.spines["left"].set_visible(False)
        subtitle(ax, f"Who bears the {currency} {millions(total)} M provision".replace("  ", " "),
                 "Each bar starts where the one above ends; the grey bar is the total.")
        if inc is not None:
            prov = inc.provision
            assert prov is not None  # provision_table raised ValueError above for an incident without one
            ids = [*prov.sources, *prov.remainder_sources, *(s for p in prov.parties for s in p.sources)]
            source_line(ax, inc, ids)
        else:
            source_line(ax, sorted({s.strip() for cell in table["sources"] for s in str(cell).split(",")}))
    return ax


def _party_label(part) -> str:
    name = person_label(part["party"], part["name_original"])
    role = part["role"]
    if isinstance(role, str) and role:
        return f"{name}\n{textwrap.shorten(role.split(';')[0], 40, placeholder='…')}"
    return name


def _amount_label(ax, x: float, y: float, amount: float, share: float) -> None:
    ax.annotate(f"{millions(amount)} M ({share:.1%})", xy=(x, y), xytext=(4, 0), textcoords="offset points",
                ha="left", va="center", fontsize=8.5, color=COLOURS["ink"])


def _bracket(ax, y0: float, y1: float, x: float, text: str) -> None:
    ax.plot([x - 0.01 * x, x, x, x - 0.01 * x], [y0 - 0.3, y0 - 0.3, y1 + 0.3, y1 + 0.3], color=COLOURS["ink"], lw=0.9)
    ax.annotate(text, xy=(x, (y0 + y1) / 2), xytext=(5, 0), textcoords="offset points", ha="left", va="center",
                fontsize=8.5, color=COLOURS["ink"])


def plot_compensation(inc: Incident, *, ax=None):
    """The cash scheme's compensation over daily revenue × margin, with the traffic scheme beside it.

    Cells are the library's `sensitivity_table` for the compensated window,
    its hours computed from its times (and said to be planned when its end
    was only planned).
    """
    table = sensitivity_table(inc)
    comp = inc.compensation
    cash = comp.cash if comp else None
    assert comp is not None and cash is not None  # sensitivity_table raised ValueError above without a cash scheme
    start, end, hours = compensated_window(inc)
    traffic = traffic_table(inc)
    with house_style():
        ax = axes_for(ax, (10, 5.6))
        values = table.to_numpy(dtype=float)
        positive = values[values > 0]
        norm = LogNorm(positive.min(), positive.max()) if positive.size and positive.min() < positive.max() else Normalize()
        image = ax.imshow(values, origin="lower", aspect="auto", cmap="cividis", norm=norm, gid="sensitivity")
        for (i, j), v in np.ndenumerate(values):
            ax.text(j, i, f"{v:,.0f}", ha="center", va="center", fontsize=8,
                    color=_ink_on(image.cmap(norm(v)) if v > 0 else (1, 1, 1, 1)))
        if _mark_example(ax, table, cash):
            example = cash_example(inc)["amount"]
            ax.annotate(f"Outlined: the worked example,\n{cash.example_daily_revenue:,.0f} a day at "
                        f"{cash.example_margin:.0%}: {example:,.0f}", xy=(1, 0), xycoords="axes fraction",
                        xytext=(14, 0), textcoords="offset points", ha="left", va="bottom", fontsize=8.5,
                        color=COLOURS["vermillion"])
        ax.set_xticks(range(table.shape[1]), [f"{m:.0%}" for m in table.columns])
        ax.set_yticks(range(table.shape[0]), [f"{r:,.0f}" for r in table.index])
        ax.set_xlabel("Industry-average marginal contribution margin")
        ax.set_ylabel(f"Merchant's average daily revenue ({cash.currency})")
        ax.tick_params(length=0)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        # the window on a line of its own: with its note it is too long to share one with the formula
        note = (f"Average daily revenue × margin × {hours:,.0f} h / 24\nWindow {start.label()} → {end.label()}"
                f"{window_note(inc)}")
        subtitle(ax, f"Cash scheme: compensation per merchant ({cash.currency})", note)
        ids = list(cash.sources)
        if comp.traffic is not None and len(traffic):  # traffic_table has rows only from a traffic scheme
            _traffic_box(ax, traffic)
            ids += comp.traffic.sources
        source_line(ax, inc, ids)
    return ax


def _mark_example(ax, table: pd.DataFrame, cash) -> bool:
    """Outline the worked example's cell when it is on the grid."""
    if cash.example_daily_revenue is None or cash.example_margin is None:
        return False
    rows = np.flatnonzero(np.isclose(table.index.to_numpy(dtype=float), cash.example_daily_revenue))
    cols = np.flatnonzero(np.isclose(table.columns.to_numpy(dtype=float), cash.example_margin))
    if len(rows) and len(cols):
        ax.add_patch(Rectangle((cols[0] - 0.5, rows[0] - 0.5), 1, 1, fill=False, edgecolor=COLOURS["vermillion"],
                               linewidth=2, gid="worked-example"))
        return True
    return False


def _traffic_box(ax, traffic: pd.DataFrame) -> None:
    lines = ["Or, instead of cash,", "the traffic scheme:"]
    for _, row in traffic.iterrows():
        item = renderable(row["item"])
        amount = "" if pd.isna(row["quantity"]) else f"{row['quantity']:,.0f} {row['unit'] or ''}".strip() + ": "
        lines += textwrap.wrap(f"• {amount}{item}", 30, subsequent_indent="   ")
    ax.annotate("\n".join(lines), xy=(1, 1), xycoords="axes fraction", xytext=(14, 0), textcoords="offset points",
                ha="left", va="top", fontsize=8.5, color=COLOURS["ink"], linespacing=1.5, gid="traffic-scheme",
                bbox=dict(boxstyle="round,pad=0.6", facecolor="#F4F4F4", edgecolor="none"))


def _ink_on(rgba) -> str:
    """Black or white, whichever reads better on the colour `rgba`."""
    r, g, b = rgba[:3]
    return "black" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "white"
