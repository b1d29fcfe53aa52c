"""Briefings: each kind (post, account, person, case) renders as a page that stands alone and as a
PDF whose first pages hold the text and the charts; pseudonyms as in the app; the look audited;
the CLI writes both files and refuses what it cannot do."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from reachwatch.cli.main import app
from reachwatch.errors import UsageError
from reachwatch.service import audit, briefings, cases, privacy, reach, users
from reachwatch.service.store_access import Store
from reachwatch.web.app import create_app
from tests.web_fixtures import PASSWORD, log_in

CHECKPOINT = re.compile(r"\b\d+:[0-9a-f]{64}\b")
CHART_BLUE = (0x00, 0x72, 0xB2)  # the first series' colour (web/charts.py COLOURS[0])


@pytest.fixture(scope="module")
def client(demo_web: tuple[Store, str, str]) -> TestClient:
    logged = TestClient(create_app(demo_web[0]))
    log_in(logged, "analyst")
    return logged


@pytest.fixture(scope="module")
def case_id(demo_web: tuple[Store, str, str]) -> str:
    """A case of the analyst's holding the trigger post."""
    store, trigger, _ = demo_web
    analyst = users.login(store, "analyst", PASSWORD, "test").principal
    case = cases.open_case(
        store, analyst, "Threats after the minister post", "The post named the minister and threats "
        "followed within the hour.", "Threat assessment",
    )  # fmt: skip
    users.work_on_case(store, analyst, case.id)
    cases.note_target(store, analyst, "post", trigger)
    users.work_on_case(store, analyst, None)
    return case.id


def q(value: str) -> str:
    return quote(value, safe="")


def targets(demo_web: tuple[Store, str, str], case_id: str) -> dict[str, str]:
    _, trigger, watched = demo_web
    return {"post": trigger, "account": watched, "person": "dana-whitfield", "case": case_id}


def _pdf_pages(pdf: bytes, folder: Path, pages: int = 2) -> tuple[str, list[Image.Image]]:
    """The PDF's text and its first pages as images (poppler's pdftotext and pdftoppm)."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils is not installed: `make browser` installs it (it needs root and apt-get)")
    path = folder / "briefing.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout
    subprocess.run(
        ["pdftoppm", "-r", "50", "-l", str(pages), "-png", str(path), str(folder / "page")], check=True
    )
    images = [Image.open(found).convert("RGB") for found in sorted(folder.glob("page-*.png"))]
    return text, images


def _near(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    pixels = np.asarray(image, dtype=np.int16)
    return int((np.abs(pixels - np.array(colour, dtype=np.int16)) <= tolerance).all(axis=2).sum())


@pytest.mark.parametrize("kind", ["post", "account", "person", "case"])
def test_each_kind_is_a_page_that_stands_alone_and_a_pdf_with_text_and_charts(
    kind: str, client: TestClient, demo_web: tuple[Store, str, str], case_id: str, tmp_path: Path
) -> None:
    target = targets(demo_web, case_id)[kind]
    page = client.get(f"/brief?kind={kind}&id={q(target)}")
    assert page.status_code == 200, page.text[:300]
    html = page.text
    for part in ("What happened", "Methods and limitations", "known failure modes", '<svg class="chart"'):
        assert part in html, part
    assert CHECKPOINT.search(html)
    # Self-contained: no script, no style sheet or image fetched from anywhere.
    assert "<script" not in html
    assert "<link" not in html
    assert not re.search(r'\bsrc="', html)
    summary = re.search(r'<p class="lead">(.*?)</p>', html, re.S)
    assert summary
    assert len(summary.group(1)) > 80
    pdf = client.get(f"/brief?kind={kind}&id={q(target)}&format=pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    text, images = _pdf_pages(pdf.content, tmp_path)
    assert "What happened" in text
    assert "Methods and limitations" in text
    assert "Dana Whitfield" in text  # every kind here is about her: she is named, not masked
    assert len(images) == 2
    assert max(_near(image, CHART_BLUE) for image in images) > 200  # a chart's first series, drawn


def test_the_paragraph_is_written_from_the_figures(
    client: TestClient, demo_web: tuple[Store, str, str]
) -> None:
    store, trigger, _ = demo_web
    found = reach.dossier(store, trigger)
    total = sum(count.value for count in found.sources if count.kind in ("repost", "quote", "reply", "like"))
    html = client.get(f"/brief?kind=post&id={q(trigger)}").text
    lead = re.search(r'<p class="lead">(.*?)</p>', html, re.S)
    assert lead is not None
    assert f"drew {total:,} engagements" in lead.group(1)
    assert f"{found.forecast.predicted:,.0f}" in lead.group(1)
    assert "aimed at Dana Whitfield" in lead.group(1)


def test_ordinary_engagers_are_pseudonymised_and_the_briefing_is_audited(
    client: TestClient, demo_web: tuple[Store, str, str]
) -> None:
    store, trigger, _ = demo_web
    analyst = users.login(store, "analyst", PASSWORD, "test").principal
    raw = briefings.brief(store, analyst, briefings.BriefingKind.POST, trigger)
    members = {account for cluster in raw.posts[0].coordination.clusters for account in cluster.accounts}
    names = privacy.for_settings(store, create_app(store).state.settings)
    ordinary = [account for account in members if not names.is_public(account)]
    assert ordinary, "the demo's ring should engage with the trigger post"
    html = client.get(f"/brief?kind=post&id={q(trigger)}").text
    for account in ordinary:
        assert account not in html
        assert account.removeprefix("bluesky:") not in html
    listed = [  # the briefing names a cluster's first 12 members, by pseudonym
        account for cluster in raw.posts[0].coordination.clusters for account in cluster.accounts[:12]
        if not names.is_public(account)
    ]  # fmt: skip
    assert listed
    assert all(privacy.alias(names.key, account) in html for account in listed)
    latest = audit.entries(store, limit=5, action="brief")
    assert latest
    assert latest[0].target == f"post:{trigger}"
    assert latest[0].actor == "analyst"


def test_a_case_is_briefed_only_for_those_who_may_see_it(
    demo_web: tuple[Store, str, str], case_id: str
) -> None:
    viewer = TestClient(create_app(demo_web[0]))
    log_in(viewer, "viewer")
    refused = viewer.get(f"/brief?kind=case&id={case_id}")
    assert refused.status_code == 403
    unknown = viewer.get("/brief?kind=tweet&id=x")
    assert unknown.status_code == 400
    assert "post, account, person, case" in unknown.text


def test_the_cli_writes_html_and_pdf_and_refuses_what_it_cannot_do(
    demo_web: tuple[Store, str, str], tmp_path: Path
) -> None:
    store, trigger, _ = demo_web
    runner, db = CliRunner(), ["--db", store.location]
    html, pdf = tmp_path / "b.html", tmp_path / "b.pdf"
    done = runner.invoke(
        app, ["brief", "person", "Dana Whitfield", "--html", str(html), "--pdf", str(pdf), *db]
    )
    assert done.exit_code == 0, done.output
    assert "What happened" in html.read_text(encoding="utf-8")
    assert pdf.read_bytes().startswith(b"%PDF")
    nowhere = runner.invoke(app, ["brief", "post", trigger, *db])
    assert isinstance(nowhere.exception, UsageError)
    assert "--html FILE, --pdf FILE" in str(nowhere.exception)
    wrong = runner.invoke(app, ["brief", "tweet", trigger, "--html", str(html), *db])
    assert isinstance(wrong.exception, UsageError)
    assert "post, account, person, case" in str(wrong.exception)
    missing = runner.invoke(app, ["brief", "post", trigger, "--pdf", str(tmp_path / "no" / "b.pdf"), *db])
    assert isinstance(missing.exception, UsageError)
    assert "is not a folder" in str(missing.exception)
