"""The weekly report's picture: node usage bars and the score trend, as a PNG; and matplotlib
kept off the commands' import path."""

from __future__ import annotations

import io
import subprocess
import sys

from matplotlib.image import imread

from bot.cluster.demo import demo_snapshot, demo_week2_snapshot
from bot.report.chart import (
    CPU_COLOUR,
    MEMORY_COLOUR,
    SCORE_COLOUR,
    render_chart,
)
from bot.report.history import summarize, weekly_report
from bot.report.model import diagnose


def pixels_of(image, colour: str) -> int:
    red, green, blue = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    rgb = image[:, :, :3]
    close = (abs(rgb[:, :, 0] - red) < 0.02) & (abs(rgb[:, :, 1] - green) < 0.02) & (
        abs(rgb[:, :, 2] - blue) < 0.02)
    return int(close.sum())


def test_chart_shows_node_usage_and_the_score_trend():
    week1, week2 = diagnose(demo_snapshot()), diagnose(demo_week2_snapshot())
    png = render_chart(weekly_report(week2, [summarize(week1)], None))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = imread(io.BytesIO(png), format="png")
    assert image.shape[:2] == (420, 1100)
    memory, cpu = pixels_of(image, MEMORY_COLOUR), pixels_of(image, CPU_COLOUR)
    assert memory > 10 * cpu > 0  # memory 21-54% of allocatable, CPU 2-4%
    assert pixels_of(image, SCORE_COLOUR) > 0


def test_the_bot_draws_in_a_process_of_its_own_and_keeps_no_matplotlib():
    probe = ("import sys; from bot.cluster.demo import demo_snapshot; "
             "from bot.report.chart import render_chart_apart; "
             "from bot.report.history import weekly_report; from bot.report.model import diagnose;"
             " png = render_chart_apart(weekly_report(diagnose(demo_snapshot()), [], None)); "
             "print(png[:8] == b'\\x89PNG\\r\\n\\x1a\\n', 'matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False"]


def test_commands_never_import_the_plotting_or_scheduling_libraries():
    probe = ("import sys; from bot.__main__ import main; main(['report', '--demo']); "
             "print(sorted(m for m in ('matplotlib', 'apscheduler') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
