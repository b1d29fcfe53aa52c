"""The REST API fuzzed from its own OpenAPI document with schemathesis: whatever the parameters,
no 500s, and every documented route answers. Runs in-process against the demo store."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from reachwatch.service import users
from reachwatch.service.store_access import Store
from reachwatch.web.app import create_app

pytestmark = pytest.mark.slow


def test_no_server_errors(demo_web: tuple[Store, str, str]) -> None:
    """Every operation, 25 generated requests each (schemathesis's pytest plugin does not run on
    this pytest, so the operations are walked here with its strategies and checks)."""
    token = users.api_token(demo_web[0], "admin", days=1)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(demo_web[0]))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case: schemathesis.Case) -> None:
            case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error])

        run()


def test_document_covers_every_route(demo_web: tuple[Store, str, str]) -> None:
    app = create_app(demo_web[0])
    document = app.openapi()
    paths = set(document["paths"])
    expected = {
        "/api/v1/" + name
        for name in (
            "stats", "floor", "post", "post/harm", "post/engagers", "post/network", "post/coordination",
            "post/spillover", "post/series.csv", "account", "account/network", "people", "person",
            "person/days.csv", "search", "narratives", "narrative", "account/narratives",
            "narratives/discover",
        )
    }  # fmt: skip
    assert expected <= paths
    for path, methods in document["paths"].items():
        if path.endswith(".csv"):
            continue
        for operation in methods.values():
            schema_of = operation["responses"]["200"]["content"]["application/json"]["schema"]
            assert schema_of, path
    components = document["components"]["schemas"]
    assert {"Dossier", "WatchFloor", "SpilloverReport", "PostHarm"} <= set(components)
