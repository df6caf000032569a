"""A small router for the simulator: path templates like `/workspaces/{wid}/time_entries/{id}/stop`.

Starlette's router tries its routes' regexes one by one; this one indexes routes by (method, segment count) and
compares literal segments, so a match costs a dict lookup and a handful of string comparisons. It also yields the
route template, which the request counters are keyed by.

Path parameters are ASCII digits converted to int (a non-numeric id does not match, hence 404), except `{ids}`,
which stays a string for the bulk endpoint to parse (it answers 400, not 404, for bad lists). A path that some route
matches under another method is told apart (`allowed_methods`), so that the simulator can answer 405, not 404.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from togglbridge.toggl.sim.errors import Invalid
from togglbridge.toggl.sim.fields import require_object
from togglbridge.toggl.sim.knobs import SimKnobs
from togglbridge.toggl.sim.models import User
from togglbridge.toggl.sim.state import SimState

if TYPE_CHECKING:
    from togglbridge.toggl.sim.delivery import Dispatcher

STRING_PARAMS = frozenset({"ids", "code"})


@dataclass(slots=True)
class RequestContext:
    """What a handler gets: the caller, the matched parameters, the query, the raw body and the sim time."""

    state: SimState
    knobs: SimKnobs
    user: User
    params: dict[str, Any]
    query: Mapping[str, str]
    body: bytes
    now: int
    hooks: Dispatcher | None = None
    """Where changes are published to webhook subscribers (None: nobody listens, e.g. in unit tests)."""
    method: str = "GET"
    path: str = ""
    """The request's path as Toggl sees it (`/api/v9/...`, also for gateway requests), for the events' metadata."""

    def emit(self, entity: str, action: str, workspace_id: int, render: Callable[[], dict[str, Any]]) -> None:
        """Tell webhook subscribers of a change made by this request; `render` gives the entity's JSON."""
        if self.hooks is not None:
            self.hooks.publish(
                workspace_id=workspace_id,
                entity=entity,
                action=action,
                render=render,
                creator_id=self.user.id,
                method=self.method,
                path=self.path,
            )

    def json(self) -> Any:
        """The body as JSON; a missing or malformed body is Toggl's 400 with a plain string."""
        if not self.body.strip():
            raise Invalid("JSON is not valid: the request has no body")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise Invalid("JSON is not valid") from None

    def json_object(self) -> Mapping[str, Any]:
        return require_object(self.json())

    def optional_json_object(self) -> Mapping[str, Any]:
        """For endpoints whose body is optional (archive, restore): empty means {}."""
        return self.json_object() if self.body.strip() else {}

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() == "true"


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's answer: a JSON payload, or no body at all (`empty`)."""

    payload: Any = None
    status: int = 200
    empty: bool = False


Handler = Callable[[RequestContext], Reply]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    handler: Handler
    me_quota: bool = False
    """Counts against the separate /me quota (`SimKnobs.me_quota_per_hour`)."""
    label: str = field(init=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", f"{self.method} {self.template}")


@dataclass(frozen=True, slots=True)
class _Compiled:
    route: Route
    literals: tuple[tuple[int, str], ...]
    params: tuple[tuple[int, str, bool], ...]


class Router:
    """Match (method, path) to a route and its parameters."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self._table: dict[tuple[str, int], list[_Compiled]] = {}
        self._methods: list[str] = []
        for route in routes:
            if route.method not in self._methods:
                self._methods.append(route.method)
            segments = split_path(route.template)
            literals = tuple((i, s) for i, s in enumerate(segments) if not s.startswith("{"))
            params = tuple(
                (i, s[1:-1], s[1:-1] not in STRING_PARAMS)
                for i, s in enumerate(segments)
                if s.startswith("{")
            )
            bucket = self._table.setdefault((route.method, len(segments)), [])
            bucket.append(_Compiled(route, literals, params))
            # Literal-heavy routes first, so /me/time_entries/current wins over /me/time_entries/{id}.
            bucket.sort(key=lambda c: -len(c.literals))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, Any]] | None:
        return self._match_segments(method, split_path(path))

    def allowed_methods(self, path: str) -> list[str]:
        """The methods some route answers on this path (empty: the path is unknown)."""
        segments = split_path(path)
        return [m for m in self._methods if self._match_segments(m, segments) is not None]

    def _match_segments(self, method: str, segments: list[str]) -> tuple[Route, dict[str, Any]] | None:
        for compiled in self._table.get((method, len(segments)), ()):
            if any(segments[i] != lit for i, lit in compiled.literals):
                continue
            values: dict[str, Any] = {}
            for i, name, numeric in compiled.params:
                raw = segments[i]
                if numeric:
                    if not (raw.isascii() and raw.isdigit()):
                        break
                    values[name] = int(raw)
                else:
                    values[name] = raw
            else:
                return compiled.route, values
        return None


def split_path(path: str) -> list[str]:
    """'/a/b/' -> ['a', 'b']; '/' -> []."""
    return [s for s in path.split("/") if s]
