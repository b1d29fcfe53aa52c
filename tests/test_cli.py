"""The command line: every command has help and is documented; outputs, exit codes, hostile text."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reachwatch.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _commands() -> list[list[str]]:
    import typer.main

    group = typer.main.get_command(app)
    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
        else:
            found.append(path)

    walk(group, [])
    return found


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reachwatch", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = _commands()
    assert ["ingest"] in commands
    assert ["quarantine", "retry"] in commands
    assert ["eval", "scenario"] in commands
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Usage" in result.output
        assert f"reachwatch {' '.join(path)}" in readme, f"`reachwatch {' '.join(path)}` is not documented"


def test_the_command_table_matches_the_commands_it_loads() -> None:
    """--help lists commands from a table without importing them: each entry must say what the
    command it loads says, and name a command that exists."""
    from typer import _click as click

    from reachwatch.cli.main import EVAL, MAIN, load

    for table in (MAIN, EVAL):
        for name, entry in table.items():
            command = load(name, entry)
            assert command.name == name
            for limit in (45, 200, 10_000):
                shown = click.utils.make_default_short_help(entry.help, limit)
                assert command.get_short_help_str(limit) == shown, (name, limit)


def test_help_and_version_import_no_command_and_no_heavy_library() -> None:
    """`reachwatch --help` and `--version` start fast because they import nothing behind the commands."""
    probe = (
        "import sys\n"
        "from reachwatch.cli.main import app\n"
        "for args in (['--version'], ['--help'], ['eval', '--help']):\n"
        "    try:\n"
        "        app(args)\n"
        "    except SystemExit as done:\n"
        "        assert done.code == 0, (args, done.code)\n"
        "heavy = ('sqlalchemy', 'numpy', 'scipy', 'alembic', 'igraph', 'onnxruntime', 'datasketch',\n"
        "         'reachwatch.service', 'reachwatch.store', 'reachwatch.cli.reach')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m.startswith(heavy)))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Score analyses against ground truth." in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    result = cli("demo", "--no-serve", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "Top posts by engagement" in result.stdout
    assert str(db) in result.stdout
    return db


@pytest.mark.slow
def test_demo_then_stats_search_and_eval(demo_db: Path) -> None:
    stats = json.loads(cli("stats", "--db", str(demo_db), "--json").stdout)
    assert stats["posts"] > 5_000
    assert stats["engagements"]["like"] > 30_000
    assert stats["watched_accounts"] == 1
    assert stats["people"] == 13  # the minister and the comparison pool of 12
    assert stats["quarantine_open"] == 0
    hits = json.loads(cli("search", "jailed", "--db", str(demo_db), "--json", "--limit", "5").stdout)
    assert hits
    assert all("jailed" in hit["text"].lower() for hit in hits)
    evaluation = cli("eval", "scenario", "--db", str(demo_db))
    assert evaluation.returncode == 0, evaluation.stdout + evaluation.stderr
    assert evaluation.stdout.count("pass") >= 5
    assert "FAIL" not in evaluation.stdout


@pytest.mark.slow
def test_demo_is_deterministic_and_rerunning_it_adds_nothing(demo_db: Path) -> None:
    before = json.loads(cli("stats", "--db", str(demo_db), "--json").stdout)
    again = cli("demo", "--no-serve", "--db", str(demo_db))
    assert re.search(r"0 new events, [\d,]+ already there", again.stdout)
    after = json.loads(cli("stats", "--db", str(demo_db), "--json").stdout)
    before.pop("cursors"), after.pop("cursors")
    assert before == after


def test_ingest_quarantine_commands_and_hostile_text(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    hostile = "[bold red]fake[/bold red] <script>alert(1)</script> \x1b[2J\x1b]0;pwned\x07 end"
    post = {
        "did": "did:plc:h",
        "time_us": 1_700_000_000_000_000,
        "kind": "commit",
        "commit": {
            "rev": "3r",
            "operation": "create",
            "collection": "app.bsky.feed.post",
            "rkey": "3k",
            "cid": "bafy",
            "record": {"$type": "app.bsky.feed.post", "text": hostile, "createdAt": "2023-11-14T22:13:00Z"},
        },
    }
    path = tmp_path / "in.jsonl"
    path.write_bytes(json.dumps(post).encode() + b"\n{oops\n")
    ingested = cli("ingest", str(path), "--db", db, "--progress", "none", "--create")
    assert ingested.returncode == 0
    assert "1 new events" in ingested.stdout
    assert "1 quarantined" in ingested.stdout

    found = cli("search", "alert", "--db", db)
    assert "<script>alert(1)</script>" in found.stdout  # shown literally, as text
    assert "[bold red]fake[/bold red]" in found.stdout  # not interpreted as markup
    assert "\x1b" not in found.stdout
    assert "\x07" not in found.stdout

    listed = cli("quarantine", "list", "--db", db)
    assert "invalid-json" in listed.stdout
    raw = subprocess.run(
        [sys.executable, "-m", "reachwatch", "quarantine", "show", "1", "--raw", "--db", db],
        capture_output=True,
        timeout=60,
    )
    assert raw.stdout == b"{oops"
    retried = cli("quarantine", "retry", "--all", "--db", db)
    assert "0 resolved, 1 still failing" in retried.stdout


def test_exit_codes_usage_2_domain_1(tmp_path: Path) -> None:
    db = str(tmp_path / "e.db")
    assert cli("ingest", str(tmp_path / "nope.jsonl"), "--db", db).returncode == 2
    assert "There is no store at" in cli("stats", "--db", db).stderr  # a mistyped --db: exit 2
    assert cli("init", "--db", db).returncode == 0
    missing = cli("quarantine", "show", "99", "--db", db)
    assert missing.returncode == 1
    assert "No quarantined payload has id 99" in missing.stderr
    assert cli("search", "x", "--db", db, "--order", "sideways").returncode == 2
    bad_setting = cli("ingest", "-", "--db", db, "--batch-size", "0")
    assert bad_setting.returncode == 2
    assert "REACHWATCH_BATCH_SIZE" in bad_setting.stderr
    assert cli("eval", "scenario", "--db", db).returncode == 1
    assert cli("stats", "--db", "mysql://nowhere/x").returncode == 1


def test_generate_writes_jetstream_lines(tmp_path: Path) -> None:
    out = tmp_path / "g.jsonl"
    result = cli("generate", "--events", "60000", "--out", str(out))
    assert result.returncode == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == 60_000
    jetstream = [json.loads(line) for line in lines[-1000:]]
    assert all(event["kind"] in ("commit", "identity") for event in jetstream if "kind" in event)
    times = [event["time_us"] for event in (json.loads(line) for line in lines) if "time_us" in event]
    assert times == sorted(times)


def _top_post(db: Path) -> str:
    result = cli("search", '"should be jailed"', "--db", str(db), "--json", "--limit", "500")
    hits = json.loads(result.stdout)
    return str(next(hit["id"] for hit in hits if "should be jailed" in hit["text"]))


def test_post_dossier_of_the_trigger(demo_db: Path) -> None:
    post_id = _top_post(demo_db)
    result = cli("post", post_id, "--db", str(demo_db))
    assert result.returncode == 0, result.stderr
    assert "structural virality" in result.stdout
    assert "robust z" in result.stdout
    data = json.loads(cli("post", post_id, "--db", str(demo_db), "--json").stdout)
    assert data["counts"]["repost"] > 1_000
    assert data["baseline"]["robust_z"] > 10  # far outside the author's ordinary posts
    assert data["audience"]["potential"] > 212_000_000
    assert data["forecast"]["low"] <= data["forecast"]["predicted"] <= data["forecast"]["high"]
    assert data["cascade"]["size"] == sum(data["counts"].get(k, 0) for k in ("repost", "quote", "reply")) + 1


def test_post_that_does_not_exist(demo_db: Path) -> None:
    result = cli("post", "bluesky:at://nobody/app.bsky.feed.post/x", "--db", str(demo_db))
    assert result.returncode == 1
    assert "No post" in result.stderr


def test_eval_forecast_on_the_generated_cascades(demo_db: Path, tmp_path: Path) -> None:
    result = cli("eval", "forecast", "--db", str(demo_db), "--data", str(tmp_path / "absent"), "--json")
    assert result.returncode == 0, result.stderr
    in_use, own = json.loads(result.stdout)
    assert "store" in in_use["source"]
    assert "Twitter15+16" in in_use["note"]
    assert "fitted on the store's other half" in own["source"]
    assert [row["horizon_s"] for row in in_use["rows"]] == [600.0, 3600.0, 21600.0]
    # The demo's fast cascades: the Twitter calibration overshoots, the store's own does not.
    assert own["rows"][0]["model_mape"] < in_use["rows"][0]["model_mape"]
    import shutil

    copy = tmp_path / "copy.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{demo_db}{suffix}").exists():
            shutil.copy(f"{demo_db}{suffix}", f"{copy}{suffix}")
    fitted = cli("eval", "forecast", "--db", str(copy), "--data", str(tmp_path / "absent"), "--fit")
    assert fitted.returncode == 0, fitted.stderr
    assert "bluesky: now forecast with a calibration fitted on this store's" in " ".join(
        fitted.stdout.split()
    )
    again = json.loads(
        cli("eval", "forecast", "--db", str(copy), "--data", str(tmp_path / "absent"), "--json").stdout
    )
    assert "this store's" in again[0]["note"]


def test_worker_collect_wants_a_file_or_live_and_something_to_stream(tmp_path: Path) -> None:
    """Neither a FILE nor --live, or both, is refused with what to give; --live over a store that
    watches nobody and protects nobody is refused with how to add them, before NATS is touched."""
    from reachwatch.errors import UsageError
    from reachwatch.store.database import Store

    capture = tmp_path / "capture.jsonl"
    capture.write_text("{}\n")
    db = str(tmp_path / "empty.db")
    Store.open(db).close()
    for args in ([], [str(capture), "--live"]):
        result = runner.invoke(app, ["worker", "collect", *args, "--db", db])
        assert isinstance(result.exception, UsageError), result.output
        assert "--live" in str(result.exception)
    result = runner.invoke(app, ["worker", "collect", "--live", "--db", db, "--nats", "nats://127.0.0.1:1"])
    assert isinstance(result.exception, UsageError), result.output
    assert "watch add" in str(result.exception)
    assert "people add" in str(result.exception)
