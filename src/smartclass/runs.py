"""Output folders a run can trust: checked before work starts, locked while written, never silently mixed.

* :func:`check_out_dir` / :func:`check_out_file`: an ``--out`` that is a file where a folder is expected (or
  the reverse), or that cannot be written, is an :class:`InputError` before any work starts.
* :func:`guard_output`: a folder holding another run's outputs (its ``config.yaml``) with a different config is
  refused, naming the differing keys, unless the user passes ``--overwrite``.
* :func:`run_lock`: a lock file naming the writing run's pid; a second run on the same folder is refused while
  that pid lives, and a stale lock (its pid is gone) is taken over.
* :func:`interrupt_hint`: what a command keeps when interrupted and how to resume; ``smartclass.cli.main``
  prints it on Ctrl-C and exits 130.
* :func:`worker_pool`: a process pool whose workers ignore Ctrl-C (the parent handles it), die with their
  parent (``PR_SET_PDEATHSIG`` on Linux) and are terminated when the parent stops early.
* :func:`inside_root`: a path read from a data file (a split list, a ``--labels`` name) that must stay under its
  root folder.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from smartclass.errors import ConfigError, DataError, InputError

LOCK_NAME = ".smartclass.lock"

# -- Ctrl-C ---------------------------------------------------------------------------------------------
_hints: list[str] = []
_caught: list[str | None] = [None]
_argv: list[str] = []


def set_command_line(argv: list[str]) -> None:
    """Record the arguments of this invocation (``smartclass.cli.main`` does), for resume hints and reports."""
    _argv[:] = list(argv)
    _caught[0] = None


def command_line(extra: str = "") -> str:
    """``smartclass <args>`` of this invocation, quoted for a shell, plus ``extra`` if not already there."""
    import shlex

    args = list(_argv)
    if extra and extra not in args:
        args.append(extra)
    return " ".join(["smartclass", *map(shlex.quote, args)])


@contextmanager
def interrupt_hint(text: str) -> Iterator[None]:
    """While the block runs, a Ctrl-C is reported as ``interrupted; <text>`` (the innermost hint wins)."""
    _hints.append(text)
    try:
        yield
    except KeyboardInterrupt:
        if _caught[0] is None:
            _caught[0] = text
        raise
    finally:
        _hints.remove(text)


def current_interrupt_hint() -> str | None:
    """The hint of the block a Ctrl-C interrupted (or of the block running now); cleared by :func:`set_command_line`."""
    return _caught[0] or (_hints[-1] if _hints else None)


def output_command(hint: Callable[[dict], str], out_arg: str = "out") -> Callable:
    """Decorator of a command writing into the folder given as ``out_arg``: the folder is checked before any
    work (:func:`check_out_dir`), locked for the run (:func:`run_lock`), and a Ctrl-C is reported with
    ``hint(arguments)`` (what was kept, how to resume)."""

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            out = check_out_dir(kwargs[out_arg], "--" + out_arg.replace("_", "-"))
            with run_lock(out), interrupt_hint(hint(kwargs)):
                return fn(*args, **kwargs)

        return run

    return wrap


# -- worker processes -----------------------------------------------------------------------------------
def worker_init() -> None:
    """Initializer of every worker process: ignore SIGINT (the parent stops the pool) and receive SIGTERM
    when the parent dies, so no orphan keeps writing after the parent was killed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


@contextmanager
def worker_pool(workers: int, mp_context: Any = None) -> Iterator[Any]:
    """A ``ProcessPoolExecutor`` with :func:`worker_init`; on any exception in the block (Ctrl-C included)
    queued jobs are cancelled and running workers terminated instead of finishing their work."""
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(workers, mp_context=mp_context, initializer=worker_init)
    try:
        yield pool
    except BaseException:
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(timeout=5)
        raise
    pool.shutdown(wait=True)


# -- output paths ---------------------------------------------------------------------------------------
def _writable_parent(path: Path, option: str) -> None:
    """The nearest existing ancestor of ``path`` must be a writable folder."""
    parent = path.parent if str(path.parent) else Path(".")
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{option} '{path}': '{parent}' is a file, expected a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} '{path}': folder '{parent}' is not writable")


def check_out_dir(path: str | os.PathLike, option: str = "--out") -> Path:
    """``path`` is, or can be created as, a writable folder; otherwise an error naming ``option``."""
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{option} '{path}' is a file; expected a folder (or a path that does not exist yet)")
        if not os.access(path, os.W_OK | os.X_OK):
            raise InputError(f"{option} '{path}': folder is not writable")
        return path
    _writable_parent(path, option)
    return path


def check_out_file(path: str | os.PathLike, option: str = "--out", suffixes: tuple[str, ...] = ()) -> Path:
    """``path`` is, or can be created as, a writable file with one of ``suffixes`` (if given)."""
    path = Path(path)
    if suffixes and path.suffix.lower() not in suffixes:
        raise InputError(f"{option} '{path}': expected a file name ending in {' or '.join(suffixes)}")
    if path.is_dir():
        raise InputError(f"{option} '{path}' is a folder; expected a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{option} '{path}': file is not writable")
    _writable_parent(path, option)
    return path


def inside_root(root: str | os.PathLike, name: str, what: str) -> Path:
    """``root / name`` for a relative ``name`` that stays inside ``root`` (no ``..``, not absolute);
    ``what`` names where ``name`` came from (``"splits/test.txt:3"``, ``"--labels"``)."""
    p = Path(name)
    if not name or p.is_absolute() or ".." in p.parts or name.startswith("~"):
        raise DataError(f"{what}: '{name}' must be a plain name inside '{root}' (no absolute path, no '..')")
    return Path(root) / p


# -- config guard ---------------------------------------------------------------------------------------
def _flatten(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: list(d) if isinstance(d, tuple) else d}


def config_differences(old: dict, new: dict, ignore: tuple[str, ...] = ()) -> list[str]:
    """Dotted keys whose values differ between two nested config dicts; keys in ``ignore`` (or under a prefix
    ending in ``.`` there, such as ``"train."``) are skipped."""
    a, b = _flatten(old), _flatten(new)
    skip = lambda k: k in ignore or any(p.endswith(".") and k.startswith(p) for p in ignore)  # noqa: E731
    return sorted(k for k in set(a) | set(b) if not skip(k) and a.get(k) != b.get(k))


def guard_output(folder: str | os.PathLike, config: dict, overwrite: bool = False,
                 ignore: tuple[str, ...] = ()) -> list[str]:
    """Refuse ``folder`` if its ``config.yaml`` (another run's) differs from ``config`` in keys other than
    ``ignore``; ``overwrite`` lets the new run replace it. Returns the differing keys (empty when the folder
    holds no config, or the same one)."""
    import yaml

    saved = Path(folder) / "config.yaml"
    if not saved.is_file():
        return []
    try:
        old = yaml.safe_load(saved.read_text()) or {}
    except yaml.YAMLError:
        old = None
    if not isinstance(old, dict):
        if overwrite:
            return ["config.yaml"]
        raise ConfigError(f"'{saved}' (another run's config) is not a YAML mapping; pass --overwrite to replace it")
    diff = config_differences(old, config, ignore)
    if diff and not overwrite:
        shown = ", ".join(f"{k} ({_flatten(old).get(k)!r} → {_flatten(config).get(k)!r})" for k in diff[:5])
        more = f" and {len(diff) - 5} more" if len(diff) > 5 else ""
        raise ConfigError(f"'{folder}' holds another run's outputs with a different config: {shown}{more}; "
                          "choose another --out or pass --overwrite")
    return diff


# -- lock -----------------------------------------------------------------------------------------------
def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold ``folder/.smartclass.lock`` (holding this pid) for the block. Another live run's lock is an
    error naming its pid; a lock whose pid is gone is taken over."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                pid = int(lock.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                pid = -1
            if pid > 0 and pid != os.getpid() and _alive(pid):
                raise InputError(f"'{folder}' is being written by another smartclass run (pid {pid}, lock file "
                                 f"'{lock}'); wait for it or choose another --out") from None
            lock.unlink(missing_ok=True)  # stale: its run is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        break
    else:
        raise InputError(f"could not take the lock file '{lock}'")
    try:
        yield lock
    finally:
        try:
            if lock.read_text().split()[0] == str(os.getpid()):
                lock.unlink()
        except (OSError, IndexError):
            pass
