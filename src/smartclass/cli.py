"""The ``smartclass`` command line: one entry point for synthesis, training, evaluation, analysis and benchmarks.

Each sub-command lives in ``smartclass.commands.<name>`` and exposes ``register(app)``; heavy imports happen
inside the command functions so ``smartclass --help`` stays fast. Errors a user can act on
(:class:`SmartclassError`, and an unreadable or unwritable file) are printed as one line and exit with status 2;
Ctrl-C exits with status 130 and one line saying what was kept and how to resume
(:func:`smartclass.runs.interrupt_hint`).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer
from smartclass.errors import SmartclassError
from smartclass.runs import current_interrupt_hint, set_command_line
from smartclass.terminal import console


app = typer.Typer(
    name="smartclass",
    help="Multimodal classroom behaviour recognition (RGB, depth, thermal): SmartClass-Synth data, paper 002's "
    "trimodal recogniser (enhancement, DCA-Net fusion, MST-GCN), skeleton benchmarks, metrics and lesson analysis. "
    "Paper 000's spatio-temporal detector is in progress (issue 17; docs/detector.md says what is trained and "
    "measured so far).",
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


def _one_line(e: object) -> str:
    """The message on one line (a message quoting a file's content may hold newlines), markup escaped."""
    from rich.markup import escape

    return escape(" ".join(str(e).split("\n")))


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
    set_command_line(sys.argv[1:] if argv is None else argv)
    try:
        rv = app(args=argv, prog_name="smartclass", standalone_mode=False)
        if rv == 130 and isinstance(rv, int):  # typer turns KeyboardInterrupt into exit code 130
            raise KeyboardInterrupt
    except SmartclassError as e:
        console(stderr=True).print(f"[bold red]error:[/] {_one_line(e)}", markup=True)
        return 2
    except OSError as e:  # a file the user named that cannot be read or written (disk full, permissions)
        if e.filename is None:
            raise
        console(stderr=True).print(f"[bold red]error:[/] '{_one_line(e.filename)}': {_one_line(e.strerror or e)}",
                                   markup=True)
        return 2
    except typer.Exit as e:
        return e.exit_code
    except (KeyboardInterrupt, typer.Abort):
        hint = current_interrupt_hint()
        console(stderr=True).print("interrupted" + (f"; {hint}" if hint else ""), markup=False)
        return 130
    except Exception as e:  # click's usage errors: one line naming the option, and where help is
        if isinstance(e, _click_exception()):
            if not e.format_message():  # no arguments at all: click shows the help itself
                e.show()
                return e.exit_code
            ctx = getattr(e, "ctx", None)
            where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            console(stderr=True).print(f"[bold red]error:[/] {_one_line(e.format_message())}{where}", markup=True)
            return e.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
