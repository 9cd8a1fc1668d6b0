"""Read an incident YAML file safely, keeping the line of every field.

PyYAML's safe loader builds no Python objects from tags, but it still expands
aliases (the "billion laughs" bomb), keeps the last of two duplicate keys
silently, and turns `2020-02-24` into a date, losing the precision the author
wrote. This reader composes the node tree (with libyaml's C parser when PyYAML
has it, after reading its event stream for the refusals below; else with the
pure-Python safe loader) and builds plain dicts, lists and scalars itself, so
that:

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
MAX_DEPTH = 64  # incident files nest about 5 deep; "[[[[..." 10,000 deep would exhaust the parser's recursion
_PLAIN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _Loader(yaml.SafeLoader):
    """Safe loader that refuses aliases before they are expanded, and deep nesting."""

    _depth = 0

    def compose_node(self, parent, index):  # noqa: D102 - PyYAML hook
        if self._depth >= MAX_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nested more than {MAX_DEPTH} levels deep", self.peek_event().start_mark
            )
        self._depth += 1
        try:
            return self._compose_checked(parent, index)
        finally:
            self._depth -= 1

    def _compose_checked(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (*name) are not allowed in incident files", event.start_mark
            )
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, "anchors (&name) are not allowed in incident files", event.start_mark
            )
        return super().compose_node(parent, index)


_FAST = getattr(yaml, "__with_libyaml__", False)  # libyaml's C parser: about ten times the pure one's speed


def _compose_fast(text: str):
    """The node tree from libyaml, after the same refusals `_Loader` makes, read off its event stream first.

    Aliases, anchors and nesting deeper than MAX_DEPTH are refused before any
    node is built, so an alias is never expanded and the C composer never
    recurses deep.
    """
    depth = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise _refusal("anchors and aliases (*name) are not allowed in incident files", event)
        if getattr(event, "anchor", None) is not None:
            raise _refusal("anchors (&name) are not allowed in incident files", event)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise _refusal(f"nested more than {MAX_DEPTH} levels deep", event)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
    return yaml.compose(text, Loader=yaml.CSafeLoader)


def _refusal(problem: str, event: yaml.Event) -> yaml.composer.ComposerError:
    """The error `_Loader` raises for `problem`, at `event`'s place in the text."""
    # libyaml's events carry a yaml._yaml.Mark, which types-PyYAML does not accept where a yaml.error.Mark goes,
    # though the error uses only what both have (name, line, column, str())
    return yaml.composer.ComposerError(None, None, problem, event.start_mark)  # type: ignore[arg-type]


def load_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """Parse one YAML document into plain data and a {field path: line} map."""
    text = read_text(path, MAX_BYTES, "incident file")
    if not text.strip():
        raise IncidentError.single(str(path), "file is empty")
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # raised before parsing, for a control character anywhere
        raise IncidentError.single(
            str(path), f"character U+{exc.character:04X} is not allowed in a YAML file (a control character)",
            line=text.count("\n", 0, exc.position) + 1,
        ) from None
    try:
        node = _compose_fast(text) if _FAST else loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise IncidentError.single(str(path), f"YAML syntax: {exc.problem or exc.context}", line=line) from None
    except yaml.YAMLError as exc:
        raise IncidentError.single(str(path), f"YAML syntax: {exc}") from None
    finally:
        loader.dispose()
    if node is None:
        raise IncidentError.single(str(path), "file is empty")
    lines: dict[tuple, int] = {}
    problems: list[Problem] = []
    value = _build(node, (), lines, problems, str(path), loader)
    if problems:
        raise IncidentError(problems)
    return value, lines


def _build(node, path: tuple, lines: dict, problems: list, file: str, loader) -> Any:
    line = node.start_mark.line + 1
    lines[path] = line
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _COLLECTION_TAGS:
        problems.append(Problem(file, path_text(path), f"tag {node.tag!r} is not allowed (plain YAML values only)", line))
        return None
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(file, path_text(path), "a key must be a plain name", key_node.start_mark.line + 1))
                continue
            key = key_node.value
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(file, path_text(path), "merge keys (<<) are not allowed", key_node.start_mark.line + 1))
                continue
            if key in out:
                problems.append(Problem(file, path_text(path + (key,)), "duplicate key", key_node.start_mark.line + 1))
                continue
            out[key] = _build(value_node, path + (key,), lines, problems, file, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), lines, problems, file, loader) for i, item in enumerate(node.value)]
    if node.tag == _TIMESTAMP:
        return node.value  # keep the author's text: precision matters
    if node.tag not in _PLAIN_TAGS:
        problems.append(Problem(file, path_text(path), f"tag {node.tag!r} is not allowed (plain YAML values only)", line))
        return None
    if node.tag in _NUMBER_TAGS:
        refused = _yaml11_number(node.value)
        if refused:
            problems.append(Problem(file, path_text(path), refused, line))
            return None
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError) as exc:
        shown = node.value if len(node.value) <= 60 else node.value[:50] + "..."  # a 5,000-digit number, say
        problems.append(Problem(file, path_text(path), f"cannot read value {shown!r}: {exc}", line))
        return None


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
