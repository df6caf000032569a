"""What planning reads of the rule file: the planner takes any ``RuleFile``, and ``togglbridge.config.Config``
(the file's validated model) is one. So the rules never import the file's model, which is built from them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from typing import Literal, Protocol

from togglbridge.rules.rule import Rule


class RuleFileDefaults(Protocol):
    @property
    def workspace_id(self) -> int | None: ...

    @property
    def billable(self) -> bool | None: ...

    @property
    def zone(self) -> tzinfo: ...

    @property
    def hours_per_day(self) -> float: ...

    @property
    def days_per_week(self) -> float: ...


class RuleFileIdentity(Protocol):
    @property
    def workspace_id(self) -> int | None: ...

    def handles(self) -> list[tuple[str, str]]: ...


class RuleFileCalendar(Protocol):
    @property
    def identity(self) -> str: ...

    @property
    def on_cancel(self) -> Literal["delete", "stop", "keep"]: ...


class RuleFileChat(Protocol):
    """The built-in ``/toggl`` commands' settings."""

    @property
    def enabled(self) -> bool: ...

    @property
    def platforms(self) -> Sequence[str] | None: ...

    @property
    def project(self) -> int | str | None: ...

    @property
    def tags(self) -> Sequence[str]: ...

    @property
    def billable(self) -> bool | None: ...


class RuleFile(Protocol):
    @property
    def defaults(self) -> RuleFileDefaults: ...

    @property
    def identities(self) -> Mapping[str, RuleFileIdentity]: ...

    @property
    def chat(self) -> RuleFileChat: ...

    @property
    def rules(self) -> Sequence[Rule]: ...

    def calendar(self, name: str) -> RuleFileCalendar | None: ...

    def identity_for_handle(self, where: str, handle: str) -> str | None:
        """The identity listing ``handle`` under ``where`` (a platform, "email" or "alias")."""
        ...
