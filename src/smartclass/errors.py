"""Errors a user can act on: each names the file, field or argument and what was expected."""


class SmartclassError(Exception):
    """Base class; the CLI prints these as one line instead of a traceback."""


class ConfigError(SmartclassError, ValueError):
    """A config key that does not exist, or a value of the wrong type."""


class DataError(SmartclassError, ValueError):
    """A dataset file that is missing, corrupt or inconsistent; the message names the file."""


class InputError(SmartclassError, ValueError):
    """An array or argument of the wrong shape, dtype or range."""
