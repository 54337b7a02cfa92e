"""`Status` error bodies shaped like the real API server's, raised as `ApiError`.

Messages follow k8s.io/apimachinery/pkg/api/errors word for word where clients or the bot
might look at them (`pods "x" not found`, `Operation cannot be fulfilled on ...`).
"""

from __future__ import annotations

from .resources import Resource

OPTIMISTIC_LOCK = (
    "the object has been modified; please apply your changes to the latest version and try again"
)
TOO_MANY_REQUESTS = "Too many requests, please try again later."
EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this response "
    "to retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the "
    "first chunk was returned and now may show up in the list."
)
_SERVER_ERRORS = {
    500: ("InternalError", "Internal error occurred: injected fault"),
    502: ("InternalError", "the server responded with a bad gateway"),
    503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
    504: ("Timeout", "the server was unable to return a response in the time allotted"),
}


class ApiError(Exception):
    """A failed request: an HTTP code and the `Status` body the real server would send."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    @property
    def body(self) -> dict:
        return status_body("Failure", self.code, message=self.message, reason=self.reason,
                           details=self.details)


def status_body(outcome: str, code: int, **fields: object) -> dict:
    body: dict = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": outcome}
    body.update({k: v for k, v in fields.items() if v is not None})
    body["code"] = code
    return body


def success(resource: Resource, name: str, uid: str | None = None, code: int = 200) -> dict:
    details = _details(resource, name) | ({"uid": uid} if uid else {})
    return status_body("Success", code, details=details)


def _details(resource: Resource, name: str | None) -> dict:
    details = {"name": name, "group": resource.group, "kind": resource.plural}
    return {k: v for k, v in details.items() if v}


def not_found(resource: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource.qualified} "{name}" not found',
                    _details(resource, name))


def already_exists(resource: Resource, name: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{resource.qualified} "{name}" already exists',
                    _details(resource, name))


def conflict(resource: Resource, name: str, why: str = OPTIMISTIC_LOCK) -> ApiError:
    message = f'Operation cannot be fulfilled on {resource.qualified} "{name}": {why}'
    return ApiError(409, "Conflict", message, _details(resource, name))


def precondition_failed(resource: Resource, name: str, field: str, wanted: str,
                        actual: str) -> ApiError:
    why = (f"Precondition failed: {field} in precondition: {wanted}, "
           f"{field} in object meta: {actual}")
    return conflict(resource, name, why)


def invalid(label: str, name: str, field: str, cause: str, detail: str,
            resource: Resource | None = None) -> ApiError:
    """422: `label` is the Kind (create) or `plural.group` (update), as the real server words it."""
    details: dict = {"name": name, "kind": label,
                     "causes": [{"reason": cause, "message": detail, "field": field}]}
    if resource is not None and resource.group:
        details["group"] = resource.group
    return ApiError(422, "Invalid", f'{label} "{name}" is invalid: {field}: {detail}',
                    {k: v for k, v in details.items() if v})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unknown_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource", {})


def not_acceptable(accept: str) -> ApiError:
    return ApiError(406, "NotAcceptable",
                    f"only the following media types are accepted: application/json ({accept})")


def unsupported_media(content_type: str) -> ApiError:
    return ApiError(
        415, "UnsupportedMediaType",
        f"the body of the request was in an unknown format ({content_type}) - accepted media "
        "types include: application/json-patch+json, application/merge-patch+json, "
        "application/strategic-merge-patch+json")


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def forbidden(user: str, verb: str, resource: Resource, namespace: str | None,
              name: str | None, subresource: str | None) -> ApiError:
    target = f"{resource.plural}/{subresource}" if subresource else resource.plural
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    who = f'{resource.qualified} "{name}"' if name else resource.qualified
    message = (f'{who} is forbidden: User "{user}" cannot {verb} resource "{target}" '
               f'in API group "{resource.group}" {scope}')
    return ApiError(403, "Forbidden", message, _details(resource, name))


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, "TooManyRequests", TOO_MANY_REQUESTS,
                    {"retryAfterSeconds": retry_after}, {"Retry-After": str(retry_after)})


def server_error(code: int) -> ApiError:
    reason, message = _SERVER_ERRORS.get(code, ("InternalError", f"injected HTTP {code}"))
    return ApiError(code, reason, message, {"causes": [{"message": "injected fault"}]})
