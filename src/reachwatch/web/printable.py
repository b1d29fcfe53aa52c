"""Pages written to a file rather than served (the oversight report's `--html`): the same template
as the page, with the style sheet inlined so the file stands alone and prints as it shows."""

from __future__ import annotations

from typing import Any

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
