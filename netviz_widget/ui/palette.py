"""The one diverging palette (netviz_widget/palette.json), for the bokeh figures.

The canvas and the SVG export read the same JSON file (js/scales.js); this module computes the
same colours as `divergingRgb` there, so a heatmap and the network view agree on what a colour
means.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

_SPEC = json.loads((Path(__file__).parents[1] / "palette.json").read_text(encoding="utf-8"))
NEGATIVE, NEUTRAL, POSITIVE = (tuple(stop) for stop in _SPEC["stops"])
NAME: str = _SPEC["name"]


def diverging_rgb(t: float) -> tuple[int, int, int]:
    """RGB triple at t ∈ [-1, 1] (clamped): NEUTRAL at 0, NEGATIVE at -1, POSITIVE at 1.
    Same arithmetic and rounding (half up) as js/scales.js `divergingRgb`."""
    end = NEGATIVE if t < 0 else POSITIVE
    a = min(1.0, abs(t))
    return tuple(math.floor(n + (e - n) * a + 0.5) for n, e in zip(NEUTRAL, end))  # type: ignore[return-value]


def bokeh_palette(n: int = 255) -> list[str]:
    """`n` hex colours from -1 to 1 (odd `n` puts the neutral colour at 0), for a
    LinearColorMapper with a symmetric range."""
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    return [hex_colour(diverging_rgb(-1 + 2 * i / (n - 1))) for i in range(n)]


def hex_colour(rgb: tuple[int, int, int]) -> str:
    """"#rrggbb" of an RGB triple."""
    return "#" + "".join(f"{c:02x}" for c in rgb)
