"""Behaviour vocabularies of both papers, and the unified behaviour set the generator animates.

Paper 002 recognises 10 fine-grained classes; paper 000 detects 8 coarser ones. SmartClass-Synth animates
one unified set of behaviours (the 10 fine-grained ones plus the three of paper 000 that have no fine-grained
counterpart) and labels every frame with both: ``FINE_OF[b]`` (−1 where paper 002 has no such class) and
``COARSE_OF[b]``.
"""

from __future__ import annotations

FINE_CLASSES: tuple[str, ...] = (
    "hand_raising",
    "page_turning",
    "head_down_writing",
    "chin_resting",
    "attentive_listening",
    "phone_usage",
    "note_taking",
    "drinking_water",
    "side_conversation",
    "upright_sitting",
)
"""Paper 002's 10 fine-grained learning behaviours, in its order."""

COARSE_CLASSES: tuple[str, ...] = (
    "write",
    "look_left_right",
    "stand",
    "page_turning",
    "play_phone",
    "raise_hand",
    "sleep",
    "attend_lecture",
)
"""Paper 000's 8 classroom behaviours, in its order."""

BEHAVIOURS: tuple[str, ...] = FINE_CLASSES + ("looking_around", "standing", "sleeping")
"""Every behaviour the generator animates (motion programs live in ``smartclass.synth``)."""

_COARSE_NAME_OF = {
    "hand_raising": "raise_hand",
    "page_turning": "page_turning",
    "head_down_writing": "write",
    "chin_resting": "attend_lecture",
    "attentive_listening": "attend_lecture",
    "phone_usage": "play_phone",
    "note_taking": "write",
    "drinking_water": "attend_lecture",
    "side_conversation": "look_left_right",
    "upright_sitting": "attend_lecture",
    "looking_around": "look_left_right",
    "standing": "stand",
    "sleeping": "sleep",
}

FINE_OF: dict[str, int] = {b: (FINE_CLASSES.index(b) if b in FINE_CLASSES else -1) for b in BEHAVIOURS}
COARSE_OF: dict[str, int] = {b: COARSE_CLASSES.index(_COARSE_NAME_OF[b]) for b in BEHAVIOURS}

VOCABULARIES: dict[str, tuple[str, ...]] = {"fine": FINE_CLASSES, "coarse": COARSE_CLASSES, "all": BEHAVIOURS}


def class_names(vocabulary: str) -> tuple[str, ...]:
    """Class names of ``'fine'`` (paper 002), ``'coarse'`` (paper 000) or ``'all'`` (every behaviour)."""
    try:
        return VOCABULARIES[vocabulary]
    except KeyError:
        raise ValueError(f"unknown label vocabulary '{vocabulary}'; expected one of {list(VOCABULARIES)}") from None


def class_mapping(source: tuple[str, ...] | list[str], target: tuple[str, ...] | list[str]) -> list[int]:
    """For each class of ``source``, the index of the class of ``target`` it belongs to (−1: none): the same
    name, or, from paper 002's fine classes (or any behaviour) to paper 000's, the coarse class of the behaviour
    (``head_down_writing`` → ``write``)."""
    target = list(target)
    out = []
    for name in source:
        if name in target:
            out.append(target.index(name))
        elif name in _COARSE_NAME_OF and _COARSE_NAME_OF[name] in target:
            out.append(target.index(_COARSE_NAME_OF[name]))
        else:
            out.append(-1)
    return out
