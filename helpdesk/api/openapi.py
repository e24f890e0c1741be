"""The OpenAPI 3.1 document, built by apispec from the operations' own declarations."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from apispec import APISpec
from flask import jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from . import schemas as s
from .core import MESSAGES, OPERATIONS, operation

REF = "#/components/schemas/{model}"
_CONVERTER = re.compile(r"<(?:([a-z_]+)(?:\(([^)]*)\))?:)?([a-z_]+)>")


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """``/tickets/<ref>`` -> ``/tickets/{ref}`` and its path parameters."""
    params = []

    def replace(match: re.Match) -> str:
        converter, args, name = match.groups()
        schema: dict[str, Any] = {"type": "string"}
        if converter == "any":
            schema["enum"] = [a.strip() for a in args.split(",")]
        if name == "ref":
            schema["maxLength"] = 20
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _CONVERTER.sub(replace, rule), params


def _query_parameters(model: type[BaseModel], defs: dict) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True, ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": {k: v for k, v in prop.items() if k not in ("title",)},
        }
        if prop.get("description"):
            param["description"] = prop["description"]
        if prop.get("type") == "array":
            param["style"], param["explode"] = "form", True
        out.append(param)
    return out


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _models() -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {"ErrorBody": s.ErrorBody}
    for op in OPERATIONS:
        if op.body is not None:
            found[op.body.__name__] = op.body
        for answer in op.responses.values():
            model = (
                answer[-1]
                if isinstance(answer, tuple) and answer[0] == "either"
                else (answer[0] if isinstance(answer, tuple) else answer)
            )
            if isinstance(model, type) and issubclass(model, BaseModel):
                found[model.__name__] = model
    return list(found.values())


def _response(status: int, answer: Any) -> dict[str, Any]:
    if answer == "error":
        return {
            "description": MESSAGES.get(status, ("", "error"))[1],
            "content": {"application/json": {"schema": _ref(s.ErrorBody)}},
        }
    if isinstance(answer, tuple) and answer[0] == "either":
        schema = {"anyOf": [_ref(answer[1]), _ref(s.ErrorBody)]}
        description = MESSAGES.get(status, ("", "error"))[1]
        return {"description": description, "content": {"application/json": {"schema": schema}}}
    if isinstance(answer, tuple):
        model, description = answer
        content = {"application/json": {"schema": _ref(model)}}
        return {"description": description, "content": content}
    if isinstance(answer, type) and issubclass(answer, BaseModel):
        return {
            "description": answer.__doc__.strip().splitlines()[0] if answer.__doc__ else "OK",
            "content": {"application/json": {"schema": _ref(answer)}},
        }
    if isinstance(answer, dict):  # files: content type -> description
        return {
            "description": "; ".join(answer.values()),
            "content": {
                ctype: {"schema": {"type": "object"}}
                if ctype == "application/json"
                else {"schema": {"type": "string", "contentMediaType": ctype}}
                for ctype in answer
            },
        }
    return {"description": "OK"}


@cache
def build() -> dict[str, Any]:
    spec = APISpec(
        title="helpdesk API",
        version="1.0.0",
        openapi_version="3.1.0",
        info={
            "description": (
                "The support desk's JSON API for other systems (docs/API.md). Bearer tokens act "
                "with their user's role; errors are "
                '`{"error": {"code", "message", "fields"}}`.'
            )
        },
        servers=[{"url": "/api/v1"}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    _key_map, top = models_json_schema(
        [(m, "serialization") for m in _models()]
        + [(op.body, "validation") for op in OPERATIONS if op.body is not None],
        ref_template=REF,
    )
    defs = dict(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        path, params = _path(op.rule)
        if op.query is not None:
            params += _query_parameters(op.query, defs)
        entry: dict[str, Any] = {
            "operationId": op.endpoint,
            "summary": op.summary,
            "tags": [op.tag],
            "responses": {str(k): _response(k, v) for k, v in sorted(op.responses.items())},
        }
        if op.description:
            entry["description"] = op.description
        if params:
            entry["parameters"] = params
        if op.role is None:
            entry["security"] = []
        else:
            entry["security"] = [{"bearer": []}]
            entry["x-role"] = op.role
        if op.endpoint == "create":
            entry.setdefault("parameters", []).append(
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "A repeated request with the same key returns the first ticket.",
                    "schema": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 200,
                        "pattern": "^[!-~]+$",
                    },  # fmt: skip
                }
            )
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": _ref(op.body)}},
            }
        if op.multipart is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "files": {
                                    "type": "array",
                                    "items": {
                                        "type": "string",
                                        "contentMediaType": "application/octet-stream",
                                    },  # fmt: skip
                                    "description": op.multipart["files"],
                                }
                            },
                            "required": ["files"],
                        }
                    }
                },
            }
        paths.setdefault(path, {})[op.method] = entry
    for name, schema in sorted(defs.items()):
        spec.components.schema(name, schema)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@operation(
    "/openapi.json",
    "GET",
    summary="This document",
    tag="meta",
    role=None,
    responses={200: {"application/json": "the OpenAPI 3.1 document"}},
)
def openapi_document():
    """No token is needed."""
    return jsonify(build())
