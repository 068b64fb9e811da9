"""Errors a user can act on. Their messages are shown as-is in the CLI (stderr) and the app."""


class LbwError(Exception):
    """Base class: the message says what went wrong and what to do."""

    exit_code = 1


class InvalidQuestion(LbwError):
    exit_code = 2


class InvalidHistory(LbwError):
    exit_code = 2


class InvalidSetting(LbwError):
    """An environment variable (or `.env` line) holds a value the setting cannot take."""

    exit_code = 2


class EmbedderUnavailable(InvalidSetting):
    """The embedder LBW_EMBEDDER names is not installed (its optional extra is missing)."""


class IndexMissing(LbwError):
    exit_code = 3


class EmbedderMismatch(LbwError):
    """The live index was built by another embedding model than the one asked for: its
    vectors cannot be compared with the question's."""

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
