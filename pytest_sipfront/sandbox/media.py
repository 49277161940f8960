"""The sandbox's media metrics: a profile per catalog test (``media:``) and the shape its
series bodies take (``behaviour: {media_shape: ...}``), for ``GET /runs/:sid/stats`` and
``GET /runs/:sid/stats/:measure``.

Profiles (60 points, one a second, for caller and callee, in and out):

- ``steady``: jitter 4-6 ms, 8000 B/s, MOS 4.3.
- ``jitter_spike``: as steady, but jitter at 80 ms for 6 of the 60 seconds.
- ``one_way_audio``: the callee receives nothing: ``rtp_byte_per_sec`` callee/in is 0.
- ``mos_drop``: MOS falls to 2.1 halfway.
- ``none``: the run has no metrics (no dimensions).

Shapes (the accepted ones; Sipfront's real one is not published): ``stats`` (the default:
``{"stats": [{"ts": ..., "value": ...}]}``), ``top_list``, ``data``, ``series``, ``values``,
``points``, ``data.stats``, ``pairs`` (``[time, value]``), ``strings`` (numbers as text,
ISO times), ``tagged`` (every dimension's points in one body, each with ``role``/``dir``),
``short_keys`` (``t``/``y``).
"""

from __future__ import annotations

from typing import Any

PROFILES = ("steady", "jitter_spike", "one_way_audio", "mos_drop", "none")
SHAPES = (
    "stats",
    "top_list",
    "data",
    "series",
    "values",
    "points",
    "data.stats",
    "pairs",
    "strings",
    "tagged",
    "short_keys",
)
MEASURES = ("rtp_jitter", "rtp_byte_per_sec", "mos")
ROLES = ("caller", "callee")
DIRS = ("in", "out")
POINTS = 60
START = 1_765_000_000


def dimensions(profile: str) -> list[dict[str, str]]:
    if profile == "none":
        return []
    return [
        {"dir": direction, "role": role, "stats_measure": measure}
        for measure in MEASURES
        for role in ROLES
        for direction in DIRS
    ]


def dimensions_body(profile: str) -> dict[str, Any]:
    return {"stats_dimensions": dimensions(profile), "status": 200}


def points(profile: str, measure: str, role: str, direction: str) -> list[tuple[int, float]]:
    """The profile's series of one dimension: ``(epoch seconds, value)``."""
    out: list[tuple[int, float]] = []
    for second in range(POINTS):
        if measure == "rtp_jitter":
            value = 4.0 + second % 3
            if profile == "jitter_spike" and 30 <= second < 36:
                value = 80.0
        elif measure == "rtp_byte_per_sec":
            silent = profile == "one_way_audio" and (role, direction) == ("callee", "in")
            value = 0.0 if silent else 8000.0
        else:
            value = 2.1 if profile == "mos_drop" and second >= POINTS // 2 else 4.3
        out.append((START + second, value))
    return out


def has_measure(profile: str, measure: str) -> bool:
    return profile != "none" and measure in MEASURES


def series_body(profile: str, shape: str, measure: str, role: str, direction: str) -> Any:
    """One dimension's series (every dimension's, for ``tagged``) in ``shape``."""
    if shape == "tagged":
        tagged = [
            {"role": r, "dir": d, "timestamp": t, "value": v}
            for r in ROLES
            for d in DIRS
            for t, v in points(profile, measure, r, d)
        ]
        return {"data": tagged}
    series = points(profile, measure, role, direction)
    if shape == "pairs":
        return {"data": [[t, v] for t, v in series]}
    if shape == "strings":
        return {
            "series": [
                {
                    "time": f"2025-12-06T05:{(t - START) // 60:02d}:{(t - START) % 60:02d}Z",
                    "val": str(v),
                }
                for t, v in series
            ]
        }
    if shape == "short_keys":
        return {"values": [{"t": t, "y": v} for t, v in series]}
    listed = [{"ts": t, "value": v} for t, v in series]
    if shape == "top_list":
        return listed
    if shape == "data.stats":
        return {"data": {"stats": listed}, "status": 200}
    return {shape: listed, "status": 200}
