"""Exceptions raised by fer-bench.

Every error a user can cause derives from :class:`FerBenchError`; the CLI prints its
message on one line and exits with status 2, so the message must name the culprit
(the file, the label, the option).
"""


class FerBenchError(Exception):
    """Base class of the errors caused by bad input or a bad request."""


class DatasetError(FerBenchError):
    """A dataset cannot be read or is unusable for the requested protocol."""


class ProtocolError(FerBenchError):
    """The requested protocol cannot be built on this dataset."""


class UnknownMethodError(FerBenchError):
    """A method name (or one of its parameters) is not registered."""


class ConfigMismatchError(FerBenchError):
    """An output directory already holds results of another configuration."""


class StoreLockedError(FerBenchError):
    """Another fer-bench process is writing to the same output directory."""


class RequirementError(FerBenchError):
    """A method's requirements (packages, weights, hardware) are not met."""


class ReferenceCheckError(FerBenchError):
    """An accuracy-gate reference file is missing, unreadable, or does not match the results."""


class StorageError(FerBenchError):
    """A file or folder fer-bench must write cannot be written (the message names it).

    ``path`` is the location at fault; ``reason`` the operating system's words for it.
    """

    def __init__(self, message: str, path=None, reason: str | None = None):
        super().__init__(message)
        self.path = path
        self.reason = reason


class DiskFullError(StorageError):
    """The file system holding ``path`` is full or over its quota (ENOSPC, EDQUOT, SQLite's "disk is full")."""


class NotWritableError(StorageError):
    """``path`` is on a read-only file system or not writable by this user (EROFS, EACCES, EPERM)."""


class DuplicateRegistrationError(FerBenchError):
    """Two different plugins (methods, dataset sources, protocols) claim the same name;
    the message names both origins (:class:`fer_bench.registries.Registry`)."""
