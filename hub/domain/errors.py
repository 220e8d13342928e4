"""The hub's one error tree. Services raise these; one handler maps them to HTTP problems.

HubError
├── NotFound            404  no such object, or not in the caller's reach (never says which)
├── Forbidden           403  the caller's role may not do this
├── Conflict            409  the state of things forbids it (already checked out, blacklisted)
├── InvalidTransition   409  a lifecycle step that does not exist (retired -> assigned)
├── Invalid             422  a value that passes the schema but not the rules
└── Unavailable         503  a service the hub needs (the MQTT broker) cannot be reached
"""

from __future__ import annotations


class HubError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(HubError):
    status = 404
    title = "Not found"


class Forbidden(HubError):
    status = 403
    title = "Forbidden"


class Conflict(HubError):
    status = 409
    title = "Conflict"


class InvalidTransition(Conflict):
    title = "Invalid transition"


class Invalid(HubError):
    status = 422
    title = "Invalid value"


class Unavailable(HubError):
    status = 503
    title = "Service unavailable"
