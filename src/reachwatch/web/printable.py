"""Pages written to a file rather than served (the oversight report's `--html`, briefings): the
same templates as the app, with the style sheet inlined so the file stands alone and prints as it
shows; briefings also as PDF, laid out by WeasyPrint with no request leaving the machine."""

from __future__ import annotations

from typing import Any

from reachwatch.errors import UsageError
from reachwatch.service.briefings import Briefing, heading, paragraph
from reachwatch.service.oversight import OversightReport
from reachwatch.web.app import HERE, templates

STYLE_LINK = '<link rel="stylesheet" href="/static/app.css">'


def oversight_html(found: OversightReport, form: dict[str, Any]) -> str:
    template = templates().env.get_template("oversight.html")
    page = template.render(r=found, form=form, query="", me=None)
    style = (HERE / "static" / "app.css").read_text(encoding="utf-8")
    return page.replace(STYLE_LINK, f"<style>{style}</style>").replace(
        '<script src="/static/vendor/htmx.min.js" defer></script>', ""
    )


def briefing_html(found: Briefing) -> str:
    """The briefing as one self-contained HTML page (styles inline, charts as inline SVG, no
    script): `found` as the viewer may see it, the paragraph written from it."""
    template = templates().env.get_template("briefing.html")
    style = (HERE / "static" / "briefing.css").read_text(encoding="utf-8")
    return template.render(b=found, title=heading(found), summary=paragraph(found), style=style)


def _no_fetching(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise UsageError(f"A briefing loads nothing from outside the page ({url[:80]!r} was asked for).")


def briefing_pdf(html: str) -> bytes:
    """The briefing page as a PDF (A4, Debian's DejaVu fonts)."""
    from weasyprint import HTML  # imported here: it loads Pango, which only the PDF needs

    pdf: bytes = HTML(string=html, url_fetcher=_no_fetching).write_pdf()
    return pdf
