"""``report.html``: one self-contained page a teacher opens (no external assets: charts are inline SVG,
thumbnails base64 JPEG ``data:`` URIs, styles inline).

Sections (each a ``<section id=…>``, which the browser test looks for): ``overview`` (the lesson in numbers),
``engagement`` (share of students engaged over the lesson, per second), ``distribution`` (share of student
time per behaviour), ``timelines`` (one row per student, a coloured bar per interval), ``low-moments`` (the
moments of lowest engagement with a thumbnail of the annotated frame) and ``how-to-read``.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from smartclass.io import write_text_atomic

_PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
            "#bab0ac", "#1f77b4", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f"]


def _esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def behaviour_colours(names: list[str]) -> dict[str, str]:
    return {n: _PALETTE[i % len(_PALETTE)] for i, n in enumerate(names)}


def engagement_svg(per_second: list[dict], seconds: float, width: int = 900, height: int = 220) -> str:
    """Line chart of the engaged share (0–100 %) against time; a shaded band below 50 %."""
    ml, mr, mt, mb = 48, 12, 12, 30
    w, h = width - ml - mr, height - mt - mb
    span = max(seconds, 1e-6)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="engagement over the lesson"><rect x="{ml}" y="{mt + h / 2}" width="{w}" height="{h / 2}" fill="#fbeaea"/>']
    for q in (0, 25, 50, 75, 100):
        y = mt + h * (1 - q / 100)
        parts.append(f'<line x1="{ml}" x2="{ml + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{ml - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{q}%</text>')
    ticks = max(1, int(span // 8) or 1)
    for s in np.arange(0, span + 1e-9, ticks):
        x = ml + w * s / span
        parts.append(f'<text x="{x:.1f}" y="{mt + h + 18}" font-size="11" text-anchor="middle">{s:.0f}s</text>')
    pts = [(ml + w * p["t"] / span, mt + h * (1 - p["engaged"])) for p in per_second if p["engaged"] is not None]
    if len(pts) == 1:
        pts = pts + [(pts[0][0] + 2, pts[0][1])]
    if pts:
        d = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        parts.append(f'<polyline fill="none" stroke="#2b6cb0" stroke-width="2.5" points="{d}"/>')
    else:
        parts.append(f'<text x="{ml + w / 2}" y="{mt + h / 2}" text-anchor="middle" font-size="14">no students seen</text>')
    parts.append("</svg>")
    return "".join(parts)


def distribution_svg(share: dict[str, float], colours: dict[str, str], width: int = 900) -> str:
    """Horizontal bars: share of student time per behaviour."""
    row, ml = 26, 170
    height = max(row * len(share) + 10, 40)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="behaviour distribution">']
    if not share:
        parts.append('<text x="10" y="25" font-size="14">no behaviour recorded</text>')
    for i, (name, v) in enumerate(share.items()):
        y = 5 + i * row
        bw = (width - ml - 70) * v
        parts.append(f'<text x="{ml - 8}" y="{y + 16}" font-size="13" text-anchor="end">{_esc(name)}</text>'
                     f'<rect x="{ml}" y="{y + 3}" width="{bw:.1f}" height="{row - 8}" fill="{colours.get(name, "#888")}"/>'
                     f'<text x="{ml + bw + 6:.1f}" y="{y + 16}" font-size="12">{100 * v:.1f}%</text>')
    parts.append("</svg>")
    return "".join(parts)


def timelines_svg(timelines: dict[int, list[dict]], seconds: float, colours: dict[str, str], width: int = 900) -> str:
    """One row per student id; each interval a bar coloured by behaviour (tooltip: behaviour, times, confidence,
    and the recogniser's fine-grained class where it ran).
    The left margin fits the longest label ("student 123" at 12 px, ~7 px a character), so none is clipped."""
    row, mr = 20, 12
    ml = 16 + int(np.ceil(7.0 * max((len(f"student {sid}") for sid in timelines), default=10)))
    span = max(seconds, 1e-6)
    w = width - ml - mr
    height = max(row * len(timelines) + 30, 50)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="per-student timelines">']
    for i, (sid, items) in enumerate(timelines.items()):
        y = 4 + i * row
        parts.append(f'<text x="{ml - 8}" y="{y + 13}" font-size="12" text-anchor="end">student {sid}</text>')
        for it in items:
            x = ml + w * it["start"] / span
            bw = max(w * (it["end"] - it["start"]) / span, 1.0)
            parts.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{bw:.1f}" height="{row - 5}" fill="{colours.get(it["behaviour"], "#888")}">'
                         f'<title>{_esc(it["behaviour"])}{" (" + _esc(it["detail"]) + ")" if it.get("detail") else ""} '
                         f'{it["start"]:.1f}–{it["end"]:.1f} s, confidence {it["confidence"]:.2f}</title></rect>')
    y = 4 + len(timelines) * row + 16
    ticks = max(1, int(span // 8) or 1)
    for s in np.arange(0, span + 1e-9, ticks):
        parts.append(f'<text x="{ml + w * s / span:.1f}" y="{y}" font-size="11" text-anchor="middle">{s:.0f}s</text>')
    parts.append("</svg>")
    return "".join(parts)


def low_moments(per_second: list[dict], k: int = 3, min_separation: float = 5.0) -> list[dict]:
    """The ``k`` lowest points of the per-second engagement, at least ``min_separation`` seconds apart."""
    pts = sorted((p for p in per_second if p["engaged"] is not None), key=lambda p: (p["engaged"], p["t"]))
    out: list[dict] = []
    for p in pts:
        if all(abs(p["t"] - q["t"]) >= min_separation for q in out):
            out.append(p)
        if len(out) == k:
            break
    return sorted(out, key=lambda p: p["t"])


def render_report(summary: dict, timelines: dict[int, list[dict]], thumbs: list[tuple[float, str]]) -> str:
    """The HTML page (a string)."""
    seconds = summary.get("seconds_processed") or 0.0
    share = summary.get("behaviour_share", {})
    names = list(summary.get("models", {}).get("detector", {}).get("classes") or share.keys())
    colours = behaviour_colours(names + [n for n in share if n not in names])
    eng = summary["engagement"]
    mean = eng["mean"]
    legend = "".join(f'<span class="key"><i style="background:{colours[n]}"></i>{_esc(n)}</span>' for n in colours)
    lows = []
    for p in low_moments(eng["per_second"]):
        thumb = min(thumbs, key=lambda th: abs(th[0] - p["t"])) if thumbs else None
        img = f'<img alt="frame at {p["t"]:.0f} s" src="data:image/jpeg;base64,{thumb[1]}">' if thumb else ""
        lows.append(f'<figure>{img}<figcaption>{p["t"]:.0f}–{p["t"] + 1:.0f} s: {100 * p["engaged"]:.0f}% engaged</figcaption></figure>')
    warn = "".join(f"<li>{_esc(w)}</li>" for w in summary.get("warnings", []))
    det = summary.get("models", {}).get("detector", {})
    status = "complete" if summary.get("complete") else ("interrupted (partial results)" if summary.get("interrupted") else "in progress (partial results)")
    engaged_map = eng.get("mapping", {})
    mapping = ", ".join(f"{_esc(k)} → {'engaged' if v else ('not engaged' if v is False else 'not counted')}"
                        for k, v in engaged_map.items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>smartclass lesson report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 960px; color: #222; }}
h1 {{ font-size: 26px; margin-bottom: 4px; }} h2 {{ font-size: 19px; margin-top: 28px; border-bottom: 1px solid #ddd; }}
.stats {{ display: flex; gap: 16px; flex-wrap: wrap; }} .stat {{ background: #f3f6fa; padding: 10px 14px; border-radius: 6px; }}
.stat b {{ display: block; font-size: 22px; }} .key {{ margin-right: 12px; font-size: 13px; white-space: nowrap; }}
.key i {{ display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }}
figure {{ display: inline-block; margin: 6px; }} figure img {{ width: 240px; border: 1px solid #ccc; }}
.muted {{ color: #666; font-size: 13px; }}
</style></head><body>
<h1>Lesson report</h1>
<p class="muted">{_esc(summary['input'].get('name'))} · {status} · detector {_esc(det.get('name'))} · tracker {_esc(summary['settings']['tracker'])}</p>
<section id="overview"><h2>The lesson in numbers</h2><div class="stats">
<div class="stat"><b>{summary['students_seen']}</b>students seen</div>
<div class="stat"><b>{'–' if mean is None else f'{100 * mean:.0f}%'}</b>average engagement</div>
<div class="stat"><b>{seconds:.0f} s</b>analysed</div>
<div class="stat"><b>{summary['processing_fps']:.0f}</b>frames / s processed</div></div>
{f'<ul class="muted">{warn}</ul>' if warn else ''}</section>
<section id="engagement"><h2>Engagement over the lesson</h2>
<p class="muted">Share of the students in view whose behaviour shows concentration, second by second.</p>
{engagement_svg(eng['per_second'], seconds)}</section>
<section id="distribution"><h2>What the class did</h2><p class="muted">Share of all student time per behaviour.</p>
{distribution_svg(share, colours)}</section>
<section id="timelines"><h2>Per-student timelines</h2><div>{legend}</div>
{timelines_svg(timelines, seconds, colours)}</section>
<section id="low-moments"><h2>Moments of low engagement</h2>
{''.join(lows) if lows else '<p>No moment with students of known engagement.</p>'}</section>
<section id="how-to-read"><h2>How to read this report</h2>
<p>Each student found in the video gets a number, kept while they stay in view (and, where possible, when
they come back). Every fraction of a second the behaviour of each student is estimated from what the detector
saw over the last second, then smoothed so that short flickers are not reported; the timelines show the
result, one coloured bar per behaviour interval (hover for times and confidence, and — where depth or thermal
cameras let the fine-grained recogniser run — its finer reading in brackets, e.g. chin resting within
attending). Engagement at a moment is
the share of students in view whose behaviour counts as concentrating (paper 000: listening, writing,
raising a hand count; looking around, the phone, sleeping do not). Mapping used: {mapping or 'none'}.</p>
<p>These are automatic estimates from a camera: they describe the class, not a grade for any student, and they
can be wrong, especially for students who are partly hidden, far from the camera, or in poor light.</p>
</section></body></html>
"""


def write_report(path: str | Path, summary: dict, timelines: dict[int, list[dict]], thumbs: list[tuple[float, str]]) -> Path:
    return write_text_atomic(path, render_report(summary, timelines, thumbs))
