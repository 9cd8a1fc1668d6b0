"""`python -m incident.cli ...` runs the `incident` command."""

import sys

from incident.cli import main

sys.exit(main())
