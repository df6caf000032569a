"""Read a rule file's YAML so that every problem found later can name its line.

Two deliberate departures from PyYAML's defaults, because a rule file is edited by hand:

- Scalars follow YAML 1.2's core schema. YAML 1.1 reads ``on:`` (the rules' trigger key) and ``no`` as booleans,
  ``18:00`` as the number 1080 and ``010`` as 8; here they stay what they look like. Dates stay text too, and are
  parsed where a date is expected.
- A key written twice in one mapping is a problem, not a silent "the last one wins".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from togglbridge.rules.yaml_errors import explain_syntax_error

Location = tuple[str | int, ...]
"""A place in the document: mapping keys and sequence indexes from the top, e.g. ("rules", 0, "do")."""

MAX_NODES = 200_000  # far above any real rule file; stops an alias bomb ("billion laughs") from eating memory


class _RuleFileLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars (see the module's docstring)."""

    yaml_implicit_resolvers: dict[Any, Any] = {}


_RESOLVERS = [
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+0123456789."),
    ),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", ["<"]),
]
for _tag, _pattern, _first in _RESOLVERS:
    _RuleFileLoader.add_implicit_resolver(_tag, re.compile(_pattern), _first)


def _construct_int(loader: yaml.SafeLoader, node: Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)  # "010" is ten, as it reads


_RuleFileLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


@dataclass(frozen=True)
class YamlProblem:
    line: int
    message: str


@dataclass
class YamlDocument:
    """The document as plain Python data, and the line of every mapping key and sequence item in it."""

    data: Any
    lines: dict[Location, int] = field(default_factory=dict)

    def line_of(self, location: Sequence[str | int]) -> int:
        """The line of the deepest part of ``location`` the document has; parts it lacks (a missing key, or a
        segment a validator added) are skipped, so a problem always lands on the nearest line that exists."""
        found: Location = ()
        line = self.lines.get((), 1)
        for part in location:
            candidate = (*found, part)
            if candidate in self.lines:
                found, line = candidate, self.lines[candidate]
        return line


def read_yaml(text: str) -> tuple[YamlDocument | None, list[YamlProblem]]:
    """Parse ``text``; on a syntax error the document is None and the one problem says where."""
    loader = _RuleFileLoader(text)
    try:
        root = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(exc, text)]
    except yaml.YAMLError as exc:
        return None, [YamlProblem(1, f"YAML: {exc}")]
    except RecursionError:
        return None, [YamlProblem(1, "YAML: the document is nested too deeply")]
    finally:
        loader.dispose()
    if root is None:
        return YamlDocument(data=None, lines={(): 1}), []
    builder = _Builder(loader)
    try:
        data = builder.build(root, ())
    except RecursionError:
        return None, [YamlProblem(1, "YAML: the document is nested too deeply")]
    return YamlDocument(data=data, lines=builder.lines), builder.problems


def _syntax_problem(exc: yaml.MarkedYAMLError, text: str) -> YamlProblem:
    explained = explain_syntax_error(exc, text)
    return YamlProblem(explained.line, explained.message)


class _Builder:
    """Turns composed nodes into data, recording lines as it goes (PyYAML's constructor forgets them)."""

    def __init__(self, loader: _RuleFileLoader) -> None:
        self.loader = loader
        self.lines: dict[Location, int] = {}
        self.problems: list[YamlProblem] = []
        self._open: set[int] = set()  # nodes being built: meeting one again means a recursive alias
        self._count = 0

    def build(self, node: Node, where: Location) -> Any:
        line = node.start_mark.line + 1
        self.lines.setdefault(where, line)
        self._count += 1
        if self._count > MAX_NODES:
            if self._count == MAX_NODES + 1:
                self.problems.append(YamlProblem(line, f"the document has more than {MAX_NODES} values"))
            return None
        if id(node) in self._open:
            self.problems.append(YamlProblem(line, "an alias refers to a value that contains it"))
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node, line)
        self._open.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                return [self._item(item, (*where, index)) for index, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, where)
        finally:
            self._open.discard(id(node))
        return None

    def _item(self, node: Node, where: Location) -> Any:
        self.lines[where] = node.start_mark.line + 1
        return self.build(node, where)

    def _scalar(self, node: ScalarNode, line: int) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.problems.append(YamlProblem(line, f"cannot read this value: {exc}"))
            return None

    def _mapping(self, node: MappingNode, where: Location) -> dict[str, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                line = key_node.start_mark.line + 1
                if key_node.value in seen:
                    self.problems.append(
                        YamlProblem(
                            line,
                            f"'{key_node.value}' is given twice here (first on line {seen[key_node.value]})",
                        )
                    )
                seen.setdefault(key_node.value, line)
        try:
            self.loader.flatten_mapping(node)  # resolves "<<: *anchor" merges, as PyYAML does
        except yaml.YAMLError as exc:
            self.problems.append(YamlProblem(node.start_mark.line + 1, f"cannot merge: {exc}"))
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problems.append(YamlProblem(key_node.start_mark.line + 1, "a key must be plain text"))
                continue
            key = str(key_node.value)  # keys are names: "1.0" stays "1.0", "on" stays "on"
            self.lines[(*where, key)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*where, key))
        return result
