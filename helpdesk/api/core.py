"""The API's plumbing: bearer tokens, the error body, request parsing and the operation registry.

An endpoint is a function decorated with ``operation(...)``: it declares its path, method, the
role it needs and the pydantic models of its query, body and answers. The decorator checks the
token and the role, parses and validates the input (a wrong type or an unknown field is a 422,
never a 500), rate-limits per token, and records the operation for the OpenAPI document, which
is therefore generated from the same declarations that run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import current_app, g, jsonify, request
from pydantic import BaseModel, ValidationError

from ..extensions import limiter
from ..timeutil import now_local
from . import bp
from . import tokens as token_service

MESSAGES = {
    400: ("bad_request", "Yêu cầu không hợp lệ."),
    401: ("unauthorized", "Thiếu khóa API hoặc khóa không hợp lệ, đã hết hạn hay đã bị thu hồi."),
    403: ("forbidden", "Vai trò của bạn không được làm việc này."),
    404: ("not_found", "Không tìm thấy."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ ở địa chỉ này."),
    409: ("conflict", "Xung đột với trạng thái hiện tại."),
    413: ("too_large", "Nội dung gửi lên quá lớn."),
    415: ("unsupported_media_type", "Nội dung phải là JSON (Content-Type: application/json)."),
    422: ("invalid", "Dữ liệu không hợp lệ."),
    429: ("rate_limited", "Quá nhiều yêu cầu; hãy thử lại sau."),
    500: ("server_error", "Đã có lỗi xảy ra; không có dữ liệu nào bị ghi dở."),
}


class ApiError(Exception):
    """An answer other than success: status, machine code, Vietnamese message, fields."""

    def __init__(
        self,
        status: int,
        message: str | None = None,
        fields: dict[str, str] | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ):
        default_code, default_message = MESSAGES.get(status, ("error", "Lỗi."))
        super().__init__(message or default_message)
        self.status = status
        self.code = code or default_code
        self.message = message or default_message
        self.fields = fields or {}
        self.extra = extra or {}


def error_response(exc: ApiError):
    body: dict[str, Any] = {
        "error": {"code": exc.code, "message": exc.message, "fields": exc.fields},
    }
    body.update(exc.extra)
    response = jsonify(body)
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="helpdesk"'
    if exc.status == 429:
        response.headers["Retry-After"] = str(_retry_after())
    return response


def is_api_request() -> bool:
    return request.path.startswith(bp.url_prefix + "/") or request.path == bp.url_prefix


def http_error(status: int, message: str | None = None):
    """The JSON answer for an HTTP error raised outside an endpoint (routing, size, limits)."""
    return error_response(ApiError(status, message))


def _retry_after() -> int:
    limit = getattr(limiter, "current_limit", None)
    if limit is None:
        return 60
    return max(1, int(limit.reset_at - time.time()) + 1)


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc)


# -- tokens ------------------------------------------------------------------------------------


def bearer_secret() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return secret.strip() or None


def authenticate():
    """The token's user, set as the request's current user; 401 otherwise."""
    secret = bearer_secret()
    found = token_service.user_for(secret) if secret else None
    if found is None:
        raise ApiError(401)
    row, user = found
    token_service.touch(row, now_local())
    g.api_token = row
    g._login_user = user  # Flask-Login's current_user for this request only: no cookie
    return user


def rate_limit_key() -> str:
    """One bucket per token (its hash), else per address: shared by every worker via Redis."""
    secret = bearer_secret()
    if secret:
        return "api-token:" + token_service.digest(secret)[:32]
    return "api-addr:" + (request.remote_addr or "?")


def _rate_limit() -> str:
    return current_app.config.get("API_RATE_LIMIT", "600 per minute")


# -- input -------------------------------------------------------------------------------------


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    return ".".join(parts) or "body"


def validation_fields(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        name = _field_name(error.get("loc", ()))
        kind = error.get("type", "")
        if kind == "extra_forbidden":
            reason = "trường không được biết đến"
        elif kind == "missing":
            reason = "bắt buộc"
        else:
            reason = error.get("msg", "không hợp lệ")
        fields.setdefault(name, reason)
    return fields


def parse_query(model: type[BaseModel]) -> BaseModel:
    data: dict[str, Any] = {}
    lists = {
        f.alias or name
        for name, f in model.model_fields.items()
        if getattr(f.annotation, "__origin__", None) is list
    }
    for key in request.args:
        values = request.args.getlist(key)
        data[key] = values if key in lists else values[-1]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, fields=validation_fields(exc)) from exc


def parse_body(model: type[BaseModel]) -> BaseModel:
    limit = current_app.config.get("API_MAX_JSON_BYTES", 256 * 1024)
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"Nội dung JSON tối đa {limit // 1024} KB.")
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415)
    raw = request.get_data(cache=True)
    if len(raw) > limit:
        raise ApiError(413, f"Nội dung JSON tối đa {limit // 1024} KB.")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        message = "Nội dung không phải JSON hợp lệ (UTF-8)."
        raise ApiError(400, message, code="malformed_json") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "Nội dung phải là một đối tượng JSON.", code="malformed_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, fields=validation_fields(exc)) from exc


# -- the registry ------------------------------------------------------------------------------


def _merge(responses: dict[int, Any], errors: set[int]) -> dict[int, Any]:
    """Declared answers plus the error body; an error status with an answer of its own (the
    imports' list of bad rows) may be either."""
    merged = dict(responses)
    for status in sorted(errors):
        merged[status] = ("either", responses[status]) if status in responses else "error"
    return merged


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    description: str
    role: str | None
    tag: str
    query: type[BaseModel] | None
    body: type[BaseModel] | None
    multipart: dict[str, Any] | None
    responses: dict[int, Any] = field(default_factory=dict)


OPERATIONS: list[Operation] = []


def operation(
    rule: str,
    method: str = "GET",
    *,
    summary: str,
    tag: str,
    role: str | None = "operator",
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    multipart: dict[str, Any] | None = None,
    responses: dict[int, Any] | None = None,
    errors: tuple[int, ...] = (),
) -> Callable:
    """Register an API endpoint. ``role=None`` means no token is needed.

    ``responses`` maps a status to a pydantic model, to ``(content type, description)`` for a
    file, or to None for an empty answer; ``errors`` lists the error statuses it may answer
    (401/403/422/429 are added by the role and the input)."""

    def decorator(func: Callable) -> Callable:
        @wraps(func)
        def view(**kwargs):
            if role is not None:
                user = authenticate()
                if not user.has_role(role):
                    raise ApiError(403)
                kwargs["user"] = user
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                kwargs["body"] = parse_body(body)
            return func(**kwargs)

        view.access_roles = (role,) if role else ()
        limited = view
        if role is not None:
            limited = limiter.shared_limit(_rate_limit, scope="api", key_func=rate_limit_key)(view)
        bp.add_url_rule(rule, endpoint=func.__name__, view_func=limited, methods=[method])
        statuses = set(errors)
        if role is not None:
            statuses |= {401, 403, 429}
        if query is not None or body is not None or multipart is not None:
            statuses.add(422)
        if body is not None:
            statuses |= {400, 413, 415}
        OPERATIONS.append(
            Operation(
                rule=rule,
                method=method.lower(),
                endpoint=func.__name__,
                summary=summary,
                description=(func.__doc__ or "").strip(),
                role=role,
                tag=tag,
                query=query,
                body=body,
                multipart=multipart,
                responses=_merge(responses or {}, statuses),
            )
        )
        return limited

    return decorator
