"""Read an incident YAML file safely, keeping the line of every field.

PyYAML's safe loader builds no Python objects from tags, but it still expands
aliases (the "billion laughs" bomb), keeps the last of two duplicate keys
silently, and turns `2020-02-24` into a date, losing the precision the author
wrote. This reader takes the parser's event stream (libyaml's C parser when
PyYAML has it, else the pure-Python one) and builds plain dicts, lists and
scalars from it in one pass, with no node tree, so that:

- anchors and aliases are refused (incident files have no use for them);
- duplicate keys and non-standard tags (`!!python/object`, ...) are errors;
- dates and times stay strings, parsed later with their precision;
- every field path maps to its line, for error messages.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

from incident.core.errors import IncidentError, Problem
from incident.core.model import path_text  # noqa: F401 (re-exported: the loader's messages use it)
from incident.io.files import read_text

MAX_BYTES = 5_000_000  # an incident file is a few kB; refuse anything absurd
MAX_DEPTH = 64  # incident files nest about 5 deep; "[[[[..." 10,000 deep is refused before it is built
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"
_FAST = getattr(yaml, "__with_libyaml__", False)  # libyaml's C parser: about ten times the pure one's speed
_SCALAR, _MAPPING, _SEQUENCE = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
_ENDS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
# what an open collection expects next: an item of a list; a key of a mapping; a value of a mapping not to be read
_ITEM, _KEY, _SKIP = object(), object(), object()


def load_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """Parse one YAML document into plain data and a {field path: line} map."""
    text = read_text(path, MAX_BYTES, "incident file")
    if not text.strip():
        raise IncidentError.single(str(path), "file is empty")
    control = yaml.reader.Reader.NON_PRINTABLE.search(text)  # PyYAML's own test, made before it parses anything
    if control:
        raise IncidentError.single(
            str(path), f"character U+{ord(control[0]):04X} is not allowed in a YAML file (a control character)",
            line=text.count("\n", 0, control.start()) + 1,
        )
    loader = (yaml.CSafeLoader if _FAST else yaml.SafeLoader)(text)
    try:
        documents, value, lines, problems = _plain_data(loader, str(path))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise IncidentError.single(str(path), f"YAML syntax: {exc.problem or exc.context}", line=line) from None
    except yaml.YAMLError as exc:
        raise IncidentError.single(str(path), f"YAML syntax: {exc}") from None
    finally:
        loader.dispose()
    if not documents:
        raise IncidentError.single(str(path), "file is empty")
    if problems:
        raise IncidentError(problems)
    return value, lines


def _plain_data(loader, file: str) -> tuple[int, Any, dict[tuple, int], list[Problem]]:
    """(number of documents, the first one as plain data, {field path: line}, problems) from `loader`'s events.

    One pass over the event stream, building no node tree (composing one,
    then walking it, cost twice as much). Aliases, anchors and nesting deeper
    than MAX_DEPTH are refused on the event that shows them, wherever it is
    (a part not read, a second document), before any node after it is
    parsed: an alias is never expanded, and nothing recurses deep. Other
    problems are collected; a part that cannot be read (a tagged mapping,
    the value of a duplicate key) is passed over.
    """
    lines: dict[tuple, int] = {}
    problems: list[Problem] = []
    stack: list[list] = []  # the open collections: [container, path, key state]; container None: passed over
    depth = documents = 0
    root = root_mark = another = None
    for event in iter(loader.get_event, None):
        kind = event.__class__
        if kind is not _SCALAR and kind is not _MAPPING and kind is not _SEQUENCE:
            if kind in _ENDS:
                depth -= 1
                stack.pop()
            elif kind is yaml.AliasEvent:
                raise _refusal("anchors and aliases (*name) are not allowed in incident files", event)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents == 2:
                    another = event.start_mark
            continue
        if event.anchor is not None:
            raise _refusal("anchors (&name) are not allowed in incident files", event)
        if kind is not _SCALAR:
            depth += 1
            if depth > MAX_DEPTH:
                raise _refusal(f"nested more than {MAX_DEPTH} levels deep", event)
        # where the node goes: the root, a key, a value at `path`, or nowhere (passed over)
        frame = stack[-1] if stack else None
        if frame is None:
            path: tuple | None = () if documents == 1 else None
        elif frame[0] is None:
            path = None
        elif frame[2] is _KEY:  # a key: kept as written, plain text only
            if kind is _SCALAR:
                frame[2] = _mapping_key(loader, event, event.start_mark.line + 1, frame, problems, file)
            else:
                problems.append(Problem(file, path_text(frame[1]), "a key must be a plain name",
                                        event.start_mark.line + 1))
                frame[2] = _SKIP  # the key is passed over below, then its value
            path = None
        elif frame[2] is _SKIP:
            frame[2] = _KEY
            path = None
        elif frame[2] is _ITEM:
            path = frame[1] + (len(frame[0]),)
        else:
            path = frame[1] + (frame[2],)
        if path is None:
            if kind is not _SCALAR:
                stack.append([None, None, None])
            continue
        line = event.start_mark.line + 1
        lines[path] = line
        if kind is _SCALAR:
            value = _scalar_value(loader, event, path, line, problems, file)
        elif event.tag is None or event.tag == "!" or event.tag in _COLLECTION_TAGS:
            value = {} if kind is _MAPPING else []
            stack.append([value, path, _KEY if kind is _MAPPING else _ITEM])
        else:
            problems.append(Problem(file, path_text(path), f"tag {event.tag!r} is not allowed (plain YAML values only)",
                                    line))
            value = None
            stack.append([None, None, None])
        if frame is None:
            root, root_mark = value, event.start_mark
        elif frame[2] is _ITEM:
            frame[0].append(value)
        else:
            frame[0][frame[2]] = value
            frame[2] = _KEY
    if another is not None:  # as PyYAML's composer says it
        raise yaml.composer.ComposerError("expected a single document in the stream", root_mark,
                                          "but found another document", another)
    return documents, root, lines, problems


def _mapping_key(loader, event: yaml.ScalarEvent, line: int, frame: list, problems: list[Problem], file: str):
    """The key `event` (at `line`) gives the mapping `frame`, or _SKIP (with a problem): its value is not read."""
    tag = event.tag
    if (tag is None or tag == "!") and event.value == "<<":  # the one text that resolves to a merge
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == _MERGE:
        problems.append(Problem(file, path_text(frame[1]), "merge keys (<<) are not allowed", line))
        return _SKIP
    if event.value in frame[0]:
        problems.append(Problem(file, path_text(frame[1] + (event.value,)), "duplicate key", line))
        return _SKIP
    return event.value


def _scalar_value(loader, event: yaml.ScalarEvent, path: tuple, line: int, problems: list[Problem], file: str) -> Any:
    """The value of a scalar: text as written (times too: their precision matters), or a plain YAML value."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == _STR or tag == _TIMESTAMP:
        return event.value
    if tag not in _PLAIN_TAGS:
        problems.append(Problem(file, path_text(path), f"tag {tag!r} is not allowed (plain YAML values only)", line))
        return None
    if tag in _NUMBER_TAGS:
        refused = _yaml11_number(event.value)
        if refused:
            problems.append(Problem(file, path_text(path), refused, line))
            return None
    # marks as in `_refusal`: libyaml's, which types-PyYAML does not accept where PyYAML's go
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)  # type: ignore[arg-type]
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, KeyError, IndexError) as exc:  # `!!bool maybe`, `!!int` of nothing
        shown = node.value if len(node.value) <= 60 else node.value[:50] + "..."  # a 5,000-digit number, say
        reason = f": {exc}" if isinstance(exc, (yaml.YAMLError, ValueError)) else f" as {tag.rsplit(':', 1)[-1]}"
        problems.append(Problem(file, path_text(path), f"cannot read value {shown!r}{reason}", line))
        return None


def _refusal(problem: str, event: yaml.Event) -> yaml.composer.ComposerError:
    """A refusal at `event`'s place in the text, worded as PyYAML words its own errors."""
    # libyaml's events carry a yaml._yaml.Mark, which types-PyYAML does not accept where a yaml.error.Mark goes,
    # though the error uses only what both have (name, line, column, str())
    return yaml.composer.ComposerError(None, None, problem, event.start_mark)  # type: ignore[arg-type]


# YAML 1.1 (PyYAML's) reads `1:30` as 90 (base 60) and `010` as 8 (octal); YAML 1.2 and
# every other reader see 1:30 as text and 010 as ten. An incident file means neither silently.
_NUMBER_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"}
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?")
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")


def _yaml11_number(text: str) -> str | None:
    """Why a plain number must be written otherwise, or None if it reads the same in every YAML."""
    if _SEXAGESIMAL.fullmatch(text):
        return (f"{text} is read by YAML 1.1 as a base-60 number; quote it (\"{text}\") if it is text, "
                "or write the number in decimal")
    if _LEADING_ZERO.fullmatch(text):
        return (f"{text} has a leading zero, which YAML 1.1 reads as an octal number; write it without the zero, "
                f"or quote it (\"{text}\") if it is text")
    return None


# -- writing plain data, fast -------------------------------------------------
# PyYAML's representer costs ~1 ms per incident in Python, even with libyaml's
# emitter; an import of 10,000 incidents spent most of its time there. Plain
# data (text, booleans, null, lists, mappings) needs little of it: text is
# written plain when no YAML reader could take it for anything else, double-
# quoted with escapes otherwise. tests/test_files.py reads back random data.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 _.,()/'-]*")
_NOT_TEXT = {"yes", "no", "true", "false", "on", "off", "null", "y", "n"}
_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]')
_NAMED = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0",
          "\x85": "\\N", "\u2028": "\\L", "\u2029": "\\P"}


def _escape(m: re.Match) -> str:
    char = m[0]
    named = _NAMED.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02X}" if code < 0x100 else f"\\u{code:04X}"


def _scalar(value) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        return repr(value)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as plain YAML")


def _lines(value, indent: str, out: list[str]) -> None:
    """Append the block lines of a mapping or list at `indent`."""
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{indent}{_key(key)}:"
            if type(item) is str:
                out.append(f"{head} {_text(item)}")
            elif isinstance(item, (dict, list)) and item:
                out.append(head)
                _lines(item, indent + "  ", out)
            else:
                out.append(f"{head} {_flow(item)}")
    else:
        for item in value:
            if type(item) is str:
                out.append(f"{indent}- {_text(item)}")
            elif isinstance(item, (dict, list)) and item:
                sub: list[str] = []
                _lines(item, indent + "  ", sub)
                out.append(f"{indent}- {sub[0][len(indent) + 2:]}")
                out.extend(sub[1:])
            else:
                out.append(f"{indent}- {_flow(item)}")


@functools.lru_cache(maxsize=1024)
def _key(key) -> str:
    """A mapping key as YAML (keys repeat in every item: computed once each)."""
    return _text(str(key))


def _text(value: str) -> str:
    if _PLAIN.fullmatch(value) and value[-1] != " " and value.lower() not in _NOT_TEXT:
        return value
    return '"' + _ESCAPE.sub(_escape, value) + '"'


def _flow(value) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def dump_plain(data: dict) -> str:
    """A mapping of plain data as block-style YAML text that any YAML reader reads back the same."""
    if not isinstance(data, dict):
        raise TypeError("dump_plain writes a mapping")
    if not data:
        return "{}\n"
    out: list[str] = []
    _lines(data, "", out)
    return "\n".join(out) + "\n"
