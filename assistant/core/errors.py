"""Errors a user can act on. Their messages are shown as-is in the CLI (stderr) and the app."""


class LbwError(Exception):
    """Base class: the message says what went wrong and what to do."""

    exit_code = 1


class InvalidQuestion(LbwError):
    exit_code = 2


class InvalidHistory(LbwError):
    exit_code = 2


class InvalidSetting(LbwError):
    """A setting (an environment variable or `.env` line) with a value that cannot be used."""

    exit_code = 2


class IndexMissing(LbwError):
    exit_code = 3


class IngestError(LbwError):
    exit_code = 4


class ModelError(LbwError):
    exit_code = 5


class InvalidDocument(IngestError):
    """A file a user tried to add that cannot go into the library (nothing was changed)."""


class LLMConfigError(LbwError):
    """The chosen language model cannot be set up (unknown backend, missing key or package)."""

    exit_code = 6
