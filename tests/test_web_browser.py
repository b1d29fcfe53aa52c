"""The dashboard in a real browser: Debian's Chromium driven by Playwright against the app served
on loopback with the demo scenario. Click through watch floor → dossier → engager → account, run
a search, open a protected person; check hostile post text renders as text and runs nothing.
Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from reachwatch.service.engagers import EngagerSort, engager_table
from reachwatch.service.store_access import Store
from tests.web_fixtures import HOSTILE_TEXT, PASSWORD, hostile_post_id, serve_in_thread

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base_url(demo_web: tuple[Store, str, str]) -> Iterator[str]:
    yield from serve_in_thread(demo_web[0])


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "Debian's Chromium is not installed (make test installs it with apt-get when it runs as root; "
            "otherwise: sudo apt-get install chromium)"
        )
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


def log_in_page(page: object, base_url: str, role: str) -> None:
    """Log in through the login form, as a person would."""
    p = page
    p.goto(base_url + "/")  # type: ignore[attr-defined]
    p.wait_for_selector("#login-form")  # type: ignore[attr-defined]
    p.fill('#login-form input[name="name"]', role)  # type: ignore[attr-defined]
    p.fill('#login-form input[name="password"]', PASSWORD)  # type: ignore[attr-defined]
    p.locator('#login-form button[type="submit"]').click()  # type: ignore[attr-defined]
    p.wait_for_selector("#me")  # type: ignore[attr-defined]


@pytest.fixture
def page(browser: object, base_url: str) -> Iterator[object]:
    """An analyst's browser tab, logged in."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    opened.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} {response.url}") if response.status >= 400 else None
        ),
    )
    opened.problems = problems
    log_in_page(opened, base_url, "analyst")
    yield opened
    context.close()


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_floor_dossier_engager_account(page: object, base_url: str, demo_web: tuple[Store, str, str]) -> None:
    _, trigger, watched = demo_web
    p = page
    p.goto(base_url + "/")
    assert p.locator("h1").inner_text() == "Watch floor"
    assert p.locator("#watched tbody tr").count() >= 1
    assert "maxharlan" in p.locator("#watched").inner_text()
    shot(p, "01-watch-floor")
    # The trigger post leads the velocity ranking's totals: open it from the floor.
    p.locator(f'#by-velocity a[href^="/post?id={quote(trigger, safe="")}"]').first.click()
    p.wait_for_selector("#reach")
    assert "Post dossier" in p.locator("h1").inner_text()
    assert "criminal" in p.locator("#post-text").inner_text()
    assert p.locator("#harm-scores .tag.offensive").count() == 1  # flagged offensive
    assert "Dana Whitfield" in p.locator("#harm-aimed").inner_text()
    assert p.locator("#post-text mark").count() >= 1  # the model's evidence words highlighted
    p.wait_for_selector(".spillover", timeout=60_000)  # loaded by htmx
    assert p.problems == []
    assert "rate ratio" in p.locator(".spillover").first.inner_text()
    p.wait_for_selector("#coordination")
    assert "Cluster" in p.locator("#coordination").inner_text()  # the planted ring
    p.wait_for_selector('#network[data-state="drawn"]', timeout=60_000)
    assert int(p.locator("#network").get_attribute("data-nodes")) > 10
    assert "ties drawn" in p.locator(".network-summary").inner_text()
    p.wait_for_selector("#engager-table")  # loaded by htmx after the dossier
    assert p.locator("#engager-table tbody tr").count() == 25
    shot(p, "02-post-dossier")
    p.locator('a.sort:has-text("followers")').click()
    p.wait_for_url("**sort=followers**")
    p.wait_for_selector("#engager-table")
    cells = p.locator("#engager-table tbody tr td:nth-child(2)").all_inner_texts()
    followers = [int(cell.replace(",", "")) for cell in cells if cell.strip() not in ("–", "")]
    assert followers == sorted(followers, reverse=True)
    p.locator("#next-page").click()
    p.wait_for_url("**page=2**")
    p.wait_for_selector("#engager-table")
    # Ordinary engagers are pseudonyms; naming one takes an open case and a reason.
    public = p.locator('a.engager:not([href*="id=anon-"])').all_inner_texts()
    assert public, "no public figure among the big amplifiers"
    first_engager = p.locator('a.engager[href*="id=anon-"]').first
    if not first_engager.count():  # all public figures here: go to the page of the largest ordinary one
        table = engager_table(demo_web[0], trigger, sort=EngagerSort.FOLLOWERS, limit=100_000)
        index = next(i for i, row in enumerate(table.rows) if (row.followers or 0) < 100_000)
        p.goto(base_url + f"/post?id={quote(trigger, safe='')}&sort=followers&page={index // 25 + 1}")
        p.wait_for_selector("#engager-table")
        first_engager = p.locator('a.engager[href*="id=anon-"]').first
    name = first_engager.inner_text()
    assert name.startswith("anon-")
    first_engager.click()  # its pseudonymous profile: what it did, not who it is
    p.wait_for_selector("#engager-name")
    assert p.locator("#engager-name").inner_text() == name
    assert p.locator("#acted-on tbody tr").count() >= 1
    shot(p, "18-engager-profile")
    p.locator("#reveal-link").click()
    p.wait_for_selector("#reveal-form")
    reveal_url = p.url
    p.goto(base_url + "/cases")
    p.fill('#case-form input[name="title"]', "Threats to Dana Whitfield after the trigger post")
    p.fill(
        '#case-form textarea[name="justification"]',
        "The trigger post was followed by threats naming the minister; find who amplified it first.",
    )
    p.fill('#case-form input[name="legal_basis"]', "Threat assessment for a protected person")
    p.locator('#case-form button[type="submit"]').click()
    p.wait_for_selector("#justification")
    case_id = p.locator("#me a").inner_text()
    assert case_id.startswith("case-")
    p.goto(reveal_url)
    p.fill('#reveal-form textarea[name="reason"]', "First-hour amplifier of the trigger post")
    p.locator('#reveal-form button[type="submit"]').click()
    p.wait_for_selector("#revealed")
    assert name in p.locator("#revealed").inner_text()
    assert case_id in p.locator("#revealed").inner_text()
    p.locator("#revealed a").first.click()
    p.wait_for_selector("#account-name")
    assert "anon-" not in p.locator("#account-name").inner_text()  # opened under the case: named
    shot(p, "03-engager-account")
    p.goto(base_url + f"/case?id={case_id}")
    assert "account" in p.locator("#targets").inner_text()
    shot(p, "09-case")
    p.goto(base_url + f"/account?id={quote(watched, safe='')}")
    assert p.locator("#account-posts tbody tr").count() >= 5
    p.wait_for_selector('#network[data-state="drawn"]', timeout=60_000)
    assert p.locator("table.communities tbody tr").count() >= 1
    shot(p, "04-watched-account")
    if p.locator("#narrative-sequence").count():  # the planted narratives, when the model is built
        shown = p.locator("#narrative-sequence").inner_text().split(" → ")
        planted = ["two-tier-policing", "farm-inheritance-tax", "new-election"]
        assert [name for name in shown if name in planted] == planted  # in the order pushed
        p.locator('#narrative-sequence a:has-text("farm-inheritance-tax")').click()
        p.wait_for_selector("#carriers")
        assert p.locator("#carriers tbody tr").count() >= 3
        assert "maxharlan" in p.locator("#carriers tbody tr").first.inner_text()
        shot(p, "08-narrative")
    assert p.problems == []


def test_search_and_person(page: object, base_url: str) -> None:
    p = page
    p.goto(base_url + "/search")
    p.fill('#search-form input[name="q"]', "Whitfield")
    p.select_option('#search-form select[name="harm"]', "threat")
    p.locator('#search-form button[type="submit"]').click()
    p.wait_for_selector("#results")
    rows = p.locator("#results tbody tr")
    assert rows.count() == 25
    assert all("whitfield" in text.lower() for text in p.locator("#results td.text").all_inner_texts())
    shot(p, "05-search")
    p.locator("#next-page").click()
    p.wait_for_url("**page=2**")
    assert p.locator("#results tbody tr").count() >= 1
    p.goto(base_url + "/people")
    p.locator('#people a:has-text("Dana Whitfield")').click()
    p.wait_for_selector("#person-name")
    assert p.locator("svg.chart rect").count() > 10
    assert p.locator("#preceding tbody tr").count() >= 1
    shot(p, "06-person")
    assert p.problems == []


def test_hostile_text_is_shown_as_text_and_runs_nothing(
    page: object, base_url: str, demo_web: tuple[Store, str, str]
) -> None:
    p = page
    hostile = hostile_post_id(demo_web[2])
    for path in (f"/post?id={quote(hostile, safe='')}", "/search?q=forever", "/"):
        p.goto(base_url + path)
        p.wait_for_load_state("networkidle")
        assert p.evaluate("window.__pwned") is None, path
        assert p.locator("main img").count() == 0, path
        assert p.locator("main script").count() == 0, path
    p.goto(base_url + f"/post?id={quote(hostile, safe='')}")
    shown = p.locator("#post-text blockquote").inner_text()
    assert shown == HOSTILE_TEXT  # every character, as text
    shot(p, "07-hostile-post")


def test_alert_inbox_triage(page: object, base_url: str, demo_web: tuple[Store, str, str]) -> None:
    """The inbox lists the demo's alerts; an analyst opens the critical one, acknowledges it,
    assigns it and comments, and follows it to the post's dossier."""
    from reachwatch.service import alerts

    store, trigger, _ = demo_web
    if not alerts.rules_text(store):
        alerts.save_rules(store, alerts.demo_rules_text(), "demo")
        alerts.evaluate_stored(store)
    from reachwatch.service import cases, users

    analyst = users.login(store, "analyst", PASSWORD, "test").principal
    case = cases.open_case(
        store, analyst, "Threat to the minister", "Who carried the threat post in its first hour?", "Basis"
    )
    p = page
    p.goto(base_url + "/alerts")
    assert p.locator("#alerts tbody tr").count() >= 2
    ranks = {"critical": 4, "high": 3, "medium": 2, "low": 1}
    shown = [ranks[s] for s in p.locator("#alerts tbody tr td:first-child .tag").all_inner_texts()]
    assert shown == sorted(shown, reverse=True)  # the most severe first
    first = p.locator("#alerts tbody tr").first
    assert "criminal" in first.locator("td.text").inner_text()  # the post's text
    assert "by a watched account" in first.locator(".reason").inner_text()  # the reason in words
    p.select_option('#alert-filters select[name="severity"]', "critical")
    p.locator('#alert-filters button[type="submit"]').click()
    p.wait_for_url("**severity=critical**")
    assert p.locator("#alerts tbody tr").count() == 1
    shot(p, "10-alert-inbox")
    p.locator("#alerts tbody tr a").first.click()
    p.wait_for_selector("#triage")
    p.locator("#acknowledge").click()
    p.wait_for_selector("#alert-status")
    assert p.locator("#alert-status").inner_text() == "acknowledged"
    p.select_option('select[name="text"]', "analyst")
    p.locator("#assign").click()
    p.wait_for_selector("#assignee")
    p.fill('#comment-form input[name="text"]', "<b>Escalated</b> to the protection team")
    p.locator("#comment-form button").click()
    p.wait_for_selector("#notes")
    notes = p.locator("#notes").inner_text()
    assert "acknowledged" in notes
    assert "<b>Escalated</b> to the protection team" in notes  # shown as text
    assert "engagements" in p.locator("#features").inner_text()
    assert p.locator("#reason").inner_text().startswith("Why: by a watched account")
    p.select_option('#case-form select[name="text"]', case.id)
    p.locator("#link-case").click()
    p.wait_for_selector("#alert-cases")
    assert case.id in p.locator("#alert-cases").inner_text()
    shot(p, "11-alert")
    p.locator("#dossier-link").click()
    p.wait_for_selector("#reach")
    assert trigger.split("/")[-1] in p.url
    assert p.problems == []


def test_oversight_page_as_a_supervisor_prints_clean(browser: object, base_url: str) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    p = context.new_page()
    try:
        p.goto(base_url + "/login")
        shot(p, "00-login")
        log_in_page(p, base_url, "supervisor")
        p.goto(base_url + "/oversight?from=2026-01-01")
        assert int(p.locator("#case-count").inner_text()) >= 0
        assert p.locator('a:has-text("Oversight")').count() == 1  # in the supervisor's menu
        assert p.locator('a:has-text("Users")').count() == 0  # not an admin
        shot(p, "12-oversight")
        p.emulate_media(media="print")
        assert not p.locator("form.filters").is_visible()  # the printed page is the figures only
        assert p.locator("#figures").is_visible()
    finally:
        context.close()


def test_api_docs_render_offline(page: object, base_url: str) -> None:
    """The API link opens a working reference: Swagger UI from the app's own files, under the
    pages' security policy, listing the operations, with no request to any other host."""
    from urllib.parse import urlsplit

    p = page
    asked: list[str] = []
    p.on("request", lambda request: asked.append(request.url))
    p.locator('header nav a:has-text("API")').click()
    p.wait_for_selector(".opblock", timeout=30_000)
    operations = p.locator(".opblock-summary-path").all_inner_texts()
    assert {"/api/v1/post", "/api/v1/alerts", "/api/v1/alert/case"} <= set(operations), operations[:5]
    assert len(operations) >= 10
    here = urlsplit(base_url).netloc
    assert {urlsplit(url).netloc for url in asked if not url.startswith("data:")} == {here}, asked
    shot(p, "13-api-docs")
    assert p.problems == []


def test_the_engager_table_downloads_from_the_dossier(
    browser: object, base_url: str, demo_web: tuple[Store, str, str]
) -> None:
    """The dossier's engager table offers CSV and Parquet: the CSV link downloads a file of every
    engager with ISO times, named after the table."""
    import csv
    import io

    _, trigger, _ = demo_web
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    p = context.new_page()
    try:
        log_in_page(p, base_url, "analyst")
        p.goto(base_url + "/post?id=" + quote(trigger, safe=""))
        p.wait_for_selector("#engager-list a.download", timeout=60_000)
        with p.expect_download() as arrived:
            p.locator('#engager-list a.download:has-text("CSV")').click()
        download = arrived.value
        assert download.suggested_filename == "engagers.csv"
        rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
        assert len(rows) > 25
        assert rows[0]["first_at"].endswith("Z")
        assert "T" in rows[0]["first_at"]
    finally:
        context.close()


def test_the_briefing_button_opens_a_briefing_and_its_pdf_downloads(
    browser: object, base_url: str, demo_web: tuple[Store, str, str]
) -> None:
    """The dossier's "Briefing" opens the briefing in a new tab (its paragraph, charts, methods and
    checkpoint); its PDF link downloads a PDF."""
    _, trigger, _ = demo_web
    context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 1000})  # type: ignore[attr-defined]
    p = context.new_page()
    try:
        log_in_page(p, base_url, "analyst")
        p.goto(base_url + "/post?id=" + quote(trigger, safe=""))
        with p.expect_popup() as opened:
            p.locator("#briefing").click()
        brief = opened.value
        brief.wait_for_selector("#summary", timeout=120_000)
        assert "drew" in brief.locator("#summary .lead").inner_text()
        assert brief.locator("svg.chart").count() >= 2
        assert brief.locator("#methods tbody tr").count() >= 5
        assert re.fullmatch(r"\d+:[0-9a-f]{64}", brief.locator("#checkpoint").inner_text())
        shot(brief, "14-briefing")
        with p.expect_download(timeout=120_000) as arrived:
            p.locator("#briefing-pdf").click()
        download = arrived.value
        assert download.suggested_filename.endswith(".pdf")
        assert Path(download.path()).read_bytes().startswith(b"%PDF")
    finally:
        context.close()


def test_chart_legends_match_their_series_in_distinct_colours(
    page: object, base_url: str, demo_web: tuple[Store, str, str]
) -> None:
    """The reach chart as the browser draws it: each legend swatch has its own line's colour, the
    colours differ, the legend text is not greyed, the time axis is labelled and starts in the first
    minutes (the first hour visible), and every line has hover values."""
    _, trigger, _ = demo_web
    p = page
    p.goto(base_url + "/post?id=" + quote(trigger, safe=""))  # type: ignore[attr-defined]
    chart = p.locator("#reach svg.chart")  # type: ignore[attr-defined]
    drawn = chart.evaluate(
        """svg => ({
          lines: [...svg.querySelectorAll('polyline.series')].map(
            l => [l.dataset.series, getComputedStyle(l).stroke]),
          swatches: [...svg.querySelectorAll('.legend-item')].map(
            g => [g.dataset.series, getComputedStyle(g.querySelector('.swatch')).fill]),
          legendText: [...svg.querySelectorAll('.legend-item text')].map(t => getComputedStyle(t).fill),
          ticks: [...svg.querySelectorAll('.x-tick')].map(t => t.textContent),
          hovers: svg.querySelectorAll('circle.hover title').length,
        })"""
    )
    lines, swatches = dict(drawn["lines"]), dict(drawn["swatches"])
    assert len(lines) == 3
    assert lines == swatches
    assert len(set(lines.values())) == 3
    assert all(fill == "rgb(27, 36, 48)" for fill in drawn["legendText"])
    assert drawn["ticks"][0] in ("1 min", "10 min")
    assert "1 h" in drawn["ticks"]
    assert drawn["hovers"] >= 3 * 20
    shot(p, "15-reach-chart")
    assert p.problems == []  # type: ignore[attr-defined]


def _phone_pages(store: Store, trigger: str, watched: str, case_id: str) -> list[str]:
    from reachwatch.service import alerts, narratives, people

    person = people.list_people(store)[0].id
    story = narratives.list_narratives(store)
    alert = alerts.inbox(store, limit=1).alerts
    q = lambda value: quote(value, safe="")  # noqa: E731
    return [
        "/", "/post?id=" + q(trigger), "/account?id=" + q(watched), "/people", "/person?id=" + q(person),
        "/search?q=minister", "/narratives", "/narrative?id=" + q(story[0].id if story else "none"),
        "/narratives/discover?since=2020-01-01", "/alerts", "/alert?id=" + str(alert[0].id if alert else 1),
        "/cases", "/case?id=" + q(case_id), "/reveal?account=" + q(watched), "/alerts/rules", "/oversight",
        "/audit", "/users", "/methods/spillover", "/api/docs", "/brief?kind=post&id=" + q(trigger),
    ]  # fmt: skip


def _sideways(p: object) -> int:
    """How many pixels the page scrolls sideways (0 when it fits its window)."""
    return int(p.evaluate("document.documentElement.scrollWidth - window.innerWidth"))  # type: ignore[attr-defined]


def test_every_page_fits_a_phone_390_px_wide(
    browser: object, base_url: str, demo_web: tuple[Store, str, str]
) -> None:
    """At 390 px (an iPhone 14's width) no page scrolls sideways: the menu collapses behind a
    button that opens it, wide tables scroll inside themselves, and the login page fits too."""
    from reachwatch.service import cases, users

    store, trigger, watched = demo_web
    admin = users.login(store, "admin", PASSWORD, "test").principal
    case = cases.open_case(store, admin, "Phone check", "Does every page fit a phone screen?", "Basis")
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)  # type: ignore[attr-defined]
    p = context.new_page()
    try:
        p.goto(base_url + "/login")
        p.wait_for_selector("#login-form")
        assert _sideways(p) == 0, "/login"
        p.set_viewport_size({"width": 1200, "height": 900})  # the user name only shows once the menu is open
        log_in_page(p, base_url, "admin")
        p.set_viewport_size({"width": 390, "height": 844})
        wide: list[str] = []
        for path in _phone_pages(store, trigger, watched, case.id):
            p.goto(base_url + path, timeout=120_000)
            p.wait_for_load_state("networkidle", timeout=120_000)
            if _sideways(p) > 0:
                wide.append(f"{path}: {_sideways(p)} px")
            if path.startswith("/post?"):
                shot(p, "16-phone-dossier")
                scrolling = p.evaluate(
                    "[...document.querySelectorAll('main table')]"
                    ".filter(t => t.scrollWidth > t.clientWidth + 1)"
                    ".map(t => t.getBoundingClientRect().right)"
                )
                assert scrolling, "the dossier has a table wider than a phone: it scrolls inside itself"
                assert max(scrolling) <= 390
        assert wide == []
        p.goto(base_url + "/")
        menu = p.locator("header .menu-button")
        assert menu.is_visible()
        assert not p.locator("header nav").is_visible()  # collapsed
        menu.click()
        assert p.locator("header nav").is_visible()
        assert p.locator("#me").is_visible()  # the user and Log out are inside the menu
        rights = p.evaluate(
            "[...document.querySelectorAll('header nav a')].map(a => a.getBoundingClientRect().right)"
        )
        assert len(rights) >= 8
        assert max(rights) <= 390
        shot(p, "17-phone-menu")
        p.set_viewport_size({"width": 1200, "height": 900})
        assert not menu.is_visible()  # a wide window shows the whole bar again
        assert p.locator("header nav").is_visible()
    finally:
        context.close()


def test_every_table_download_in_the_browser(
    browser: object, base_url: str, demo_web: tuple[Store, str, str]
) -> None:
    """Every download link on the pages with tables (the dossier's engagers and clusters, search,
    alerts, a narrative's posts, the oversight report's three tables) downloads a file a
    spreadsheet or pyarrow reads, with ISO 8601 times and no ordinary engager named."""
    import csv
    import io

    import pyarrow.parquet as pq

    from reachwatch.config import Settings
    from reachwatch.service import narratives, privacy

    store, trigger, _ = demo_web
    story = narratives.list_narratives(store)[0]
    names = privacy.for_settings(store, Settings())
    ordinary = [
        row.account_id.encode() for row in engager_table(store, trigger, limit=200).rows
        if not names.is_public(row.account_id)
    ]  # fmt: skip
    assert len(ordinary) > 100
    pages = {
        "/post?id=" + quote(trigger, safe=""): 6, "/search?q=Whitfield": 2, "/alerts": 2,
        "/narrative?id=" + quote(story.id, safe=""): 2, "/oversight": 6,
    }  # fmt: skip
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    p = context.new_page()
    got: dict[str, int] = {}
    try:
        log_in_page(p, base_url, "admin")
        for path, expected in pages.items():
            p.goto(base_url + path)
            p.wait_for_load_state("networkidle", timeout=120_000)
            links = p.locator("a.download")
            assert links.count() == expected, (path, links.count())
            for i in range(links.count()):
                with p.expect_download(timeout=120_000) as arrived:
                    links.nth(i).click()
                download = arrived.value
                body = Path(download.path()).read_bytes()
                name = download.suggested_filename
                if name.endswith(".csv"):
                    rows = list(csv.DictReader(io.StringIO(body.decode())))
                    times = [
                        c for c in (rows[0] if rows else {}) if c.endswith("_at") or c in ("since", "made")
                    ]
                    assert all(rows[0][c] == "" or rows[0][c].endswith("Z") for c in times), (name, rows[0])
                    got[name] = len(rows)
                else:
                    assert name.endswith(".parquet")
                    got[name] = pq.read_table(io.BytesIO(body)).num_rows
                assert not [who for who in ordinary if who in body], name  # pseudonyms only
    finally:
        context.close()
    assert {
        "engagers.csv", "engagers.parquet", "clusters-members.csv", "clusters-evidence.parquet", "search.csv",
        "alerts.parquet", "narrative-posts.csv", "oversight-figures.csv", "oversight-legal-bases.parquet",
        "oversight-officers.csv",
    } <= set(got), got  # fmt: skip
    assert got["clusters-members.csv"] >= 30
    assert got["oversight-figures.csv"] == 1
