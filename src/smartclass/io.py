"""Atomic output writing: a crash never leaves a half-written file under its final name."""

from __future__ import annotations

import json
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the permissions an ordinary open() would
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def strict_json(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, ±inf; Python, numpy or 0-d tensor) replaced by ``None`` and a
    sibling ``"<key>_null_reason"`` in its dict saying why (``"not finite: nan"``, ``…: inf``, ``…: -inf``);
    numpy scalars and arrays become plain Python values. Lists cannot hold a reason beside the value, so their
    dict gets one ``"<key>_null_reason"`` naming the positions."""

    def reason(v: float) -> str:
        return "not finite: " + ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))

    def plain(v: Any) -> Any:
        if hasattr(v, "tolist") and not isinstance(v, (str, bytes)):  # numpy arrays/scalars, torch tensors
            v = v.tolist()
        if isinstance(v, tuple):
            v = list(v)
        return v

    def walk(v: Any) -> tuple[Any, str | None]:
        v = plain(v)
        if isinstance(v, float) and not math.isfinite(v):
            return None, reason(v)
        if isinstance(v, dict):
            out: dict = {}
            for k, x in v.items():
                x, why = walk(x)
                out[k] = x
                if why is not None and f"{k}_null_reason" not in v:
                    out[f"{k}_null_reason"] = why
            return out, None
        if isinstance(v, list):
            items = [walk(x) for x in v]
            bad = [f"[{i}] {why}" for i, (_, why) in enumerate(items) if why is not None]
            return [x for x, _ in items], (", ".join(bad[:10]) + (" …" if len(bad) > 10 else "")) if bad else None
        return v, None

    out, why = walk(obj)
    if why is not None:
        raise ValueError(f"a non-finite value cannot be written as strict JSON ({why})")
    return out


def write_json_atomic(path: str | os.PathLike, obj: Any, indent: int = 2) -> Path:
    """Write ``obj`` as strict JSON (RFC 8259: no bare ``NaN``/``Infinity``): non-finite numbers become
    ``null`` with a ``"<key>_null_reason"`` beside them (see :func:`strict_json`)."""
    text = json.dumps(strict_json(obj), indent=indent, sort_keys=False, allow_nan=False)
    return write_text_atomic(path, text + "\n")


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"IEND\xaeB`\x82"


def image_file_problem(path: str | os.PathLike) -> str | None:
    """Why the PNG or JPEG file at ``path`` is incomplete (``"truncated: no IEND chunk"``), or ``None``.

    Decoders fill a cut-off JPEG with grey and only warn on stderr; this catches it from the bytes: a PNG must
    end with its IEND chunk, a JPEG (FF D8) with its end-of-image marker FF D9 (trailing padding allowed).
    Other formats are left to the decoder."""
    with open(path, "rb") as f:
        head = f.read(8)
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - 4096))
        tail = f.read()
    if head.startswith(_PNG_SIGNATURE):
        return None if tail.rstrip(b"\x00").endswith(_PNG_END) else "truncated PNG (no IEND chunk at the end)"
    if head.startswith(b"\xff\xd8"):
        return None if tail.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9") else "truncated JPEG (no end-of-image marker)"
    return None
