"""Check, when the file loads, that a rule reads only fields its events have.

A rule takes the kinds its ``on`` names; each kind's source declares the data fields it carries
(``togglbridge.sources.kinds``). A field path in the rule's ``if`` or a variable in one of its templates that no kind
of the rule has is a typo (``repo.nmae``) that would otherwise fail on every event, or never match: it is reported
with its place and the closest field. A rule that may take a kind whose data nobody declares (``on: "*"``, a generic
webhook's ``build.finished``) is not checked, and neither is a template variable guarded by ``default``.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from fnmatch import fnmatchcase

import jinja2
from jinja2 import nodes

from togglbridge.rules.conditions import Condition, FieldTest, field_tests
from togglbridge.rules.operators import Regex
from togglbridge.rules.specs import ActionItem
from togglbridge.rules.strict_model import Problem
from togglbridge.rules.templates import ENVIRONMENT, TEMPLATE_EVENT_FIELDS, Template
from togglbridge.sources import REGISTRY, KindSchema

Kinds = list[tuple[str, KindSchema]]
SIMILAR_ENOUGH = 0.7  # difflib's ratio: "repo.nmae" is "repo.name", "end" is not "sender"
Location = tuple[str | int, ...]

TEMPLATE_NAMES = ("data", "event", "identity")
"""What templates see beside the data fields (``templates.template_variables``)."""


def rule_field_problems(
    on: Sequence[str], condition: Condition | None, do: Sequence[ActionItem]
) -> list[Problem]:
    """Every field path and template variable of a rule that none of its kinds has, at its place in the rule."""
    kinds = kinds_taken(on)
    if kinds is None:
        return []
    problems: list[Problem] = []
    groups: set[str] = set()
    for location, test in _field_tests(condition):
        if isinstance(test.operator, Regex):
            groups.update(test.operator.pattern.groupindex)
        if test.path.event_field is None:
            written = test.path.text
            prefix = written[: len(written) - len(".".join(test.path.data_keys))]
            reason = unknown_data_path(test.path.data_keys, kinds, prefix=prefix)
            if reason is not None:
                problems.append((("if", *location), reason))
    for index, item in enumerate(do):
        for location, template in _templates(item):
            for path in template_references(template):
                reason = _unknown_variable(path, kinds, groups)
                if reason is not None:
                    problems.append((("do", index, item.name, *location), reason))
    return problems


def kinds_taken(patterns: Sequence[str]) -> Kinds | None:
    """The declared kinds ``patterns`` take, with their schemas; None when they may take one whose data nobody
    declares (a kind outside the built-in sources' namespaces, or one with open data)."""
    taken: Kinds = []
    for pattern in patterns:
        if pattern.split(".")[0] not in REGISTRY.builtin_namespaces:
            return None
        for kind, schema in REGISTRY.kind_schemas.items():
            if fnmatchcase(kind, pattern):
                if schema.open:
                    return None
                taken.append((kind, schema))
    return taken or None


def unknown_data_path(
    parts: Sequence[str], kinds: Kinds, *, prefix: str = "", also: Sequence[str] = ()
) -> str | None:
    """None when some kind has the data field ``parts``; else why not, with the closest field. ``prefix``: how
    the path was written before its data part (``data.``); ``also``: other names meant at the top level."""
    meant: list[str] = []
    siblings: list[str] = []
    for _, schema in kinds:
        unknown = _first_unknown(parts, schema)
        if unknown is None:
            return None
        choices = list(schema.children(".".join(parts[:unknown])))
        if unknown == 0 and not prefix:
            choices += also
        siblings += choices
        close = difflib.get_close_matches(parts[unknown], choices, n=1, cutoff=SIMILAR_ENOUGH)
        if close:
            meant.append(prefix + ".".join([*parts[:unknown], close[0], *parts[unknown + 1 :]]))
    dotted = prefix + ".".join(parts)
    if meant:
        hint = f"; did you mean '{meant[0]}'?"
    else:
        listed = [name for name in dict.fromkeys(siblings) if name not in also]
        hint = f" (it has: {', '.join(listed)})" if listed else ""
    return f"'{dotted}' is not a field of {_kinds_label(kinds)} events{hint}"


def _kinds_label(kinds: Kinds) -> str:
    names = list(dict.fromkeys(kind for kind, _ in kinds))
    namespaces = {name.split(".")[0] for name in names}
    if len(names) > 2 and len(namespaces) == 1:
        return f"{namespaces.pop()}.*"
    return " or ".join(names)


def suggest(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=SIMILAR_ENOUGH)
    return f"; did you mean '{close[0]}'?" if close else ""


def _first_unknown(parts: Sequence[str], schema: KindSchema) -> int | None:
    """The index of the first part of ``parts`` that is not a declared field; None when every part is. The
    insides of a value (a text's methods, a list's items) are not declared, so they are not checked."""
    parent = ""
    for index, part in enumerate(parts):
        if parent and not schema.children(parent):
            return None
        path = f"{parent}.{part}" if parent else part
        if path not in schema.fields:
            return index
        parent = path
    return None


def _unknown_variable(path: tuple[str, ...], kinds: Kinds, groups: set[str]) -> str | None:
    name, rest = path[0], path[1:]
    if name in groups or name == "identity" or name in ENVIRONMENT.globals:
        return None
    if name == "event":
        if rest and rest[0] not in TEMPLATE_EVENT_FIELDS:
            return (
                f"'event.{rest[0]}' is not a field of an event"
                f"{suggest(f'event.{rest[0]}', [f'event.{name}' for name in TEMPLATE_EVENT_FIELDS])}"
                f" (event has: {', '.join(TEMPLATE_EVENT_FIELDS)})"
            )
        return None
    if name == "data":
        return unknown_data_path(rest, kinds, prefix="data.") if rest else None
    return unknown_data_path(path, kinds, also=[*TEMPLATE_NAMES, *sorted(groups)])


def template_references(template: Template) -> list[tuple[str, ...]]:
    """The variables a template reads, each as the path it follows (``repo.name`` is ("repo", "name")), except
    those guarded by ``default`` and those the template defines itself."""
    if template.is_constant:
        return []
    try:
        tree = ENVIRONMENT.parse(template.source)
    except jinja2.TemplateSyntaxError:  # (reported when the template was compiled)
        return []
    defined = {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
    return [path for path in _references(tree) if path[0] not in defined]


def _references(node: nodes.Node) -> Iterator[tuple[str, ...]]:
    if isinstance(node, nodes.Filter) and node.name in ("default", "d"):
        yield from _children_references(node, skip=node.node)
        return
    path = _path(node)
    if path is not None:
        yield path
        return
    yield from _children_references(node)


def _children_references(node: nodes.Node, skip: nodes.Node | None = None) -> Iterator[tuple[str, ...]]:
    for child in node.iter_child_nodes():
        if child is not skip:
            yield from _references(child)


def _path(node: nodes.Node) -> tuple[str, ...] | None:
    """``a.b["c"].0`` as ("a", "b", "c", "0"); None for anything that is not a variable with attributes."""
    parts: list[str] = []
    while True:
        if isinstance(node, nodes.Getattr):
            parts.append(node.attr)
            node = node.node
        elif (
            isinstance(node, nodes.Getitem)
            and isinstance(node.arg, nodes.Const)
            and isinstance(node.arg.value, str | int)
        ):
            parts.append(str(node.arg.value))
            node = node.node
        elif isinstance(node, nodes.Name) and node.ctx == "load":
            return (node.name, *reversed(parts))
        else:
            return None


def _field_tests(condition: Condition | None) -> Iterator[tuple[Location, FieldTest]]:
    for test in field_tests(condition):
        yield test.location, test


def _templates(item: ActionItem) -> Iterator[tuple[Location, Template]]:
    spec = item.spec
    for name in type(spec).model_fields:
        value = getattr(spec, name)
        if isinstance(value, Template):
            yield (name,), value
        elif isinstance(value, list):
            for index, element in enumerate(value):
                if isinstance(element, Template):
                    yield (name, index), element
