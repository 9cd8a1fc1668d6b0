"""Write an incident as incident.yaml text that `load` reads back to the same model.

Fields left at their defaults are left out, in the order the model declares
them, so a written file reads like a hand-written one. Times stay the text the
author wrote (YAML quotes them where it would otherwise read a date).
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from incident.core.model import Incident
from incident.io.files import atomic_write
from incident.io.loader import INCIDENT_FILE


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper, with text that must be quoted to read back the same."""


# NEL and the Unicode line and paragraph separators are line breaks to a YAML
# reader: unquoted (or single-quoted) they come back as a space or a newline.
_BREAKS = re.compile("[\x85\u2028\u2029]")


def _text(dumper: yaml.SafeDumper, value: str):
    style = '"' if _BREAKS.search(value) else None  # double quotes write them as escapes
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def to_yaml(inc: Incident) -> str:
    """The incident as YAML text."""
    data = inc.model_dump(mode="python", exclude_defaults=True)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def dump(inc: Incident, path: str | Path) -> Path:
    """Write the incident to `path` (a folder gets incident.yaml); return the file.

    The file is replaced in one step, so a reader never sees half of it.
    """
    target = Path(path)
    if target.is_dir() or not target.suffix:
        target = target / INCIDENT_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(target, to_yaml(inc))
