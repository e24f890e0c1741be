"""The OpenAPI document: valid, complete, and true of a real running server (Schemathesis)."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import token_for

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_the_document_validates_and_covers_every_route(demo_app):
    response = demo_app.test_client().get("/api/v1/openapi.json")  # no token needed
    assert response.status_code == 200
    doc = response.get_json()
    assert doc["openapi"].startswith("3.1")
    validate(doc)  # raises on an invalid document
    documented = {(path, method.upper()) for path, ops in doc["paths"].items() for method in ops}
    routed = set()
    for rule in demo_app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.removeprefix("/api/v1")
            for name in rule.arguments:
                path = path.replace(f"<{name}>", "{" + name + "}")
            path = path.replace("<any(pdf, docx, html):fmt>", "{fmt}")
            routed |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert routed == documented
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["responses"], (path, method)
            if op.get("security") != []:
                assert "401" in op["responses"] and "403" in op["responses"], (path, method)


def _operations(doc: dict) -> list:
    schema = schemathesis.openapi.from_dict(doc)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_input_gives_a_server_error_or_breaks_the_schema(demo_app, live_demo, mode):
    """Schemathesis generates requests from the document (valid ones, then invalid ones) against
    a real HTTP server on the demo data; every answer must be in the document and never a 5xx."""
    token = token_for("thang.vd")
    doc = requests.get(live_demo.url + "/api/v1/openapi.json", timeout=10).json()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    base = live_demo.url + "/api/v1"
    operations = _operations(doc)
    assert len(operations) >= 9
    heavy = {"report_file": 3, "imports": 15}  # PDFs take a second each
    for operation in operations:
        raw = operation.definition.raw
        if mode == GenerationMode.NEGATIVE and not (
            raw.get("parameters") or raw.get("requestBody")
        ):
            continue  # nothing to send wrong (the document itself)
        examples = heavy.get(raw.get("operationId"), 40)
        strategy = operation.as_strategy(generation_mode=mode)

        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy, data=st.data())
        def run(case, data):
            response = case.call(base_url=base, session=session, timeout=60)
            case.validate_response(response, checks=CHECKS)

        run()
