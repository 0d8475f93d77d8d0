"""Class engagement as paper 000 describes it (§ on learning concentration): at each moment, the share of
students whose behaviour shows concentration.

Paper 000 reads "listening to lectures", raising hands, writing as participation and concentration, and
"frequently check their mobile phones or look around" as its absence. The mapping below follows that and
covers the label sets smartclass detectors use; ``True`` engaged, ``False`` not engaged. A behaviour not in
the mapping (or mapped to ``None``) is *unknown* and left out of the share (neither numerator nor
denominator). Override with ``--engagement FILE`` (JSON ``{"behaviour": true|false|null}``), merged over the
default.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from smartclass.errors import ConfigError

DEFAULT_ENGAGEMENT: dict[str, bool | None] = {
    # paper 000's 8 classes
    "write": True, "look_left_right": False, "stand": True, "page_turning": True, "play_phone": False,
    "raise_hand": True, "sleep": False, "attend_lecture": True,
    # paper 002's 10 fine classes and the synthetic extras
    "hand_raising": True, "head_down_writing": True, "chin_resting": True, "attentive_listening": True,
    "phone_usage": False, "note_taking": True, "drinking_water": None, "side_conversation": False,
    "upright_sitting": True, "looking_around": False, "standing": True, "sleeping": False,
    # ClaBehavior's classes (real classrooms, whole students)
    "read": True, "lookup": True, "turn_head": False, "discuss": True,
    # classroom-cctv head states
    "up": True, "down": True, "lookaround": False, "phone": False,
}


def load_mapping(path: str | Path | None) -> dict[str, bool | None]:
    """The default mapping, updated from a JSON file when ``path`` is given."""
    mapping = dict(DEFAULT_ENGAGEMENT)
    if path is None:
        return mapping
    try:
        extra = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"--engagement '{path}': cannot be read as JSON ({e})") from None
    if not isinstance(extra, dict) or any(v not in (True, False, None) for v in extra.values()):
        raise ConfigError(f"--engagement '{path}': expected an object of behaviour → true, false or null")
    mapping.update(extra)
    return mapping


def engaged_share(behaviours: list[str], mapping: dict[str, bool | None]) -> tuple[float | None, int]:
    """``(share engaged, students counted)`` of the behaviours of the students present at one moment;
    ``None`` when no present student has a known mapping."""
    known = [mapping.get(b) for b in behaviours]
    known = [k for k in known if k is not None]
    if not known:
        return None, 0
    return float(np.mean(known)), len(known)


def engagement_curve(times: np.ndarray, present: list[list[str]], mapping: dict[str, bool | None]) -> list[dict]:
    """Per moment ``t``: ``{"t", "engaged" (share or null), "students"}`` from the behaviours present then."""
    out = []
    for t, labs in zip(times, present):
        share, n = engaged_share(labs, mapping)
        out.append({"t": round(float(t), 3), "engaged": None if share is None else round(share, 4), "students": n})
    return out


def binned(curve: list[dict], seconds: float) -> list[dict]:
    """The curve averaged over bins of ``seconds`` (moments without known students skipped)."""
    if not curve:
        return []
    bins: dict[int, list[float]] = {}
    for p in curve:
        if p["engaged"] is not None:
            bins.setdefault(int(p["t"] // seconds), []).append(p["engaged"])
    return [{"t": round(k * seconds, 3), "engaged": round(float(np.mean(v)), 4)} for k, v in sorted(bins.items())]
