"""`python -m reachwatch` runs the command line."""

from reachwatch.cli.main import run

run()
