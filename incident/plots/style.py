"""The house style: colours, fonts, source lines, and text the fonts can show.

Every `plot_*` function draws inside `house_style()`, a `rc_context` that
sets the style sheet shipped next to this module and restores the user's
rcParams afterwards. Chinese names are shown only when a CJK font is
installed; otherwise the romanised name stands alone, so a figure never
shows missing-glyph boxes.
"""

from __future__ import annotations

import re
import textwrap
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.axis import Axis, XTick, YTick
from matplotlib.layout_engine import ConstrainedLayoutEngine, LayoutEngine
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import Bbox, ScaledTranslation

from incident.analysis.costs import display_name
from incident.core.model import Incident
from incident.core.text import number

STYLE_FILE = Path(__file__).with_name("incident.mplstyle")
BASE_FONT = "DejaVu Sans"  # ships with matplotlib, so it is always there
CJK_FONTS = (
    "Noto Sans CJK JP", "Noto Sans CJK TC", "Noto Sans CJK SC", "Source Han Sans",
    "WenQuanYi Zen Hei", "Microsoft JhengHei", "Microsoft YaHei", "PingFang TC", "PingFang SC",
    "Hiragino Sans", "SimHei",
)

# Okabe-Ito, by name (the same order as the style sheet's colour cycle)
COLOURS = {
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
    "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000",
    "grey": "#8C8C8C", "ink": "#333333", "faint": "#666666",
}
IMPACT_COLOURS = {
    "major_outage": COLOURS["vermillion"],
    "partial_outage": COLOURS["orange"],
    "degraded_performance": COLOURS["sky"],
    "under_maintenance": COLOURS["purple"],
    "operational": COLOURS["green"],
}
SOURCE_SIZE = 7


# -- fonts ----------------------------------------------------------------------
def cjk_font() -> str | None:
    """The family name of an installed CJK-capable font, or None."""
    return _installed_cjk_font()


@lru_cache(maxsize=None)
def _installed_cjk_font() -> str | None:
    for family in CJK_FONTS:
        try:
            font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        return family
    return None


def font_family() -> list[str]:
    """Fonts in order of use: glyphs missing from the first come from the next."""
    cjk = cjk_font()
    return [BASE_FONT, cjk] if cjk else [BASE_FONT]


@lru_cache(maxsize=None)
def _font_path(family: str) -> str:
    return font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)


@lru_cache(maxsize=None)
def _charmap(family: str) -> frozenset[int]:
    return frozenset(font_manager.get_font(_font_path(family)).get_charmap())


def text_width(text: str, size: float) -> float:
    """About how wide `text` is in the house fonts at `size` points, in points (its widest line).

    The sum of its characters' advances, each looked up once: no renderer,
    no kerning. Within a few per cent of what a renderer measures, for a
    plot that must guess a size before its figure is measured.
    """
    return size * max(sum(_advance(c) for c in line) for line in text.split("\n"))


@lru_cache(maxsize=None)
def _advance(char: str) -> float:
    """A character's advance in ems, from the first house font that has it (an em where none has)."""
    for family in font_family():
        if ord(char) in _charmap(family):
            font = font_manager.get_font(_font_path(family))
            font.set_size(100, 72)
            return font.load_char(ord(char)).linearHoriAdvance / 65536 / 100  # 16.16 fixed point, unhinted
    return 1.0


def can_render(text: str) -> bool:
    """Whether the house fonts have a glyph for every character of `text`."""
    covered = [_charmap(f) for f in font_family()]
    return all(c.isspace() or any(ord(c) in cm for cm in covered) for c in text)


_DROPPED: list[str] = []  # texts drawn without some of their characters, since `dropped_glyphs()` last asked


def dropped_glyphs() -> list[str]:
    """The texts drawn without some of their characters since the last call (then forgotten).

    A report shows a note under a figure that lost glyphs, naming the font to install.
    """
    found = list(dict.fromkeys(_DROPPED))
    _DROPPED.clear()
    return found


def dropped_glyphs_note() -> str:
    """What a reader is told when a figure dropped characters."""
    return ("Some names in this figure are shown without their characters in Chinese (or another script): no font "
            "with those glyphs, such as Noto Sans CJK (Debian: fonts-noto-cjk), was installed where it was drawn.")


def renderable(text: str) -> str:
    """`text` without the characters no house font can draw (and brackets left empty)."""
    if can_render(text):
        return text
    _DROPPED.append(text)
    covered = [_charmap(f) for f in font_family()]
    kept = "".join(c if c.isspace() or any(ord(c) in cm for cm in covered) else "\0" for c in text)
    kept = re.sub(r"\(\s*[\0\s/,;:、]*\)|\0+", "", kept)
    return re.sub(r"\s{2,}", " ", kept).strip()


def person_label(romanised: str, original: str | None = None) -> str:
    """'Sun Taoyong (孫濤勇)' when a font can show the original, else 'Sun Taoyong'."""
    if not isinstance(original, str) or not original:  # None, '' (or a table's NaN): nothing to show
        return display_name(romanised, None)
    shown = bool(cjk_font()) and can_render(original)
    if not shown:
        _DROPPED.append(original)
    return display_name(romanised, original if shown else None)


# -- the style ------------------------------------------------------------------
@lru_cache(maxsize=None)
def _sheet() -> dict:
    return dict(mpl.rc_params_from_file(STYLE_FILE, use_default_template=False))


_DRAWN: list[list] = []  # per open `house_style()` block, the Axes `axes_for` gave out in it


@contextmanager
def house_style() -> Iterator[None]:
    """Use the house style inside the block; the user's rcParams come back after.

    An Axes that `axes_for` gave out inside the block is laid out when the
    block ends (see `lay_out`): the plot is complete then, and saving it
    need not lay it out again.
    """
    drawn: list = []
    _DRAWN.append(drawn)
    try:
        with mpl.rc_context(rc={**_sheet(), "font.family": font_family()}):
            try:
                yield
                for ax in dict.fromkeys(drawn):
                    lay_out(ax)
            finally:
                interactive = mpl.is_interactive()
    finally:
        _DRAWN.pop()  # this block's: blocks end in the reverse order they began
    # Interactive mode is the session's, not the style's: Jupyter's inline
    # backend turns it on when the first figure loads it, maybe inside the block.
    mpl.interactive(interactive)


class HouseLayout(LayoutEngine):
    """Room around a figure's one Axes for what is drawn outside it, from one measurement.

    Constrained layout measures every text around the Axes several times per
    draw, which is most of the time a figure takes; one Axes with its titles,
    tick labels, legend and source line needs its box measured once. A
    figure of several Axes is laid out by constrained layout.

    The layout is remembered: a figure drawn again (saved, say) at the same
    size, nothing in its Axes changed since, keeps its positions without
    measuring anything again. Positions are fractions of a size in inches,
    so they hold at any dpi. A change to anything the Axes holds (a text, a
    tick, the legend, a limit) marks that artist stale, matplotlib's own
    sign that it must be drawn again, and the next draw lays it out anew.
    """

    _adjust_compatible = False
    _colorbar_gridspec = False

    def __init__(self, pad: float = 4 / 72):
        super().__init__()
        self._pad = pad  # inches between the drawing and the figure's edge
        self._laid_out: tuple | None = None  # what the last layout was for, while it holds
        # inches left, right, below and above the Axes, as last measured
        self._margins: tuple[float, ...] | None = None

    def execute(self, fig) -> None:
        ax = self.axes_of(fig)
        if ax is None:
            self._laid_out = self._margins = None
            ConstrainedLayoutEngine().execute(fig)
            return
        artists = _artists(ax)
        if self._laid_out == _layout_state(ax, artists) and not any(a.stale for a in artists):
            return
        drawn = ax.get_tightbbox(fig._get_renderer(), for_layout_only=True)
        if drawn is None:
            return
        box, pad = ax.bbox, self._pad * fig.dpi
        margins = (box.x0 - drawn.x0 + pad, drawn.x1 - box.x1 + pad, box.y0 - drawn.y0 + pad, drawn.y1 - box.y1 + pad)
        self._margins = tuple(m / fig.dpi for m in margins)
        self._place(fig, ax, self._margins)

    def keep(self, fig) -> None:
        """Place the Axes with the room the last layout measured, at the figure's size now, measuring nothing.

        For a plot that since moved things only inside its Axes, or changed
        the figure's height: the room around the Axes is the same in inches.
        """
        ax = self.axes_of(fig)
        if ax is not None and self._margins is not None and self._laid_out and self._laid_out[0] is ax:
            self._place(fig, ax, self._margins)

    def _place(self, fig, ax, margins: tuple[float, ...]) -> None:
        (width, height), (left, right, bottom, top) = fig.get_size_inches(), margins
        if left + right < width and bottom + top < height:  # else the figure is too small for its texts
            ax.set_position([left / width, bottom / height, 1 - (left + right) / width, 1 - (bottom + top) / height])
            ax.set_in_layout(True)  # `set_position` takes it out of the layout: it is this layout's work
        # Measuring marks ticks and annotations stale (they place themselves anew); the layout
        # holds for them as they are now, so from here on only a change marks one stale.
        artists = _artists(ax)
        for artist in artists:
            artist.stale = False
        self._laid_out = _layout_state(ax, artists)

    @staticmethod
    def axes_of(fig):
        """The one Axes this layout places in `fig`, or None (several: constrained layout's work)."""
        axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_in_layout()]
        return axes[0] if len(axes) == 1 and not fig.subfigs else None


def _artists(ax) -> list:
    """Everything `ax` draws, ticks made so far included (as `_texts`, without making ticks).

    The Axes itself is left out: each draw marks it stale before the layout
    runs (`apply_aspect` sets its position again), whether or not anything changed.
    """
    found, todo = [], list(ax.get_children())
    while todo:
        artist = todo.pop()
        found.append(artist)
        if isinstance(artist, Axis):
            todo += [artist.label, artist.offsetText, *artist.majorTicks, *artist.minorTicks]
        else:
            todo += artist.get_children()
    return found


def _layout_state(ax, artists: list) -> tuple:
    """What a layout of `ax` holds for besides its artists' own state: the figure's size, the Axes'
    position and how many artists it has (removing one marks none stale)."""
    return ax, tuple(ax.get_position().bounds), tuple(_root(ax.figure).get_size_inches()), len(artists)


def lay_out(ax) -> None:
    """Lay out `ax`'s figure now, if `HouseLayout` places `ax` in it; else leave it to the figure's next draw.

    Every plot function ends with this (see `house_style`), once what it draws
    is complete: the figure is then saved, or drawn, without laying it out
    again. Measured with the figure's canvas at its size, so the texts'
    sizes stay known to that canvas for whatever measures them next.
    """
    fig = _root(ax.figure)
    engine = fig.get_layout_engine()
    if isinstance(engine, HouseLayout) and engine.axes_of(fig) is ax:
        engine.execute(fig)


def keep_layout(ax) -> None:
    """Keep the room the house layout last measured around `ax`, for the figure's size now (see `HouseLayout.keep`).

    A plot that moved things only inside its Axes since calls this instead
    of having the figure measured again; any other layout is left as it is.
    """
    fig = _root(ax.figure)
    engine = fig.get_layout_engine()
    if isinstance(engine, HouseLayout):
        engine.keep(fig)


def _root(fig):
    """The top-level Figure (an Axes may sit in a SubFigure)."""
    while getattr(fig, "_parent", None) is not None:
        fig = fig._parent
    return fig


def axes_for(ax, size: tuple[float, float]):
    """`ax` (given the house fonts and ticks), or the Axes of a new figure of `size` inches.

    Inside `house_style()`, the Axes is laid out when the block ends.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=size, layout=HouseLayout())
    house_axes(ax)
    if _DRAWN:
        _DRAWN[-1].append(ax)
    return ax


def house_axes(ax) -> None:
    """Give `ax` the house fonts, tick labels, grid and spines, ticks made later included.

    Call inside `house_style()`. An Axes made outside it (a user's grid) keeps
    the fonts of its creation for its titles and ticks; without this, a
    Chinese name there would show as boxes.
    """
    rc = mpl.rcParams
    family = font_family()
    ax.tick_params(which="both", labelfontfamily=family, color=rc["xtick.color"],
                   grid_color=rc["grid.color"], grid_linewidth=rc["grid.linewidth"])
    ax.tick_params(axis="x", labelsize=rc["xtick.labelsize"], labelcolor=rc["xtick.labelcolor"])
    ax.tick_params(axis="y", labelsize=rc["ytick.labelsize"], labelcolor=rc["ytick.labelcolor"])
    ax.set_axisbelow(rc["axes.axisbelow"])
    for label in (ax.xaxis.label, ax.yaxis.label):
        label.set_fontsize(rc["axes.labelsize"])
        label.set_color(rc["axes.labelcolor"])
    shown = {"left": rc["axes.spines.left"], "right": rc["axes.spines.right"],
             "bottom": rc["axes.spines.bottom"], "top": rc["axes.spines.top"]}
    for side, spine in ax.spines.items():
        spine.set_edgecolor(rc["axes.edgecolor"])
        if not shown.get(side, True):  # a spine the style does not name (a polar Axes' 'polar') stays
            spine.set_visible(False)
    for text in _texts(ax):
        text.set_fontfamily(family)
    literal_text(ax)


def _texts(ax) -> list[Text]:
    """The texts of `ax`, tick labels made so far included.

    `ax.findobj` would ask each axis for its ticks, which runs the locators
    and makes every tick for the current limits: a fifth of a small
    figure's time, for ticks that the plot's own limits replace.
    """
    found: list[Text] = []
    for child in ax.get_children():
        if isinstance(child, Axis):
            found += [child.label, child.offsetText]
            found += [label for tick in (*child.majorTicks, *child.minorTicks) for label in (tick.label1, tick.label2)]
        else:
            found += child.findobj(Text)
    return found


def literal_text(ax) -> None:
    """Draw every text of `ax` as written: `$5 and $6` is money, not mathtext.

    The style sheet's `text.parse_math: False` reaches only text made inside
    `house_style()`. Tick labels are made later, when the figure is drawn
    (often after the block, with the user's rcParams), and an Axes made
    outside the block carries its title and first ticks from then. So every
    text of the Axes is set here, and the Axes' x and y axes make their
    future ticks with literal labels. The user's other Axes are left alone.
    """
    for text in _texts(ax):
        text.set_parse_math(False)
    for axis in (ax.xaxis, ax.yaxis):
        base = getattr(axis, "_tick_class", None)  # matplotlib >= 3.7 makes ticks from this class
        if base is not None and base in _LITERAL_TICKS:
            axis._tick_class = _LITERAL_TICKS[base]


def _literal_tick(base):
    class LiteralTick(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.label1.set_parse_math(False)
            self.label2.set_parse_math(False)

    LiteralTick.__name__ = f"Literal{base.__name__}"
    return LiteralTick


_LITERAL_TICKS = {base: _literal_tick(base) for base in (XTick, YTick)}


# The title's height, given rather than searched for: nothing of ours is drawn above an Axes (no
# ticks or offset text there), and the search measures the y axis again on every draw.
TITLE_Y = 1.0


def subtitle(ax, title: str, text: str | None = None) -> None:
    """A bold title and, under it, one or more lines of explanation."""
    lines = text.count("\n") + 1 if text else 0
    ax.set_title(title, loc="left", pad=8 + lines * 11, y=TITLE_Y)
    if text:
        ax.annotate(
            text, xy=(0, 1), xycoords="axes fraction", xytext=(0, 6), textcoords="offset points",
            ha="left", va="bottom", fontsize=8.5, color=COLOURS["ink"], gid="subtitle",
        )


def thousands(axis, scale: float = 1.0, decimals: int = 0) -> None:
    """Tick labels with thousands separators (values divided by `scale`)."""
    axis.set_major_formatter(FuncFormatter(lambda x, _: number(x / scale, f",.{decimals}f")))


def millions(value: float) -> str:
    """35000000 -> '35', 2500000 -> '2.5' (in millions)."""
    return f"{value / 1e6:,.1f}".removesuffix(".0")


# -- sources ----------------------------------------------------------------------
def sources_text(inc_or_ids: Incident | Iterable[str] | str, ids: Iterable[str] | None = None) -> str:
    """'Sources: S1 Finet, 2020-03-03 · S7 ...' for an incident's sources, or the given names."""
    if isinstance(inc_or_ids, str):
        return inc_or_ids
    if isinstance(inc_or_ids, Incident):
        inc = inc_or_ids
        order = [s.id for s in inc.sources]
        wanted = order if ids is None else sorted(set(ids), key=lambda i: (order.index(i) if i in order else len(order), i))
        parts = []
        for sid in wanted:
            s = inc.sources_by_id.get(sid)
            parts.append(f"{sid} {renderable(s.publisher)}, {s.date}" if s else sid)
    else:
        parts = list(dict.fromkeys(inc_or_ids))
    return ("Source: " if len(parts) == 1 else "Sources: ") + " · ".join(parts)


def source_line(ax, inc_or_ids, ids: Iterable[str] | None = None, under: Iterable = (), pinned: bool = False):
    """Write the sources in small type under the Axes, its x labels and the artists `under`; return the text.

    The line follows them at each draw. `pinned` measures once, now, how far
    under the Axes they end and keeps the line there: for a plot that hangs
    them at depths of its own (a legend at a fixed depth under the x labels),
    where measuring them again at each draw would find the same depth.
    """
    text = sources_text(inc_or_ids, ids)
    width_pt = ax.get_position().width * ax.figure.get_figwidth() * 72
    chars = max(40, int(width_pt / (SOURCE_SIZE * 0.56)))
    text = "\n".join(textwrap.wrap(text, chars, break_on_hyphens=False))
    above = list(under)

    def below_everything(renderer):
        # The x label sits under the tick labels once the axis is placed (the axis is drawn, or
        # measured for the layout, before the texts on the Axes), so its box alone says where
        # the axis ends: measuring every tick label again each time this text moves is slow.
        label = ax.xaxis.label
        axis = label.get_window_extent(renderer) if label.get_visible() else ax.xaxis.get_tightbbox(renderer)
        boxes = [ax.bbox, axis, *(a.get_window_extent(renderer) for a in above)]
        return Bbox.union([b for b in boxes if b is not None])

    if pinned:
        root = _root(ax.figure)
        renderer = root._get_renderer()
        boxes = [ax.bbox, ax.xaxis.get_tightbbox(renderer), *(a.get_window_extent(renderer) for a in above)]
        depth = (ax.bbox.y0 - Bbox.union([b for b in boxes if b is not None]).y0) / root.dpi
        where = ax.transAxes + ScaledTranslation(0, -depth, root.dpi_scale_trans)
    else:
        where = ("axes fraction", below_everything)
    return ax.annotate(
        text, xy=(0, 0), xycoords=where, xytext=(0, -5), textcoords="offset points",
        ha="left", va="top", fontsize=SOURCE_SIZE, color=COLOURS["faint"], gid="source-line",
    )
