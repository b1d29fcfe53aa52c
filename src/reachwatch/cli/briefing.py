"""`reachwatch brief post|account|person|case ID --html F --pdf F`: the briefing to hand on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reachwatch.cli.options import Db
from reachwatch.cli.render import console
from reachwatch.cli.session import viewing
from reachwatch.errors import UsageError
from reachwatch.service import briefings


def brief(
    kind: Annotated[str, typer.Argument(help="What to brief: post, account, person or case.")],
    target: Annotated[
        str,
        typer.Argument(
            help="A post id, an account (id, handle or the pseudonym shown), a protected person "
            "(id or name) or a case id."
        ),
    ],
    html_out: Annotated[
        Path | None, typer.Option("--html", help="Write the briefing here as one self-contained HTML page.")
    ] = None,
    pdf_out: Annotated[
        Path | None, typer.Option("--pdf", help="Write the briefing here as a PDF (A4).")
    ] = None,
    db: Db = None,
) -> None:
    """A briefing on one post, account, protected person or case, as self-contained HTML and PDF.

    What happened in a paragraph, reach and forecast, amplifiers, harm with its evidence,
    coordinated clusters, spillover with its windows, narratives, methods and limitations, the case
    and the audit checkpoint; ordinary engagers by pseudonym."""
    chosen = briefings.parse_kind(kind)
    if html_out is None and pdf_out is None:
        raise UsageError("Say where to write it: --html FILE, --pdf FILE, or both.")
    for path in (html_out, pdf_out):
        if path is not None and not path.parent.is_dir():
            raise UsageError(
                f"{path.parent} is not a folder: make it first, or write the briefing elsewhere."
            )
    from reachwatch.web.printable import briefing_html, briefing_pdf

    with viewing(db) as (store, viewer):
        if chosen is briefings.BriefingKind.POST:
            target = viewer.resolve(target)
        elif chosen is briefings.BriefingKind.ACCOUNT:
            target = viewer.account(target)
        assert viewer.who is not None  # the command line always acts as its named local user
        found = briefings.brief(store, viewer.who, chosen, target)
        formats = [name for name, path in (("html", html_out), ("pdf", pdf_out)) if path is not None]
        page = briefing_html(viewer.show(found, "brief", f"{chosen.value}:{found.target_id}", format=formats))
    if html_out is not None:
        html_out.write_text(page, encoding="utf-8")
        console.print(f"Wrote {html_out}", markup=False, highlight=False)
    if pdf_out is not None:
        pdf_out.write_bytes(briefing_pdf(page))
        console.print(f"Wrote {pdf_out}", markup=False, highlight=False)
