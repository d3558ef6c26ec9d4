"""Errors that end a command with a clear message instead of a traceback."""


class RetentioError(Exception):
    """Base class: the message is meant for the user."""


class InputFileError(RetentioError):
    """The file as a whole cannot be imported (missing, unreadable, wrong columns)."""


class ConfigError(RetentioError):
    """A setting, flag or mapping is invalid."""
