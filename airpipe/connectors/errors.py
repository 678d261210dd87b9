"""What goes wrong when airpipe runs a connector.

* ConnectorError          the process could not start, exited non-zero, or said nothing useful
  * ConnectorTimeout      a spec/check/discover ran past the launcher's timeout and was killed
  * ConnectorNotFound     the registry knows no command for a definition's repository

These carry connector output, not HTTP meaning: the worker stores them on the job (``message`` as
the failure's external message, ``failure_type`` when the connector said what kind it was).
"""

from __future__ import annotations

from collections.abc import Iterable


class ConnectorError(Exception):
    """``str()`` is the message followed by the last log lines; ``message`` alone is the short form.

    ``failure_type`` is the connector's own ``failure_type`` ("config_error", "system_error",
    "transient_error") when it reported the error in a TRACE message, else None.
    """

    def __init__(self, message: str, last_lines: Iterable[str] = (), *, failure_type: str | None = None) -> None:
        self.message = message
        self.last_lines = list(last_lines)
        self.failure_type = failure_type
        super().__init__(message)

    def __str__(self) -> str:
        if not self.last_lines:
            return self.message
        return self.message + "\nlast log lines:\n" + "\n".join(self.last_lines)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ConnectorTimeout(ConnectorError):
    pass


class ConnectorNotFound(ConnectorError):
    pass
