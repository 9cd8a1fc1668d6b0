"""`python -m incident.cli ...` runs the `incident` command."""

from incident.cli import run

run()
