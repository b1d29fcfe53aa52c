"""`reachwatch eval harm`: the deployed harm rule beside alt-profanity-check — on the held-out
development split, on a user's own file, or leave one source out (`--transfer`); and
`--fit-priors`, which fits a store's own base rates of harm."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.options import AsJson, Db
from reachwatch.cli.render import console
from reachwatch.config import load_settings
from reachwatch.errors import UsageError
from reachwatch.service import harm_priors
from reachwatch.service.harm_eval import (
    LABELS,
    LabelledSet,
    Metrics,
    TargetMetrics,
    check_label,
    development_sets,
    development_targets,
    evaluate,
    model_card,
    read_labelled,
    transfer,
)
from reachwatch.service.store_access import open_store
from reachwatch.service.viewer import cli_principal

DEFAULT_HARM_DATA = Path("..") / "shared" / "data" / "harm"


def _table(title: str, rows: list[Metrics], caption: str = "") -> Table:
    table = Table(title=title, caption=caption or None)
    for column in ("data", "class", "system", "texts", "flagged", "macro-F1", "precision", "recall",
                   "not scored", "texts/s"):  # fmt: skip
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.data, row.label, ("▶ " if row.deployed else "") + row.system, f"{row.texts:,}",
            f"{row.flagged_share:.1%}", f"{row.macro_f1:.3f}", f"{row.precision:.3f}", f"{row.recall:.3f}",
            f"{row.not_scored:,}", f"{row.texts_per_s:,.0f}" if row.texts_per_s else "-",
        )  # fmt: skip
    return table


def _targets(title: str, rows: list[TargetMetrics]) -> Table:
    table = Table(title=title)
    for column in ("data", "texts", "accuracy", "macro-F1", "F1 individual", "F1 group", "F1 untargeted"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.data, f"{row.texts:,}", f"{row.accuracy:.3f}", f"{row.macro_f1:.3f}",
            *(f"{row.per_target[t]:.3f}" for t in ("individual", "group", "untargeted")),
        )  # fmt: skip
    return table


def evaluate_harm(
    data: Annotated[Path | None, typer.Option(help="A labelled CSV, TSV or JSONL file of your own.")] = None,
    text_column: Annotated[str, typer.Option(help="With --data: the text column.")] = "text",
    label_column: Annotated[str, typer.Option(help="With --data: the label column.")] = "label",
    positive: Annotated[
        str | None, typer.Option(help="With --data: the label value that means harmful.")
    ] = None,
    harm_class: Annotated[
        str, typer.Option("--class", help=f"With --data: {', '.join(LABELS)} (any: some class flagged).")
    ] = "any",
    harm_data: Annotated[Path, typer.Option(help="Folder of the labelled harm sets.")] = DEFAULT_HARM_DATA,
    peer: Annotated[bool, typer.Option(help="Score alt-profanity-check side by side.")] = True,
    transfer_runs: Annotated[
        bool,
        typer.Option(
            "--transfer",
            help="Leave one source out: each source scored by the model trained without it.",
        ),
    ] = False,
    db: Db = None,
    store_priors: Annotated[
        bool,
        typer.Option(
            "--store-priors", help="Score at the --db store's fitted priors instead of the model's own."
        ),
    ] = False,
    fit_priors: Annotated[
        bool,
        typer.Option(
            "--fit-priors",
            help="Fit the --db store's base rates of harm from its scored posts (EM) and score its new "
            "posts at them from now on.",
        ),
    ] = False,
    as_json: AsJson = False,
) -> None:
    """The deployed harm rule — what enrichment flags — beside alt-profanity-check."""
    check_label(harm_class)
    if fit_priors or store_priors:
        settings = load_settings(db=db)
        store = open_store(settings)
        try:
            if fit_priors:
                fitted = harm_priors.fit(store, cli_principal(settings).name)
                shares = ", ".join(f"{name} {value:.2%}" for name, value in fitted.priors.items())
                console.print(f"Fitted on {fitted.posts:,} posts: {shares}. New posts are scored at these.",
                              markup=False)  # fmt: skip
                return
            priors = harm_priors.stored_priors(store)
            if priors is None:
                raise UsageError("This store has no fitted priors: fit them with --fit-priors first.")
        finally:
            store.close()
    else:
        priors = None
    if transfer_runs:
        rows, targets, recipe = transfer(harm_data, with_peer=peer)
        if as_json:
            print(msgspec.json.encode({"results": rows, "targets": targets, "recipe": recipe}).decode())
            return
        console.print(_table("Leave one source out (▶ the deployed rule)", rows, recipe))
        console.print(_targets("Target head, leave one source out", targets))
        return
    if data is not None:
        texts, truth = read_labelled(data, text_column, label_column, positive)
        sets = [LabelledSet(name=data.name, label=harm_class, texts=texts, truth=truth)]
    else:
        sets = development_sets(harm_data)
        if not sets:
            raise UsageError(f"No labelled harm sets under {harm_data}: pass --harm-data, or --data FILE.")
    results = evaluate(sets, with_peer=peer, priors=priors)
    targets = development_targets(harm_data) if data is None else []
    card = model_card() if data is None else {}
    if as_json:
        print(msgspec.json.encode({"results": results, "targets": targets, "model_card": card}).decode())
        return
    title = "Harm (▶ the deployed rule, as enrichment flags; peer at 0.5)" + (
        " at this store's priors" if priors else ""
    )
    caption = "" if data is not None else "development split: 10% of each source, kept out of training"
    console.print(_table(title, results, caption))
    if targets:
        console.print(_targets("Target head (abusive texts whose target is labelled)", targets))
