"""Plotly figures of the pages, built in Python and handed to the template as JSON (plotly.js draws them)."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import numpy as np
import plotly.graph_objects as go
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

# Okabe-Ito: distinguishable with every common colour-vision deficiency (black last, for "other").
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
PART_COLOURS = {
    "direct": "#0072B2",
    "workload": "#0072B2",
    "pods": "#0072B2",
    "shared": "#56B4E9",
    "idle": "#E69F00",
    "idle_part": "#E69F00",
    "gpu_idle": "#D55E00",
    "overhead": "#CC79A7",
}
DAY_MS = 86_400_000
# The legend's names, in the page's language (str() of each when a figure is built: Plotly wants text).
PART_NAMES = {
    "direct": _("Direct"),
    "shared": _("Shared namespaces"),
    "idle": _("Idle"),
    "gpu_idle": _("Idle GPU"),
    "overhead": _("Overhead"),
    "workload": _("Workloads"),
    "pods": _("Paid by pods"),
    "idle_part": _("Idle"),
}
# The dashed lines of a usage histogram (reports/views_recommendations.py names them by these keys).
MARK_NAMES = {"request": _("request"), "advice": _("advice")}


def _layout(
    fig: go.Figure, *, currency: str, height: int = 320, y_title: str | None = None, **extra
) -> go.Figure:
    layout = {
        "template": "none",  # the page's own style; the default template alone would add 8 kB per chart
        "height": height,
        "margin": {"l": 60, "r": 16, "t": 16, "b": 40},
        "barmode": "stack",
        "colorway": OKABE_ITO,
        "font": {"family": "system-ui, sans-serif", "size": 13},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "legend": {"orientation": "h", "y": -0.18},
        "hovermode": "x unified",
        "yaxis": {"title": {"text": y_title or currency}, "gridcolor": "#e5e7eb", "tickformat": ",.2f"},
    }
    layout.update(extra)
    fig.update_layout(**layout)
    return fig


def to_json(fig: go.Figure) -> str:
    """The figure as JSON that is safe inside <script type="application/json"> (no "<", ">" or "&")."""
    text = fig.to_json(engine="json")
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def daily_by(
    rows: list[dict],
    *,
    key: str,
    value: str,
    days: list,
    currency: str,
    colours=None,
    monthly: bool = False,
) -> str:
    """Stacked bars of `value` per day (per month with `monthly`), one trace per `key` (cluster,
    department, ...). `colours`: name -> colour, so that a name keeps its colour across a page's charts."""
    series: dict[str, dict] = defaultdict(dict)
    for row in rows:
        slot = row["day"].replace(day=1) if monthly else row["day"]
        series[row[key]][slot] = series[row[key]].get(slot, 0.0) + float(row[value])
    slots = sorted({d.replace(day=1) for d in days}) if monthly else days
    fig = go.Figure()
    # numpy arrays: plotly validates them in one step instead of element by element.
    x = np.array([d.isoformat() for d in slots])
    colours = colours or colour_map(series)
    for name in sorted(series):
        values = series[name]
        bar = {"xperiod": "M1", "xperiodalignment": "middle"} if monthly else {"width": DAY_MS * 0.8}
        fig.add_trace(
            go.Bar(
                name=str(name),
                x=x,
                y=np.array([values.get(d, 0.0) for d in slots], dtype=float),
                marker_color=colours.get(name, OKABE_ITO[-1]),
                hovertemplate="%{y:,.2f}",
                # A day wide (a month with `monthly`): plotly would guess from the spacing, and one bar has none.
                **bar,
            )
        )
    axis = {"type": "date", "dtick": "M1", "tickformat": "%Y-%m"} if monthly else date_axis(days)
    _layout(fig, currency=currency, xaxis=axis, showlegend=True)
    return to_json(fig)


def colour_map(names) -> dict:
    """One colour per name, by its sorted position: give every chart of a page the same map (built from
    all of the page's names) and a department has one colour across them."""
    return {name: OKABE_ITO[i % (len(OKABE_ITO) - 1)] for i, name in enumerate(sorted(names))}


def date_axis(days: list) -> dict:
    """A day axis whose ticks are whole days (or months over a long period), never hours."""
    if len(days) > 92:
        return {"type": "date", "dtick": "M1", "tickformat": "%Y-%m"}
    step = max(1, len(days) // 12)
    axis = {"type": "date", "dtick": DAY_MS * step, "tickformat": "%Y-%m-%d"}
    if len(days) == 1:
        # One bar: show its day, not the milliseconds around it.
        before = days[0] - timedelta(days=1)
        axis["range"] = [f"{before.isoformat()} 12:00", f"{days[0].isoformat()} 12:00"]
        axis["tickformat"] = "%Y-%m-%d"
    return axis


def stacked_parts(
    rows: list[dict], *, label: str, parts: list[str], currency: str, height: int | None = None
) -> str:
    """Horizontal stacked bars: one bar per row (department, cluster, pool), one segment per part."""
    names = [str(r[label]) for r in rows][::-1]
    fig = go.Figure()
    for part in parts:
        fig.add_trace(
            go.Bar(
                name=str(PART_NAMES.get(part, part.replace("_", " ").capitalize())),
                y=names,
                x=[float(r[part]) for r in rows][::-1],
                orientation="h",
                marker_color=PART_COLOURS.get(part),
                hovertemplate="%{x:,.2f}",
            )
        )
    _layout(
        fig,
        currency=currency,
        height=height or max(180, 60 + 34 * len(rows)),
        hovermode="y unified",
        yaxis={"automargin": True},
        xaxis={"title": {"text": currency}, "gridcolor": "#e5e7eb", "tickformat": ",.2f"},
    )
    return to_json(fig)


def bars(labels: list[str], values: list, *, currency: str, colour: str = OKABE_ITO[0]) -> str:
    """One horizontal bar per label, largest on top."""
    fig = go.Figure(
        go.Bar(
            y=labels[::-1],
            x=[float(v) for v in values][::-1],
            orientation="h",
            marker_color=colour,
            hovertemplate="%{x:,.2f}<extra></extra>",
        )
    )
    _layout(
        fig,
        currency=currency,
        height=max(180, 60 + 26 * len(labels)),
        hovermode="closest",
        yaxis={"automargin": True},
        xaxis={"title": {"text": currency}, "gridcolor": "#e5e7eb", "tickformat": ",.2f"},
        showlegend=False,
    )
    return to_json(fig)


def coverage_heatmap(rows: list[dict], days: list, clusters: list[str]) -> str:
    """Coverage per cluster-day, 0..100 %, on a blue scale (dark = fully sampled, pale = gaps)."""
    index = {(r["cluster__name"], r["day"]): r["coverage"] for r in rows}
    z = [
        [(index.get((c, d)) * 100 if index.get((c, d)) is not None else None) for d in days] for c in clusters
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[d.isoformat() for d in days],
            y=clusters,
            zmin=0,
            zmax=100,
            colorscale=[[0, "#F0E442"], [0.5, "#56B4E9"], [1, "#0072B2"]],
            colorbar={"title": {"text": "%"}},
            hovertemplate="%{y} %{x}: %{z:.1f} %<extra></extra>",
        )
    )
    fig.update_layout(
        template="none",
        height=max(160, 80 + 40 * len(clusters)),
        margin={"l": 80, "r": 16, "t": 16, "b": 40},
        font={"family": "system-ui, sans-serif", "size": 13},
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis=date_axis(days),
    )
    return to_json(fig)


def usage_histogram(
    seconds: dict[int, float], starts, *, scale: float, unit: str, marks: dict[str, float | None]
) -> str:
    """Hours of usage per histogram bucket (costing.histograms; bucket i from starts[i]), with a dashed
    line per mark (current request, recommendation) in the same unit: `scale` turns a bucket edge into it."""
    index = sorted(seconds)
    fig = go.Figure(
        go.Bar(
            x=[float(starts[i]) * scale for i in index],
            y=[seconds[i] / 3600 for i in index],
            name=gettext("Usage"),
            marker_color=OKABE_ITO[0],
            hovertemplate=gettext("from %(x)s %(unit)s: %(y)s h")
            % {"x": "%{x:,.3f}", "unit": unit, "y": "%{y:,.1f}"}
            + "<extra></extra>",
        )
    )
    for n, (name, value) in enumerate((k, v) for k, v in marks.items() if v is not None):
        fig.add_vline(
            x=value,
            line_dash="dash",
            line_color=OKABE_ITO[n + 1],
            annotation_text=str(MARK_NAMES.get(name, name)),
        )
    _layout(fig, currency="", height=260, y_title=gettext("hours"), hovermode="closest")
    fig.update_layout(xaxis={"title": {"text": unit}}, yaxis={"tickformat": ",.1f"})
    return to_json(fig)


def lines(x: list, series: dict[str, list], *, y_title: str, x_title: str = "", step: bool = False) -> str:
    """One line per named series over a shared x axis (hours, hours of day): the evidence of a lever."""
    fig = go.Figure()
    for n, (name, values) in enumerate(series.items()):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=[None if v is None else float(v) for v in values],
                name=name,
                mode="lines",
                line={"color": OKABE_ITO[n % len(OKABE_ITO)], "shape": "hv" if step else "linear"},
                hovertemplate="%{y:,.2f}",
            )
        )
    _layout(fig, currency="", height=280, y_title=y_title, barmode=None)
    fig.update_layout(
        xaxis={"title": {"text": x_title}, "gridcolor": "#e5e7eb"}, yaxis={"tickformat": ",.2f"}
    )
    return to_json(fig)


def forecast_line(days: list[dict], *, currency: str, budget=None) -> str:
    """The cost of a period accumulated day by day: the actual line, the forecast line that continues it to
    the period's end and its interval as a band (reports.queries.forecasts.period_forecast's `days`), and
    the budget as a level line when there is one."""
    x = np.array([d["day"].isoformat() for d in days])

    def values(key: str) -> np.ndarray:
        return np.array([np.nan if d[key] is None else d[key] for d in days], dtype=float)

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=values("high"), mode="lines", line={"width": 0}, name="80 % high",
                             showlegend=False, hovertemplate="%{y:,.2f}"))  # fmt: skip
    fig.add_trace(go.Scatter(x=x, y=values("low"), mode="lines", line={"width": 0}, fill="tonexty",
                             fillcolor="rgba(0,114,178,0.18)", name="80 % interval", hovertemplate="%{y:,.2f}"))  # fmt: skip
    fig.add_trace(go.Scatter(x=x, y=values("actual"), mode="lines", name="Actual",
                             line={"color": OKABE_ITO[0], "width": 2.5}, hovertemplate="%{y:,.2f}"))  # fmt: skip
    fig.add_trace(go.Scatter(x=x, y=values("forecast"), mode="lines", name="Forecast",
                             line={"color": OKABE_ITO[0], "dash": "dash", "width": 2}, hovertemplate="%{y:,.2f}"))  # fmt: skip
    if budget:
        fig.add_trace(go.Scatter(x=x[[0, -1]], y=np.array([float(budget)] * 2), mode="lines", name="Budget",
                                 line={"color": OKABE_ITO[5], "dash": "dot"}, hovertemplate="%{y:,.2f}"))  # fmt: skip
    _layout(fig, currency=currency, xaxis=date_axis([d["day"] for d in days]), showlegend=True)
    return to_json(fig)
