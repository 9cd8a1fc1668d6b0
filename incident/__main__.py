"""`python -m incident ...` runs the `incident` command."""

from incident.cli import run

run()
