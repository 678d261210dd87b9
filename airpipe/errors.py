"""airpipe's exceptions. Services raise these; the api layer maps them to responses in one place.

* AirpipeError                 500, anything we raise on purpose
  * NotFound                   404, an unknown or deleted id
  * InvalidInput               422, a request or a connector config that fails validation
  * Conflict                   409, a valid request the resource's state forbids
  * Unauthorized               401, missing or wrong credentials
  * Forbidden                  403, credentials whose scopes do not cover the operation
  * JobTimeout                 504, a synchronous job (check, discover, spec) took too long
  * PayloadTooLarge            413, a request body over AIRPIPE_MAX_BODY_BYTES
  * NoWorker                   503, a job must run now and no worker process is alive
* SettingsError                start-up only: a bad AIRPIPE_* variable
"""

from __future__ import annotations

from typing import Any


class AirpipeError(Exception):
    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class NotFound(AirpipeError):
    status_code = 404

    def __init__(self, resource: str, id: object) -> None:
        super().__init__(f"Could not find {resource} with id {id}")
        self.id = str(id)


class InvalidInput(AirpipeError):
    status_code = 422

    def __init__(self, message: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []

    @classmethod
    def field(cls, path: str, message: str, value: Any = None) -> InvalidInput:
        """One bad field: ``path`` is a JSON path such as ``$.connectionConfiguration.port``."""
        return cls(f"{path}: {message}", [FieldError(path, message, value)])


class FieldError:
    __slots__ = ("path", "message", "value")

    def __init__(self, path: str, message: str, value: Any = None) -> None:
        self.path = path
        self.message = message
        self.value = value

    def __repr__(self) -> str:
        return f"FieldError({self.path!r}, {self.message!r})"


class Conflict(AirpipeError):
    status_code = 409


class Unauthorized(AirpipeError):
    status_code = 401


class Forbidden(AirpipeError):
    status_code = 403


class JobTimeout(AirpipeError):
    status_code = 504


class PayloadTooLarge(AirpipeError):
    status_code = 413


class NoWorker(AirpipeError):
    status_code = 503


class SettingsError(Exception):
    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable} {message}")
        self.variable = variable


def _outage_types() -> tuple[type[BaseException], ...]:
    """Errors that mean a service airpipe depends on is unreachable, not that airpipe is broken."""
    import peewee

    types: list[type[BaseException]] = [peewee.OperationalError, peewee.InterfaceError]
    try:
        import redis

        types += [redis.ConnectionError, redis.TimeoutError]
    except ImportError:  # the embedded default needs no Redis client
        pass
    return tuple(types)


#: the database or the queue is down (the API answers 503; a committed job waits to be re-sent)
OUTAGES = _outage_types()
