"""Schemathesis over the OpenAPI schema: generated requests, valid and invalid, to every
operation with the admin token, over real HTTP (uvicorn). No 5xx, and every answer is
documented (status, content type, body schema)."""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from toyguide.service import Settings, create_app
from toyguide.service.holder import load_guide

from .conftest import ADMIN_AUTH, Served, running, settings_for

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 30  # per operation

# The schema needs no model: it comes from an app that is never started. Operations are
# parametrised by hand, and the app runs under uvicorn, because schemathesis's pytest
# integration ends in-process apps' lifespans after each of its items (and its lazy
# ``from_fixture`` schemas fail on pytest 9).
SCHEMA = schemathesis.openapi.from_dict(create_app(Settings("unused", "unused")).openapi())
OPERATIONS = [
    (path, method.upper())
    for path, methods in SCHEMA.raw_schema["paths"].items()
    for method in methods
]


@pytest.fixture(scope="module")
def base_url(served, tmp_path_factory):
    """The app over its own copy of the store (generated events must not reach the shared one)."""
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copyfile(served.store, root / "shop.duckdb")
    copy = Served(root, root / "shop.duckdb", served.run, served.model, served.shopper,
                  served.item)  # fmt: skip
    guide = load_guide(copy.model, copy.store)
    with running(create_app(settings_for(copy), guide)) as url:
        yield url  # stopping runs the lifespan's end: the guides reloads loaded are closed
    guide.close()


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_no_server_errors_and_documented_answers(base_url, path, method) -> None:
    operation = SCHEMA[path][method]
    cases = st.one_of([operation.as_strategy(generation_mode=mode) for mode in GenerationMode])

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case) -> None:
        response = case.call(base_url=base_url, headers=ADMIN_AUTH)
        case.validate_response(response, checks=CHECKS)

    check()
