"""The weekly report's one picture: node CPU/memory use beside the score over the stored weeks.

A chat message shows a PNG at a glance where a table needs reading. matplotlib draws it with
the Agg backend (no display, arm64 wheels exist); it costs ~0.5 s to import and stays ~45 MB
resident once it has drawn, so the bot draws in a short-lived process (`render_chart_apart`)
and keeps nothing of it; the import sits inside `render_chart`, so the commands' import path
never loads it either (a layer contract in pyproject.toml keeps it so).
"""

from __future__ import annotations

import io
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from bot.report.model import Report

CPU_COLOUR, MEMORY_COLOUR, SCORE_COLOUR = "#4C72B0", "#DD8452", "#55A868"
WIDTH, HEIGHT, DPI = 11.0, 4.2, 100  # inches: 1100 x 420 pixels, legible in Slack and Matrix
DRAW_TIMEOUT = 120.0  # seconds for a fresh interpreter to import matplotlib and draw, on a Pi


def render_chart_apart(report: Report) -> bytes:
    """`render_chart` in a fresh process that exits afterwards: the bot's memory stays small."""
    spawn = multiprocessing.get_context("spawn")  # no fork of a process full of threads
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(render_chart, report).result(timeout=DRAW_TIMEOUT)


def render_chart(report: Report) -> bytes:
    """A PNG: bars of each node's CPU and memory use (% of allocatable), and the health score
    at each stored weekly report (the current one last)."""
    from matplotlib.figure import Figure  # heavy: only the weekly post draws

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    usage, trend = figure.subplots(1, 2, width_ratios=(3, 2))
    _node_bars(usage, report)
    _score_trend(trend, report)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _node_bars(axes: Any, report: Report) -> None:
    names = [n.name for n in report.nodes]
    positions = range(len(names))
    axes.bar([p - 0.2 for p in positions], [n.cpu_pct or 0 for n in report.nodes], 0.4,
             label="CPU", color=CPU_COLOUR)
    axes.bar([p + 0.2 for p in positions], [n.memory_pct or 0 for n in report.nodes], 0.4,
             label="memory", color=MEMORY_COLOUR)
    axes.set_xticks(list(positions), names, rotation=30, ha="right", fontsize=8)
    axes.set_ylim(0, 100)
    axes.set_ylabel("% of allocatable")
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    metrics = report.utilisation.metrics
    axes.set_title("Node usage" if metrics else "Node usage (metrics-server unavailable)",
                   loc="left")
    # Above the frame, right of the title: inside it, a full node's bars would hide under it.
    axes.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=2, fontsize=8, frameon=False)


def _score_trend(axes: Any, report: Report) -> None:
    points = report.changes.trend if report.changes else ()
    labels = [p.at.strftime("%b %-d") for p in points]
    axes.plot(range(len(points)), [p.score for p in points], marker="o", color=SCORE_COLOUR)
    for index, point in enumerate(points):
        axes.annotate(str(point.score), (index, point.score), textcoords="offset points",
                      xytext=(0, -14), ha="center", fontsize=8)
    axes.set_xticks(range(len(points)), labels, rotation=30, ha="right", fontsize=8)
    axes.set_xlim(-0.5, max(len(points), 1) - 0.5)  # the end points off the frame; one: centred
    axes.set_ylim(0, 105)
    axes.grid(axis="y", alpha=0.3)
    axes.set_ylabel("health score")
    axes.set_title(f"Health score, last {len(points)} reports" if len(points) > 1
                   else "Health score", loc="left")
