"""Security of the web app: every route called as every role and as nobody against the allowed
set written here (a new route without an entry fails), CSRF, session fixation, cookie flags, the
login rate limit, and hostile input in every form field."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from reachwatch.service.store_access import Store
from reachwatch.web.app import create_app
from reachwatch.web.auth import SESSION_COOKIE
from tests.web_fixtures import PASSWORD, ROLES, log_in

READ = {"viewer", "analyst", "supervisor", "admin"}
INVESTIGATE = {"analyst", "supervisor", "admin"}
CONFIGURE = {"supervisor", "admin"}
OVERSEE = {"supervisor", "auditor", "admin"}
AUDIT = {"auditor", "admin"}
ADMIN = {"admin"}
CASES = {"analyst", "supervisor", "auditor", "admin"}
ANYONE = set(ROLES)
PUBLIC = "public"

# Who may call what. Written out by hand: the test checks the app against this, not against itself.
EXPECTED: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): ANYONE,
    ("POST", "/prefs/timezone"): ANYONE,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,  # says up or not, and nothing else
    ("GET", "/metrics"): PUBLIC,  # request counts and latency: no data
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    # Reading the monitored data.
    **{
        ("GET", path): READ
        for path in (
            "/",
            "/floor/live",
            "/post",
            "/post/engagers",
            "/post/coordination",
            "/post/coordination/edge",
            "/post/reply-attacks",
            "/post/spillover",
            "/methods/{name}",
            "/account",
            "/people",
            "/person",
            "/person/counterfactual",
            "/person/reply-attacks",
            "/brief",
            "/search",
            "/narratives",
            "/narratives/discover",
            "/narrative",
            "/alerts",
            "/alert",
            "/api/v1/stats",
            "/api/v1/floor",
            "/api/v1/post",
            "/api/v1/post/harm",
            "/api/v1/post/engagers",
            "/api/v1/post/network",
            "/api/v1/post/coordination",
            "/api/v1/post/coordination/edge",
            "/api/v1/post/reply-attacks",
            "/api/v1/person/reply-attacks",
            "/api/v1/post/spillover",
            "/api/v1/account",
            "/api/v1/account/network",
            "/api/v1/people",
            "/api/v1/person",
            "/api/v1/narratives",
            "/api/v1/narrative",
            "/api/v1/account/narratives",
            "/api/v1/narratives/discover",
            "/api/v1/search",
            "/api/v1/alerts",
            "/api/v1/alert",
        )
    },
    # Investigating: exports, cases, reveals, triage, narratives.
    ("GET", "/api/v1/post/series.csv"): INVESTIGATE,
    ("GET", "/api/v1/person/days.csv"): INVESTIGATE,
    ("POST", "/narratives"): INVESTIGATE,
    ("POST", "/narratives/promote"): INVESTIGATE,
    ("POST", "/searches"): INVESTIGATE,
    ("POST", "/searches/delete"): INVESTIGATE,
    ("POST", "/cases"): INVESTIGATE,
    ("POST", "/case/join"): INVESTIGATE,
    ("POST", "/case/close"): INVESTIGATE,
    ("POST", "/case/work"): INVESTIGATE,
    ("POST", "/case/clock"): INVESTIGATE,
    ("POST", "/case/time"): INVESTIGATE,
    ("GET", "/reveal"): INVESTIGATE,
    ("POST", "/reveal"): INVESTIGATE,
    ("POST", "/api/v1/reveal"): INVESTIGATE,
    ("POST", "/alert"): INVESTIGATE,
    ("POST", "/api/v1/alert/acknowledge"): INVESTIGATE,
    ("POST", "/api/v1/alert/case"): INVESTIGATE,
    ("GET", "/cases"): CASES,
    ("GET", "/case"): CASES,
    ("GET", "/api/v1/cases"): CASES,
    ("GET", "/api/v1/case"): CASES,
    ("GET", "/alerts/rules"): CONFIGURE,
    ("POST", "/alerts/rules"): CONFIGURE,
    ("GET", "/oversight"): OVERSEE,
    ("GET", "/oversight.csv"): OVERSEE,
    ("GET", "/api/v1/oversight"): OVERSEE,
    ("GET", "/audit"): AUDIT,
    ("GET", "/api/v1/audit"): AUDIT,
    ("GET", "/users"): ADMIN,
    ("POST", "/users"): ADMIN,
    ("POST", "/users/disable"): ADMIN,
}


@pytest.fixture(scope="module")
def app(demo_web: tuple[Store, str, str]) -> object:
    return create_app(demo_web[0])


@pytest.fixture(scope="module")
def clients(app: object) -> Iterator[dict[str, tuple[TestClient, str]]]:
    found = {}
    for role in ROLES:
        client = TestClient(app)  # type: ignore[arg-type]
        found[role] = (client, log_in(client, role))
    return found


def flat_routes(routes: list[object]) -> Iterator[object]:
    """Routes, with included routers opened (FastAPI may keep them as included-router entries)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from flat_routes(inner.routes)
        else:
            yield route


def routes(app: object) -> set[tuple[str, str]]:
    found = set()
    for route in flat_routes(app.routes):  # type: ignore[attr-defined]
        path = route.path  # type: ignore[attr-defined]
        for method in (getattr(route, "methods", None) or set()) - {"HEAD"}:
            found.add((method, path))
        assert isinstance(route, APIRoute) or path.startswith(
            ("/api/docs", "/docs/", "/api/v1/openapi", "/static")
        )
    return found


def test_every_route_has_an_expected_set(app: object) -> None:
    assert routes(app) == set(EXPECTED)


def test_matrix(app: object, clients: dict[str, tuple[TestClient, str]]) -> None:
    anonymous = TestClient(app)  # type: ignore[arg-type]
    wrong: list[str] = []
    for (method, path), allowed in sorted(EXPECTED.items()):
        if path == "/logout":
            continue  # ends the session: checked on its own below
        answer = anonymous.request(method, path, follow_redirects=False)
        if allowed == PUBLIC:
            if answer.status_code in (401, 403):
                wrong.append(f"anonymous {method} {path}: {answer.status_code}, expected public")
            continue
        expected_anon = 401 if path.startswith("/api/") else 303
        if answer.status_code != expected_anon or (
            expected_anon == 303 and "/login" not in answer.headers["location"]
        ):
            wrong.append(f"anonymous {method} {path}: {answer.status_code}, expected {expected_anon}")
        for role, (client, token) in clients.items():
            answer = client.request(method, path, headers={"X-CSRF-Token": token}, follow_redirects=False)
            refused = answer.status_code in (401, 403) or (
                answer.status_code == 303 and answer.headers.get("location", "").startswith("/login")
            )
            if refused == (role in allowed):
                wrong.append(f"{role} {method} {path}: {answer.status_code} {answer.text[:120]!r}")
    assert wrong == []


def test_logout_ends_the_session(app: object) -> None:
    for role in ROLES:
        client = TestClient(app)  # type: ignore[arg-type]
        token = log_in(client, role)
        cookie = client.cookies[SESSION_COOKIE]
        assert (
            client.post("/logout", headers={"X-CSRF-Token": token}, follow_redirects=False).status_code == 303
        )
        replay = TestClient(app)  # type: ignore[arg-type]
        replay.cookies.set(SESSION_COOKIE, cookie)
        assert replay.get("/api/v1/stats").status_code == 401


def test_csrf_is_required_for_every_change_made_with_the_cookie(app: object) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    token = log_in(client, "admin")
    for (method, path), _ in EXPECTED.items():
        if method != "POST" or path in ("/login",):
            continue
        assert client.post(path, follow_redirects=False).status_code == 403, path
        assert (
            client.post(path, headers={"X-CSRF-Token": "forged"}, follow_redirects=False).status_code == 403
        ), path
        foreign = client.post(
            path, headers={"X-CSRF-Token": token, "Origin": "https://evil.example"}, follow_redirects=False
        )
        assert foreign.status_code == 403, path
    # A bearer token is not sent by browsers on their own: API scripts need no CSRF token.
    from reachwatch.service import users

    bearer = users.api_token(app.state.store, "analyst", days=1)  # type: ignore[attr-defined]
    plain = TestClient(app)  # type: ignore[arg-type]
    answer = plain.post("/api/v1/alert/acknowledge?id=999999", headers={"Authorization": f"Bearer {bearer}"})
    assert answer.status_code == 404


def test_session_fixation_and_cookie_flags(app: object) -> None:
    client = TestClient(app, base_url="https://testserver")  # type: ignore[arg-type]
    client.cookies.set(SESSION_COOKIE, "chosen-by-an-attacker")
    assert client.get("/api/v1/stats").status_code == 401
    answer = client.post("/login", data={"name": "viewer", "password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "chosen-by-an-attacker" not in cookie
    assert re.search(r"(?i)\bHttpOnly\b", cookie)
    assert re.search(r"(?i)\bSecure\b", cookie)
    assert re.search(r"(?i)SameSite=strict", cookie)
    # The same name twice gets two different sessions.
    other = TestClient(app, base_url="https://testserver")  # type: ignore[arg-type]
    again = other.post("/login", data={"name": "viewer", "password": PASSWORD}, follow_redirects=False)
    assert again.headers["set-cookie"].split(";")[0] != cookie.split(";")[0]


def test_login_failures_are_limited(app: object) -> None:
    from reachwatch.service import users

    store = app.state.store  # type: ignore[attr-defined]
    users.add_user(store, "target", "viewer", PASSWORD)
    client = TestClient(app, client=("192.0.2.7", 40000))  # type: ignore[arg-type]  # its own address
    for _ in range(users.MAX_FAILURES):
        failed = client.post("/login", data={"name": "target", "password": "wrong password!"})
        assert failed.status_code == 401
        assert "Wrong user name or password" in failed.text
    limited = client.post("/login", data={"name": "target", "password": PASSWORD})
    assert limited.status_code == 429  # even the right password, until the window passes
    assert "Too many failed logins" in limited.text
    assert client.get("/api/v1/stats").status_code == 401
    # The address is limited too: other names from it wait as well; other addresses do not.
    assert client.post("/login", data={"name": "viewer", "password": PASSWORD}).status_code == 429
    elsewhere = TestClient(app, client=("192.0.2.8", 40000))  # type: ignore[arg-type]
    assert (
        elsewhere.post(
            "/login", data={"name": "viewer", "password": PASSWORD}, follow_redirects=False
        ).status_code
        == 303
    )


def test_x_forwarded_for_does_not_pick_the_address(tmp_path: Path) -> None:
    """Over the real server as `reachwatch serve` configures it: a client that names other
    addresses in X-Forwarded-For is still limited as itself (a store of its own: the loopback
    address ends up limited)."""
    import httpx

    from reachwatch.service import users
    from tests.web_fixtures import serve_in_thread

    store = Store.open(str(tmp_path / "xff.db"))
    users.add_user(store, "target", "viewer", PASSWORD)
    try:
        for base in serve_in_thread(store):
            with httpx.Client(base_url=base) as client:
                for n in range(users.MAX_FAILURES):
                    client.post(
                        "/login", data={"name": f"nobody{n}", "password": "wrong password!"},
                        headers={"X-Forwarded-For": f"203.0.113.{n}"},
                    )  # fmt: skip
                answer = client.post(
                    "/login", data={"name": "target", "password": PASSWORD},
                    headers={"X-Forwarded-For": "203.0.113.99"},
                )  # fmt: skip
                assert answer.status_code == 429  # the real (loopback) address made five failures
    finally:
        store.close()


HOSTILE = "<script>window.__pwned=1</script><img src=x onerror=alert(1)>\"'&{{7*7}}"


def test_hostile_input_in_every_form_field(app: object) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    token = log_in(client, "admin")
    form = {"csrf": token}
    opened = client.post(
        "/cases", data=form | {"title": HOSTILE, "justification": HOSTILE * 2, "legal_basis": HOSTILE}
    )
    assert opened.status_code == 200  # followed to the case page
    assert HOSTILE not in opened.text
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in opened.text
    assert "49" not in re.findall(r"\{\{7\*7\}\}|49", opened.text)  # no template evaluation
    case_id = re.search(
        r"case-\d{5}", opened.url.query.decode() if isinstance(opened.url.query, bytes) else str(opened.url)
    ).group(0)  # type: ignore[union-attr]
    logged = client.post("/case/time", data=form | {"id": case_id, "minutes": "30", "note": HOSTILE})
    assert logged.status_code == 200
    assert HOSTILE not in logged.text
    for path, data in [
        ("/case/join", {"id": case_id, "officer": HOSTILE}),
        ("/case/clock", {"id": case_id, "action": HOSTILE}),
        ("/case/work", {"id": HOSTILE}),
        ("/reveal", {"pseudonym": HOSTILE, "reason": HOSTILE}),
        ("/users", {"name": HOSTILE, "role": HOSTILE, "password": HOSTILE}),
        ("/users/disable", {"name": HOSTILE}),
        ("/alert", {"id": HOSTILE, "action": "comment", "text": HOSTILE}),
        ("/alerts/rules", {"text": HOSTILE}),
        ("/narratives", {"name": HOSTILE, "examples": HOSTILE}),
        ("/narratives/promote", {"name": HOSTILE, "label": HOSTILE, "since": HOSTILE}),
        ("/login", {"name": HOSTILE, "password": HOSTILE, "next": HOSTILE}),
    ]:
        answer = client.post(path, data=form | data)
        assert answer.status_code < 500, (path, answer.status_code, answer.text[:300])
        assert HOSTILE not in answer.text, path
        assert "<script>window.__pwned" not in answer.text, path


def test_hostile_query_parameters_on_every_get_route(
    app: object, clients: dict[str, tuple[TestClient, str]]
) -> None:
    """Every GET route, as admin, with every query parameter set to hostile text: never a 500, and
    the text never comes back unescaped."""
    client, _ = clients["admin"]
    for route in flat_routes(app.routes):  # type: ignore[attr-defined]
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        names = [param.alias for param in route.dependant.query_params]
        answer = client.get(route.path, params=dict.fromkeys(names, HOSTILE), follow_redirects=False)
        assert answer.status_code < 500, (route.path, answer.text[:300])
        if answer.headers.get("content-type", "").startswith("text/html"):
            assert HOSTILE not in answer.text, route.path


def test_login_redirects_only_within_the_site(app: object) -> None:
    for target, expected in [
        ("/alerts?status=open", "/alerts?status=open"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ]:
        client = TestClient(app)  # type: ignore[arg-type]
        answer = client.post(
            "/login", data={"name": "viewer", "password": PASSWORD, "next": target}, follow_redirects=False
        )
        assert answer.headers["location"] == expected, target
