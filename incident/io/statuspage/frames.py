"""A whole feed as two tables (incidents, updates), without a model per incident.

For histories of thousands of incidents: columns are built straight from the
checked feed; `read_feed_frames` streams the file so that a million updates
are never held as parsed JSON all at once.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from incident.io.statuspage.convert import incident_ids, page_name
from incident.io.statuspage.feed import COMPONENT_LEVELS, INCIDENT_TIMES, UPDATE_KINDS, scan_feed, scan_feed_file


def feed_frames(feed: dict, file: str = "<feed>") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A feed as (incidents, updates) DataFrames, one row per incident / update.

    Builds columns straight from the parsed JSON (no model per update), for
    histories of many incidents; checks the feed as `check_feed` does. Times
    are UTC; bodies are as the feed gives them. `incidents.id` is the id an
    import gives the incident; `impact` is the worst component status any
    update set (None without component data); `page_impact` is the page's own
    rating (none, minor, major, critical).
    """
    return _frames(scan_feed(feed, file))


def read_feed_frames(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`feed_frames` of a feed file, read one incident at a time.

    The parsed feed is never held whole: each incident's JSON is decoded,
    checked, reduced to its columns and dropped, so memory follows the
    columns rather than a million dicts.
    """
    return _frames(scan_feed_file(path))


def _frames(scan) -> tuple[pd.DataFrame, pd.DataFrame]:
    page = page_name(scan.page)
    counts = np.asarray(scan.counts, dtype=np.int64)
    updates = pd.DataFrame(
        {
            "incident": np.repeat(np.arange(len(counts)), counts),
            "status": pd.Categorical(scan.u_status),
            "created_at": scan.parsed["updates"],
            "body": scan.u_body,
        }
    )
    kinds = {k: v[0] for k, v in UPDATE_KINDS.items()}
    updates["kind"] = updates["status"].map(lambda s: kinds.get(s, "other")).astype(object)
    incidents = pd.DataFrame(
        {
            "id": incident_ids(page, scan.created_text, scan.ids),
            "statuspage_id": scan.ids,
            "page": page,
            "name": scan.names,
            "status": scan.statuses,
            "page_impact": scan.impacts,
            "impact": [COMPONENT_LEVELS[w] if w > 0 else None for w in scan.worst],
            **{key: scan.parsed[key] for key in INCIDENT_TIMES},
            "updates": counts,
        }
    )
    incidents.attrs.update(page=page, time_zone=scan.page.get("time_zone"), file=scan.file)
    return incidents, updates
