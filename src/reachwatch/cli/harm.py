"""`reachwatch eval harm`: macro-F1 and precision/recall of the harm tiers and the peer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from reachwatch.cli.options import AsJson
from reachwatch.cli.render import console
from reachwatch.config import load_settings
from reachwatch.errors import UsageError
from reachwatch.service.harm_eval import (
    LabelledSet,
    evaluate,
    model_card,
    read_labelled,
    tier2_for,
    validation_sets,
)

DEFAULT_HARM_DATA = Path("..") / "shared" / "data" / "harm"


def evaluate_harm(
    data: Annotated[Path | None, typer.Option(help="A labelled CSV, TSV or JSONL file of your own.")] = None,
    text_column: Annotated[str, typer.Option(help="With --data: the text column.")] = "text",
    label_column: Annotated[str, typer.Option(help="With --data: the label column.")] = "label",
    positive: Annotated[
        str | None, typer.Option(help="With --data: the label value that means harmful.")
    ] = None,
    harm_class: Annotated[
        str, typer.Option("--class", help="With --data: offensive, hateful, threat, or any (the highest).")
    ] = "any",
    harm_data: Annotated[Path, typer.Option(help="Folder of the labelled harm sets.")] = DEFAULT_HARM_DATA,
    peer: Annotated[bool, typer.Option(help="Score alt-profanity-check side by side.")] = True,
    tier2: Annotated[
        bool | None,
        typer.Option(
            "--tier2/--no-tier2",
            help="Score tier 2 (the embedding model) too; default: when its model directory exists.",
            show_default=False,
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """The shipped harm model on validation splits (or on --data), beside alt-profanity-check."""
    if data is not None:
        texts, truth = read_labelled(data, text_column, label_column, positive)
        sets = [LabelledSet(name=data.name, label=harm_class, texts=texts, truth=truth)]
    else:
        sets = validation_sets(harm_data)
        if not sets:
            raise UsageError(f"No validation splits under {harm_data}: pass --harm-data, or --data FILE.")
    settings = load_settings()
    second = tier2_for(settings.embedding_model, wanted=tier2)
    results = evaluate(sets, with_peer=peer, tier2=second)
    card = model_card() if data is None else {}
    if as_json:
        print(msgspec.json.encode({"results": results, "model_card": card}).decode())
        return
    table = Table(
        title="Harm classification (each tier at its per-class thresholds from training CV; tiers 1+2: "
        "tier 1 outside its 0.35–0.65 band, tier 2 inside; peer: 0.5)"
    )
    for column in ("data", "class", "system", "texts", "macro-F1", "precision", "recall", "texts/s"):
        table.add_column(column)
    for row in results:
        table.add_row(
            row.data, row.label, row.system, f"{row.texts:,}", f"{row.macro_f1:.3f}", f"{row.precision:.3f}",
            f"{row.recall:.3f}", f"{row.texts_per_s:,.0f}",
        )  # fmt: skip
    console.print(table)
    for tier, cards in ((1, card), (2, model_card(2) if second is not None and data is None else {})):
        classes = cards.get("classes", {})
        if isinstance(classes, dict) and "threat" in classes:
            threat = classes["threat"]
            console.print(
                f"threat, tier {tier}: no validation split; macro-F1 {threat['validation_macro_f1']:.3f} by "
                f"{threat['on']} (training/fit_harm{'_tier2' if tier == 2 else ''}.py)",
                markup=False,
            )
