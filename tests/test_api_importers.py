"""What every importer of a saved API response promises (`incident.io.apijson`), checked once for each.

PagerDuty, Opsgenie and incident.io read their responses through one checked
read and one record check: JSON nested beyond reason is one line, problems are
capped at MAX_PROBLEMS lines, an id given twice is refused, and nothing is
written unless every record converts (all or none).
"""

from __future__ import annotations

import copy
import json

import pytest

from conftest import ROOT
from incident.core.errors import MAX_PROBLEMS, IncidentError
from incident.io.incidentio import import_incidentio, read_incidentio
from incident.io.opsgenie import import_opsgenie, read_opsgenie
from incident.io.pagerduty import import_pagerduty, read_pagerduty

FIXTURES = ROOT / "tests" / "fixtures"
# name -> (read, import, fixture, the key of the records' list, a bad record)
IMPORTERS = {
    "pagerduty": (read_pagerduty, import_pagerduty, FIXTURES / "pagerduty" / "incidents.json", "incidents",
                  lambda i: {"id": f"P{i}", "status": "open"}),
    "opsgenie": (read_opsgenie, import_opsgenie, FIXTURES / "opsgenie" / "alerts.json", "data",
                 lambda i: {"id": f"A{i}", "tinyId": str(i), "acknowledged": False, "createdAt": "x"}),
    "incidentio": (read_incidentio, import_incidentio, FIXTURES / "incidentio" / "incidents.json", "incidents",
                   lambda i: {"id": f"P{i}", "created_at": "x"}),
}


def error(tmp_path, name: str, body) -> str:
    """The one IncidentError of reading `body` as `name`'s response; importing it writes nothing."""
    read, write, _, _, _ = IMPORTERS[name]
    path = tmp_path / "response.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    with pytest.raises(IncidentError) as caught:
        read(path)
    with pytest.raises(IncidentError):
        write(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # all or none
    return str(caught.value)


@pytest.mark.parametrize("name", IMPORTERS)
def test_deep_nesting_is_one_line(tmp_path, name):
    key = IMPORTERS[name][3]
    message = error(tmp_path, name, f'{{"{key}": [' + "[" * 100_000 + "]" * 100_000 + "]}")
    assert "response.json" in message and "nested too deeply" in message and len(message.splitlines()) == 1


@pytest.mark.parametrize("name", IMPORTERS)
def test_problems_are_capped(tmp_path, name):
    _, _, _, key, bad = IMPORTERS[name]
    message = error(tmp_path, name, {key: [bad(i) for i in range(500)]})
    assert len(message.splitlines()) == MAX_PROBLEMS


@pytest.mark.parametrize("name", IMPORTERS)
def test_an_id_given_twice_is_refused(tmp_path, name):
    _, _, fixture, key, _ = IMPORTERS[name]
    body = json.loads(fixture.read_text(encoding="utf-8"))
    body[key].append(copy.deepcopy(body[key][0]))
    assert "more than once" in error(tmp_path, name, body)
