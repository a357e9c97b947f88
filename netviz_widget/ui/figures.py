"""Bokeh figures for notebooks and reports: curves, effect scatter, heatmaps, bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from netviz_widget.ui.palette import bokeh_palette

PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#999999")


def curves(series: Mapping[str, np.ndarray], title: str, x_label: str, y_label: str,
           bands: Mapping[str, np.ndarray] | None = None, width: int = 460, height: int = 300,
           x: Sequence[float] | None = None):
    """One line per named curve over x ∈ [0, 1] (or the given `x`), optional ±band per curve."""
    from bokeh.models import Band, ColumnDataSource
    from bokeh.plotting import figure

    plot = figure(title=title, width=width, height=height, x_axis_label=x_label,
                  y_axis_label=y_label, toolbar_location=None)
    for color, (name, values) in zip(PALETTE, series.items()):
        values = np.asarray(values, dtype=float)
        positions = np.linspace(0, 1, len(values)) if x is None else np.asarray(x, dtype=float)
        data = {"x": positions, "y": values}
        if bands and name in bands:
            data["lower"] = values - bands[name]
            data["upper"] = values + bands[name]
        source = ColumnDataSource(data)
        plot.line("x", "y", source=source, color=color, line_width=2, legend_label=name)
        if bands and name in bands:
            plot.add_layout(Band(base="x", lower="lower", upper="upper", source=source,
                                 fill_color=color, fill_alpha=0.15, line_alpha=0))
    plot.legend.location = "top_right"
    plot.legend.label_text_font_size = "8pt"
    return plot


def scatter(x: Sequence[float], y: Sequence[float], title: str, x_label: str, y_label: str,
            diagonal: bool = True, width: int = 340, height: int = 300):
    """A scatter plot with an optional y = x line."""
    from bokeh.plotting import figure

    plot = figure(title=title, width=width, height=height, x_axis_label=x_label,
                  y_axis_label=y_label, toolbar_location=None)
    if diagonal and len(x):
        span = float(max(np.abs(x).max(), np.abs(y).max(), 1e-6))
        plot.line([-span, span], [-span, span], color="#bbbbbb", line_dash="dashed")
    plot.scatter(list(map(float, x)), list(map(float, y)), size=6, color=PALETTE[1], alpha=0.8)
    return plot


def heatmap(image: np.ndarray, title: str, size: int = 180):
    """A zero-centred diverging heatmap of a 2-D array (e.g. input attributions)."""
    from bokeh.models import LinearColorMapper
    from bokeh.plotting import figure

    image = np.asarray(image, dtype=float)
    extent = float(np.abs(image).max()) or 1.0
    h, w = image.shape
    plot = figure(title=title, width=size, height=size, x_range=(0, w), y_range=(h, 0),
                  toolbar_location=None, tools="")
    plot.axis.visible = False
    plot.grid.visible = False
    mapper = LinearColorMapper(palette=bokeh_palette(), low=-extent, high=extent)
    plot.image(image=[image[::-1]], x=0, y=h, dw=w, dh=h, color_mapper=mapper)
    return plot


def bars(labels: Sequence[str], values: Sequence[float], title: str, y_label: str,
         errors: Sequence[float] | None = None, width: int = 420, height: int = 280):
    """Vertical bars with optional error whiskers."""
    from bokeh.models import ColumnDataSource, Whisker
    from bokeh.plotting import figure

    labels = [str(label) for label in labels]
    plot = figure(x_range=labels, title=title, width=width, height=height, y_axis_label=y_label,
                  toolbar_location=None)
    data = {"label": labels, "value": [float(v) for v in values]}
    if errors is not None:
        data["lower"] = [float(v - e) for v, e in zip(values, errors)]
        data["upper"] = [float(v + e) for v, e in zip(values, errors)]
    source = ColumnDataSource(data)
    plot.vbar(x="label", top="value", width=0.7, source=source, color=PALETTE[0])
    if errors is not None:
        plot.add_layout(Whisker(base="label", lower="lower", upper="upper", source=source))
    plot.xaxis.major_label_orientation = 0.6
    return plot
