"""Atlassian Statuspage incident feeds (`/api/v2/incidents.json`) as incidents.

A status page publishes each incident as a list of updates (investigating,
identified, monitoring, resolved, postmortem), each with a body and the status
it set for the affected components. Two ways in:

- `feed_to_incidents` / `import_statuspage`: one incident in our YAML format
  per Statuspage incident, validated like a hand-written one, for reading and
  reporting a few incidents (convert.py, importer.py);
- `feed_frames` / `read_feed_frames`: the whole feed as two DataFrames
  (incidents, updates) without building a model per incident or update, for
  the history of thousands of incidents (frames.py), and those frames as the
  history table, one row per incident (`history.feed_history`).

Both read and check the feed in feed.py.
"""

from incident.io.statuspage.convert import feed_to_incidents, incident_ids, plain_text
from incident.io.statuspage.feed import (
    COMPONENT_LEVELS, MAX_FEED_BYTES, UPDATE_KINDS, check_feed, read_feed,
)
from incident.io.statuspage.frames import feed_frames, read_feed_frames
from incident.io.statuspage.importer import import_statuspage, incident_yaml, recover, unpublished, write_imported

__all__ = [
    "COMPONENT_LEVELS", "MAX_FEED_BYTES", "UPDATE_KINDS", "check_feed", "feed_frames", "feed_to_incidents",
    "import_statuspage", "write_imported", "incident_ids", "incident_yaml", "plain_text", "read_feed", "read_feed_frames",
    "recover", "unpublished",
]
