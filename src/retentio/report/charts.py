"""Charts as inline SVG, rendered by matplotlib (no JavaScript, no CDN)."""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from retentio.formatting import Fmt

PALETTE = ["#1f6f8b", "#e07a5f", "#81b29a", "#f2cc8f", "#3d405b", "#99582a", "#6d597a"]
# Labels are data and translations, never TeX: a "$" in a name must not start mathtext.
plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
                     "svg.fonttype": "none", "font.family": "DejaVu Sans", "text.parse_math": False})


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    # The RDF metadata block only carries a timestamp and namespace URIs.
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def kpi_trend(labels: list[str], series: dict[str, list], f: Fmt) -> str:
    fig, ax = plt.subplots(figsize=(9, 3.2))
    for (name, values), colour in zip(series.items(), PALETTE, strict=False):
        ax.plot(labels, values, marker="o", ms=3, lw=1.8, label=name, color=colour)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f.pct(v, 0)))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=4, frameon=False, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    _thin_labels(ax, labels)
    return _svg(fig)


def revenue_bars(labels: list[str], revenue: list[float], new: list[int], f: Fmt, titles: tuple[str, str]) -> str:
    fig, ax = plt.subplots(figsize=(9, 2.8))
    ax.bar(labels, revenue, color=PALETTE[0], alpha=0.85, label=titles[0])
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f.money(v).split(",")[0] if f.lang == "de" else f.money(v).split(".")[0]))
    ax2 = ax.twinx()
    ax2.plot(labels, new, color=PALETTE[1], marker="o", ms=3, label=titles[1])
    ax2.spines["top"].set_visible(False)
    ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f.num(v)))
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", frameon=False, fontsize=8)
    _thin_labels(ax, labels)
    return _svg(fig)


def hbars(labels: list[str], values: list[float], f: Fmt, *, second: list[float] | None = None,
          names: tuple[str, str] = ("", ""), as_pct: bool = True) -> str:
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(labels) + 0.8))
    y = range(len(labels))
    h = 0.4 if second is not None else 0.7
    ax.barh([i - (h / 2 if second is not None else 0) for i in y], values, height=h, color=PALETTE[0], label=names[0])
    if second is not None:
        ax.barh([i + h / 2 for i in y], second, height=h, color=PALETTE[1], label=names[1])
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    ax.set_yticks(list(y), labels)
    ax.invert_yaxis()
    fmt = (lambda v: f.pct(v, 0)) if as_pct else f.num
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v)))
    for i, v in enumerate(values):
        ax.text(v, i - (h / 2 if second is not None else 0), " " + fmt(v), va="center", fontsize=7)
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def columns(labels: list[str], values: list[float], f: Fmt, colour: str = PALETTE[2]) -> str:
    fig, ax = plt.subplots(figsize=(9, 2.8))
    ax.bar(labels, values, color=colour)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f.num(v)))
    for i, v in enumerate(values):
        ax.text(i, v, f.num(v), ha="center", va="bottom", fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return _svg(fig)


def tracking(steps: list[int], actual: list[float], predicted: dict[str, list[float]], f: Fmt,
             labels: tuple[str, str], boundary: float | None = None) -> str:
    """Cumulative purchases: what happened (bars) and each model's forecast (lines); ``boundary``
    marks the end of the calibration period."""
    fig, ax = plt.subplots(figsize=(9, 3.0))
    ax.bar(steps, actual, color="#c9d6df", label=labels[0])
    if boundary is not None:
        ax.axvline(boundary + 0.5, color="#888", lw=1, ls="--")
    for (name, values), colour in zip(predicted.items(), PALETTE, strict=False):
        ax.plot(steps, values, lw=1.8, color=colour, label=name)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f.num(v)))
    ax.set_xlabel(labels[1])
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.grid(axis="y", alpha=0.3)
    return _svg(fig)


def grouped(labels: list[str], series: dict[str, list[float]], f: Fmt, digits: int = 2) -> str:
    fig, ax = plt.subplots(figsize=(4.4, 2.8))
    width = 0.8 / max(1, len(series))
    for k, ((name, values), colour) in enumerate(zip(series.items(), PALETTE, strict=False)):
        ax.bar([i + (k - (len(series) - 1) / 2) * width for i in range(len(labels))], values, width=width,
               color=colour, label=name)
    ax.set_xticks(range(len(labels)), labels)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f.num(v, 1)))
    ax.legend(frameon=False, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _svg(fig)


def calibration(points: dict[str, tuple[list[float], list[float]]], f: Fmt, labels: tuple[str, str]) -> str:
    """Forecast probability against the observed share, per bin; the diagonal is perfect calibration."""
    fig, ax = plt.subplots(figsize=(4.4, 2.8))
    ax.plot([0, 1], [0, 1], color="#bbb", lw=1, ls="--")
    for (name, (pred, obs)), colour in zip(points.items(), PALETTE, strict=False):
        ax.plot(pred, obs, marker="o", ms=4, lw=1.2, color=colour, label=name)
    fmt = FuncFormatter(lambda v, _: f.pct(v * 100, 0))
    ax.xaxis.set_major_formatter(fmt)
    ax.yaxis.set_major_formatter(fmt)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return _svg(fig)


def _thin_labels(ax, labels: list[str]) -> None:
    step = max(1, -(-len(labels) // 8))
    ax.set_xticks(range(0, len(labels), step), [labels[i] for i in range(0, len(labels), step)], rotation=0)
