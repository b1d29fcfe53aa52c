"""The `reachwatch` command: parses arguments, calls the service layer, draws the result.

Errors become messages here and nowhere else: usage errors exit 2, other reachwatch errors 1.

Commands load lazily: the table below names each command's function (or sub-app) and its one-line
help, so `reachwatch --help` and `--version` import no command module (and none of the heavy
libraries behind them), and `reachwatch post` imports only `cli/reach.py`. A test checks every entry
against the command it loads.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, MutableMapping
from typing import Annotated, Any, ClassVar, NamedTuple

import typer
from typer import _click as click
from typer import core as typer_core
from typer.main import get_command, get_group

from reachwatch.errors import ReachwatchError


class Lazy(NamedTuple):
    target: str  # "module:attribute": a command function or a typer.Typer sub-app
    help: str  # its short help, shown by --help without importing it


MAIN: dict[str, Lazy] = {
    "init": Lazy(
        "reachwatch.cli.explore:init",
        "Make a new, empty store (a SQLite file, or the schema in a PostgreSQL database).",
    ),
    "ingest": Lazy(
        "reachwatch.cli.ingest:ingest",
        "Ingest payloads durably: raw kept, records upserted, bad lines quarantined, resumable.",
    ),
    "stats": Lazy("reachwatch.cli.explore:stats", "Counts of everything in the store, and where it is."),
    "search": Lazy(
        "reachwatch.cli.explore:search",
        "Search posts in the query language: words, phrases, AND, OR, NOT and fields.",
    ),
    "demo": Lazy(
        "reachwatch.cli.scenario:demo",
        "Build the minister-case scenario through the real pipeline and summarise what it holds.",
    ),
    "generate": Lazy(
        "reachwatch.cli.scenario:generate",
        "Write the scenario as Jetstream JSONL, topped up with background traffic to --events lines.",
    ),
    "oversight": Lazy(
        "reachwatch.cli.accountability:oversight_command",
        "How many posts and accounts were investigated, why, by how many officers, for how many "
        "hours and at what cost, and how many engagers were revealed.",
    ),
    "retention": Lazy(
        "reachwatch.cli.accountability:retention_command",
        "Delete data past its retention period ([retention] settings, off by default), except what "
        "open cases hold.",
    ),
    "collect": Lazy(
        "reachwatch.cli.collect:collect_command",
        "Collect: live streams and a backfill of new posts, counts and engagers of watched accounts.",
    ),
    "post": Lazy(
        "reachwatch.cli.reach:post",
        "The reach dossier of one post: counts over time, velocity, baseline, audience, cascade, forecast.",
    ),
    "brief": Lazy(
        "reachwatch.cli.briefing:brief",
        "A briefing on one post, account, protected person or case, as self-contained HTML and PDF.",
    ),
    "coordination": Lazy(
        "reachwatch.cli.coordination:coordination",
        "Accounts that repost, link or tag the same things within seconds, again and again (ordinary "
        "accounts by pseudonym unless named under an open case).",
    ),
    "reply-attacks": Lazy(
        "reachwatch.cli.reply_attacks:reply_attacks",
        "Replies and quotes arriving in bursts, from accounts that act together across targets, on "
        "posts by or naming protected people and on watched posts (repliers by pseudonym).",
    ),
    "engagers": Lazy(
        "reachwatch.cli.engagers:engagers",
        "Every account that engaged: kinds, first time, delay, followers, account age, prior engagements.",
    ),
    "network": Lazy(
        "reachwatch.cli.networks:network",
        "Communities of engaging accounts (Leiden), what each talks about, and the bridges between.",
    ),
    "automation": Lazy(
        "reachwatch.cli.automation:automation",
        "A transparent 0–1 score per account: rate, regularity, clock, age, profile, handle, bursts "
        "(ordinary accounts by pseudonym unless named under an open case).",
    ),
    "spillover": Lazy(
        "reachwatch.cli.spillover:spillover_command",
        "Mentions and harmful mentions of a person before and after a post: rate ratio with an exact "
        "interval, a segmented time-series fit, and the share from the post's own engagers.",
    ),
    "serve": Lazy(
        "reachwatch.cli.serve:serve",
        "Serve the web app: watch floor, post dossiers, accounts, protected people, search, /api/v1.",
    ),
    "worker": Lazy(
        "reachwatch.cli.workers:app", "Run one part of the pipeline as a worker on NATS JetStream."
    ),
    "cluster": Lazy(
        "reachwatch.cli.workers:cluster_app", "The workers' streams, consumers and backlog on NATS JetStream."
    ),
    "quarantine": Lazy(
        "reachwatch.cli.quarantine:app", "See and replay payloads that could not be ingested."
    ),
    "watch": Lazy("reachwatch.cli.collect:watch_app", "The accounts to watch, on every platform."),
    "people": Lazy("reachwatch.cli.collect:people_app", "The registry of protected people."),
    "narratives": Lazy(
        "reachwatch.cli.narratives:app",
        "Narratives: what accounts push over time, and who carries each theme.",
    ),
    "audit": Lazy(
        "reachwatch.cli.audit:app",
        "The audit trail: who looked at what, when, and whether the log is intact.",
    ),
    "users": Lazy("reachwatch.cli.accountability:users_app", "Local user accounts and their roles."),
    "alerts": Lazy("reachwatch.cli.alerts:app", "Alert rules, the inbox and deliveries."),
    "export": Lazy("reachwatch.cli.networks:export_app", "Write data out for other tools."),
    "eval": Lazy("reachwatch.cli.main:eval_app", "Score analyses against ground truth."),
}
EVAL: dict[str, Lazy] = {
    "scenario": Lazy(
        "reachwatch.cli.scenario:evaluate",
        "How well the store and the analyses recover the scenario's ground truth.",
    ),
    "forecast": Lazy(
        "reachwatch.cli.reach:evaluate_forecast",
        "Backtest the reach forecast on finished cascades at 10 min, 1 h and 6 h, per data set and "
        "platform, against two baselines.",
    ),
    "harm": Lazy(
        "reachwatch.cli.harm:evaluate_harm",
        "The deployed harm rule — what enrichment flags — beside alt-profanity-check.",
    ),
}


def load(name: str, entry: Lazy) -> click.Command:
    """The Click command behind one table entry (imports its module)."""
    module, attribute = entry.target.split(":")
    found = getattr(importlib.import_module(module), attribute)
    if isinstance(found, typer.Typer):
        command: click.Command = get_group(found)
    else:
        single = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
        single.command(name)(found)
        command = get_command(single)
    command.name = name
    return command


class _Commands(MutableMapping[str, click.Command]):
    """A group's commands: the ones registered directly, then the table's, loaded on first use."""

    def __init__(self, loaded: MutableMapping[str, click.Command], table: dict[str, Lazy]) -> None:
        self.loaded, self.table = loaded, table

    def __getitem__(self, name: str) -> click.Command:
        if name not in self.loaded:
            if name not in self.table:
                raise KeyError(name)
            self.loaded[name] = load(name, self.table[name])
        return self.loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self.loaded[name] = command

    def __delitem__(self, name: str) -> None:
        del self.loaded[name]

    def __iter__(self) -> Iterator[str]:
        yield from self.loaded
        yield from (name for name in self.table if name not in self.loaded)

    def __len__(self) -> int:
        return len(set(self.loaded) | set(self.table))


class LazyGroup(typer_core.TyperGroup):
    """A Typer group whose commands come from `table`, imported only when one is run or asked for help."""

    table: ClassVar[dict[str, Lazy]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(self.commands, self.table)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from the table's help (so help imports nothing)."""
        commands = self.commands
        assert isinstance(commands, _Commands)
        rows = []
        limit = formatter.width - 6 - max(len(name) for name in commands)
        for name in commands:
            if name in commands.loaded:
                command = commands.loaded[name]
                if command.hidden:
                    continue
                rows.append((name, command.get_short_help_str(limit)))
            else:
                rows.append((name, click.utils.make_default_short_help(self.table[name].help, limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class MainGroup(LazyGroup):
    table = MAIN


class EvalGroup(LazyGroup):
    table = EVAL


app = typer.Typer(
    name="reachwatch",
    help="Monitor the public posts of high-reach accounts: reach, engagers, harm, narratives, alerts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=MainGroup,
)
eval_app = typer.Typer(
    help="Score analyses against ground truth.", no_args_is_help=True, cls=EvalGroup, rich_markup_mode=None
)


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
        from reachwatch.cli.render import errors

        errors.print(f"Error: {exc}", markup=False)
        sys.exit(exc.exit_code)
