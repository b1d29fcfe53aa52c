"""The `reachwatch` command: parses arguments, calls the service layer, draws the result.

Errors become messages here and nowhere else: usage errors exit 2, other reachwatch errors 1.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from reachwatch.cli import accountability as accountability_commands
from reachwatch.cli import alerts as alert_commands
from reachwatch.cli import audit as audit_commands
from reachwatch.cli import automation as automation_commands
from reachwatch.cli import collect as collect_commands
from reachwatch.cli import coordination as coordination_commands
from reachwatch.cli import engagers as engager_commands
from reachwatch.cli import harm as harm_commands
from reachwatch.cli import ingest as ingest_commands
from reachwatch.cli import narratives as narrative_commands
from reachwatch.cli import networks as network_commands
from reachwatch.cli import quarantine as quarantine_commands
from reachwatch.cli import reach as reach_commands
from reachwatch.cli import scenario as scenario_commands
from reachwatch.cli import serve as serve_commands
from reachwatch.cli import spillover as spillover_commands
from reachwatch.cli.explore import init, search, stats
from reachwatch.cli.render import errors
from reachwatch.errors import ReachwatchError

app = typer.Typer(
    name="reachwatch",
    help="Monitor the public posts of high-reach accounts: reach, engagers, harm, narratives, alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
eval_app = typer.Typer(help="Score analyses against ground truth.", no_args_is_help=True)

app.command("init")(init)
app.command("ingest")(ingest_commands.ingest)
app.command("stats")(stats)
app.command("search")(search)
app.command("demo")(scenario_commands.demo)
app.command("generate")(scenario_commands.generate)
app.add_typer(quarantine_commands.app, name="quarantine")
app.add_typer(collect_commands.watch_app, name="watch")
app.add_typer(collect_commands.people_app, name="people")
app.add_typer(narrative_commands.app, name="narratives")
app.add_typer(audit_commands.app, name="audit")
app.add_typer(accountability_commands.users_app, name="users")
app.add_typer(alert_commands.app, name="alerts")
app.command("oversight")(accountability_commands.oversight_command)
app.command("retention")(accountability_commands.retention_command)
app.command("collect")(collect_commands.collect_command)
eval_app.command("scenario")(scenario_commands.evaluate)
eval_app.command("forecast")(reach_commands.evaluate_forecast)
eval_app.command("harm")(harm_commands.evaluate_harm)
app.command("post")(reach_commands.post)
app.command("coordination")(coordination_commands.coordination)
app.command("engagers")(engager_commands.engagers)
app.command("network")(network_commands.network)
app.command("automation")(automation_commands.automation)
app.command("spillover")(spillover_commands.spillover_command)
app.command("serve")(serve_commands.serve)
app.add_typer(network_commands.export_app, name="export")
app.add_typer(eval_app, name="eval")


@app.callback(invoke_without_command=True)
def main(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    """Monitor the public posts of high-reach accounts."""
    if version:
        from reachwatch import __version__

        print(f"reachwatch {__version__}")
        raise typer.Exit()


def run() -> None:
    """Console-script entry point: the one boundary where errors become messages and exit codes.

    Typer reports its own usage errors (exit 2); reachwatch's errors are caught here.
    """
    try:
        app()
    except ReachwatchError as exc:
        errors.print(f"Error: {exc}", markup=False)
        sys.exit(exc.exit_code)
