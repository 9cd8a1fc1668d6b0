"""What the report notebooks' cells call to show something: a postmortem section, a title block, a table, a figure.

The three reports (postmortem, market study, history) show everything the
same way, through these: HTML only from the autoescaped templates, figures
only as SVG bundles with alternative text. Kept here rather than defined in
each notebook so that tests and the layer check see them and a cell is one
call. Each displays its output in the running kernel and returns nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from IPython.display import HTML, display
from markupsafe import Markup

from incident.core.model import Incident
from incident.report import fragments, postmortem

__all__ = ["show", "show_section", "show_title", "show_table", "show_figure"]


def show(fragment) -> None:
    """Display a piece of HTML made by a template (nothing when it is empty)."""
    if fragment:
        display(HTML(fragment))


def show_section(key: str, inc: Incident) -> None:
    """Display section `key` of the incident's postmortem ('title', 'summary', ...), if the incident has it."""
    show(postmortem.section(key, inc))


def show_title(view: dict) -> None:
    """Display a study's or a history's title block from its view (kicker, title, meta, contents)."""
    show(fragments.title_block(**view))


def show_table(frame: pd.DataFrame, columns: Mapping[str, tuple[str, str]]) -> None:
    """Display `frame`'s `columns` (name → (label, format)) through the one table template."""
    show(fragments.table(frame, columns))


def show_figure(plot, *args, width: float = 9.0, height: float | None = 3.6, alt: str | None = None, **kwargs) -> None:
    """Draw one library figure and display it as SVG with alternative text (`alt`, else the figure's title).

    The figure is drawn on a fresh Axes of `width` × `height` inches, or
    (height=None) at the size the plot picks for itself; it is closed once
    shown. A name drawn without its Chinese characters is said in a note.
    """
    import matplotlib.pyplot as plt

    from incident.plots import HouseLayout
    from incident.plots.style import dropped_glyphs, dropped_glyphs_note

    if height is None:
        fig = plot(*args, **kwargs).figure
    else:
        fig, ax = plt.subplots(figsize=(width, height), layout=HouseLayout())
        plot(*args, ax=ax, **kwargs)
    data, metadata = postmortem.figure_bundle(fig, alt=alt)
    plt.close(fig)
    display(data, raw=True, metadata=metadata)
    if dropped_glyphs():  # names drawn without their Chinese characters: say why
        show(Markup('<p class="note">{}</p>').format(dropped_glyphs_note()))
