"""The console the commands print through: lines are never hard-wrapped (paths and error messages stay whole
and greppable, whatever the terminal width or the length of the working folder)."""

from __future__ import annotations

from rich.console import Console


def console(stderr: bool = False) -> Console:
    """A rich console with soft wrapping: the terminal folds long lines, rich inserts no newlines."""
    return Console(stderr=stderr, soft_wrap=True, highlight=False)
