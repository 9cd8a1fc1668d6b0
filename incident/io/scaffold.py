"""A new incident file with every section present and explained.

`new_incident_text(id)` is an incident.yaml to fill in. Its required values
are empty placeholders marked `# required`, which validation rejects with a
message per field, so a half-filled file can never pass for a finished one.
Optional sections are present but empty, each with a commented example.
"""

from __future__ import annotations

import re
from pathlib import Path

from incident.core.errors import IncidentError
from incident.io.files import atomic_write, output_folder, remove_stale
from incident.io.loader import INCIDENT_FILE

ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]*")  # the whole id: use fullmatch (`$` lets a final newline through)

TEMPLATE = """\
# Incident file for {id}. Fill every value marked `# required`, then check it:
#     incident validate {folder}
# Times are local to `timezone` unless they carry an offset (2020-02-23T19:00+08:00).
# Write only what a source says, to the precision it says: a date alone
# (2020-02-24) means the hour is unknown. Every fact lists the ids of its sources.
# Field by field reference: run `incident schema --markdown` (or `incident schema` for the JSON Schema).

id: {id}
title: ""          # required: one line, what happened to whom
organisation:
  name: ""         # required: the organisation that had the incident
  # name_original: name in its own script
  # description: what it does, in a sentence
  facts: []        # sourced facts about it: - {{text: ..., sources: [S1]}}
summary: ""        # required: a paragraph, what happened, how long, what it cost
timezone: ""       # required: IANA name of the local times, e.g. Europe/Berlin, Etc/UTC
status: resolved   # or ongoing
authors: []
severity: null     # the organisation's own rating (SEV1, P1, ...), if a source gives one

# Where every fact comes from. Ids (S1, S2, ...) are used in `sources:` lists below.
sources:
  - id: S1
    title: ""      # required: the document's title
    publisher: ""  # required: who published it
    date: ""       # required: YYYY, YYYY-MM or YYYY-MM-DD
    # url: https://...
    # locator: where a copy is, when there is no URL
    # note: why this source matters

# Points in time. kind: trigger, impact, detection, diagnosis, mitigation,
# recovery, communication, market, legal or other. Durations count from the
# first `impact` milestone (else the first `detection`).
milestones:
  - id: start
    at: ""         # required: 2020-02-23 19:00, or 2020-02-23 if the hour is unknown
    # approximate: true   # when the source says "about"
    kind: impact
    title: ""      # required: what happened at that moment
    description: ""
    sources: [S1]

# Stretches of time at one impact level, between two milestone ids or times.
# impact: major_outage, partial_outage, degraded_performance,
# under_maintenance or operational.
phases: []
#  - id: outage
#    name: Full outage
#    start: start
#    end: service-back
#    impact: major_outage
#    component: API          # when phases are per component
#    sources: [S1]

# What the incident did to users, customers, money: sourced facts.
impact: []         # - {{text: ..., sources: [S1]}}
# Numbers of who or what was affected, only where a source gives them.
customer_impact: []  # - {{metric: users unable to log in, value: 1200, approximate: true, sources: [S1]}}
root_cause: []     # - {{text: ..., sources: [S1]}}
contributing_factors: []  # what made it possible or worse: - {{text: ..., sources: [S1]}}
# Who worked on it, and in what role.
responders: []     # - {{name: ..., role: incident commander, sources: [S1]}}

# Money set aside for the incident, and who bears which part.
provision: null
#  total: 1000000
#  currency: USD
#  parties: [{{party: ..., amount: ..., sources: [S1]}}]
#  remainder_party: the company
#  sources: [S1]

# What affected customers are offered (a cash formula and/or a traffic scheme).
compensation: null
#  description: ...
#  cash: {{formula: ..., window_start: start, window_end: ..., revenue_basis: ...,
#         margin_basis: ..., currency: USD, sources: [S1]}}

# Who was held responsible, with the findings a source gives.
accountability: null
#  people: [{{person: ..., role: ..., findings: [...], sources: [S1]}}]

# What was changed afterwards. status: planned, in_progress, done or unknown.
remediation: []    # - {{category: ..., action: ..., status: done, sources: [S1]}}
# Follow-up work. type: mitigate, prevent, detect or process; status: open,
# in_progress, done or wont_do; priority P0-P3; due YYYY-MM-DD.
action_items: []   # - {{action: ..., type: prevent, owner: ..., priority: P1, due: ..., ticket: ..., status: open}}

# This project's reading of the sourced facts; each cites what it rests on.
lessons: null
#  went_well: [{{text: ..., sources: [S1]}}]
#  went_wrong: [...]
#  got_lucky: [...]

# Figures that sources state (revenue, profit, ...), and claims to recompute.
financials: []     # - {{id: revenue-2020, metric: revenue, period: "2020", value: ..., unit: USD million, sources: [S1]}}
claims: []         # - {{id: ..., statement: ..., stated: ..., check: {{kind: duration, start: start, end: ...}}, sources: [S1]}}

# Listed companies: the share price around the incident.
market: null
#  ticker: ...
#  exchange: XNYS
#  currency: USD
#  prices: prices/stock.csv
#  benchmark: ^GSPC
#  benchmark_prices: prices/benchmark.csv
#  sources: [S1]

notes: []          # other sourced facts: - {{text: ..., sources: [S1]}}
"""


def new_incident_text(incident_id: str, folder: str | None = None) -> str:
    """The incident.yaml template for `incident_id` (not valid until filled in)."""
    _check_id(incident_id)
    return TEMPLATE.format(id=incident_id, folder=folder or incident_id)


def write_new(incident_id: str, data_dir: str | Path = ".") -> Path:
    """Write `data_dir/<id>/incident.yaml` (by default `./<id>/incident.yaml`) from the template; never overwrite.

    Returns the file's path; IncidentError if the id is not a valid incident
    id or the file already exists.
    """
    _check_id(incident_id)
    folder = Path(data_dir) / incident_id
    target = folder / INCIDENT_FILE
    text = new_incident_text(incident_id, str(folder))
    if target.is_symlink() or target.exists():  # a dangling link too: writing would follow it
        raise IncidentError.single(str(target), "already exists; choose another id or edit it")
    output_folder(data_dir, "data folder")
    output_folder(folder, "incident folder")
    remove_stale(folder)
    try:  # exclusive: a file that appeared meanwhile is not overwritten
        atomic_write(target, text, exclusive=True)
    except FileExistsError:
        raise IncidentError.single(str(target), "already exists; choose another id or edit it") from None
    except OSError as exc:
        raise IncidentError.single(str(target), f"cannot write: {exc.strerror or exc}") from None
    return target


def _check_id(incident_id: str) -> None:
    if not isinstance(incident_id, str) or not ID_PATTERN.fullmatch(incident_id) or len(incident_id) > 80:
        shown = repr(incident_id) if len(repr(incident_id)) <= 100 else repr(incident_id)[:100] + "..."
        raise IncidentError.single(
            "<id>", f"{shown} is not an incident id: use lower-case letters, digits and '-' (e.g. acme-2024)"
        )
