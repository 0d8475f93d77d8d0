"""The ``smartclass`` command line: one entry point for synthesis, training, evaluation, analysis and benchmarks.

Each sub-command lives in ``smartclass.commands.<name>`` and exposes ``register(app)``; heavy imports happen
inside the command functions so ``smartclass --help`` stays fast. Errors a user can act on
(:class:`SmartclassError`) are printed as one line and exit with status 2.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer
from rich.console import Console

from smartclass.errors import SmartclassError


app = typer.Typer(
    name="smartclass",
    help="Multimodal classroom behaviour recognition (RGB, depth, thermal).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

from smartclass import commands as _commands

for _mod in sorted(pkgutil.iter_modules(_commands.__path__), key=lambda m: m.name):
    importlib.import_module(f"smartclass.commands.{_mod.name}").register(app)


def _click_exception() -> type[Exception]:
    """Click's base exception: typer ≥ 0.2x carries its own copy of click and no longer installs click."""
    try:
        from click import ClickException
    except ImportError:
        from typer._click.exceptions import ClickException
    return ClickException


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    try:
        app(args=argv, standalone_mode=False)
    except SmartclassError as e:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {e}", highlight=False)  # no hard wraps inside paths
        return 2
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        Console(stderr=True).print("aborted")
        return 130
    except Exception as e:  # click usage errors carry their own formatting
        if isinstance(e, _click_exception()):
            e.show()
            return e.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
