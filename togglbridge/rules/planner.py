"""The planner: ``plan(event, config) -> Plan``, the actions an event calls for and why.

Pure and deterministic: no I/O, no clock, no environment; the same event and file always give the same plan, and no
event data can make it raise. Rules run in file order; a matching rule with ``stop: true`` ends the evaluation.
Then the built-ins, unless such a rule took the event: the ``/toggl`` commands (``rules.chatops``) and the
follow-up of a meeting's entry when the meeting moves or is cancelled (``rules.meetings``). A change made in Toggl
itself is learned first, and an echo of the bridge's own change reaches no rule (``rules.toggl_changes``).
The Plan explains itself: every rule, matched or not, with the comparisons its condition made.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from pydantic import BaseModel, ConfigDict, Field

from togglbridge.actions import Action, event_priority
from togglbridge.chat_text import ChatCommandError
from togglbridge.events import Event, UtcDatetime
from togglbridge.rules.building import ActionContext, ActionError, build_action
from togglbridge.rules.chatops import BUILTIN_CHAT_RULE, chat_actions, chat_applies, chat_command
from togglbridge.rules.conditions import ConditionCheck, Scope
from togglbridge.rules.identities import identify, no_identity_note
from togglbridge.rules.meetings import BUILTIN_CALENDAR_RULE, FOLLOWED_KINDS, meeting_actions, meeting_applies
from togglbridge.rules.rule import Rule
from togglbridge.rules.rule_file import RuleFile
from togglbridge.rules.templates import template_variables
from togglbridge.rules.toggl_changes import BUILTIN_TOGGL_RULE, learn_actions, rules_step_aside

KIND_MISMATCH = "kind "  # how a `skipped` reason starts when the rule's `on` does not take the event's kind


class RuleResult(BaseModel):
    """What one rule made of the event."""

    model_config = ConfigDict(frozen=True)

    name: str
    matched: bool
    skipped: str | None = Field(default=None, description="Why the condition was not evaluated at all.")
    checks: list[ConditionCheck] = Field(default_factory=list)
    actions: list[str] = Field(
        default_factory=list, description="The keys of the actions this rule produced."
    )
    errors: list[str] = Field(default_factory=list, description="Actions that could not be built, and why.")


class Plan(BaseModel):
    """The actions for one event, and the explanation of how they came about."""

    model_config = ConfigDict(frozen=True)

    event: Event
    identity: str | None
    identity_reason: str | None = Field(default=None, description="Why the event is the identity's.")
    actions: list[Action] = Field(default_factory=list)
    rules: list[RuleResult] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    note: str | None = Field(default=None, description="Set when nothing can apply, e.g. no identity.")
    planned_at: UtcDatetime | None = Field(default=None, description="The `now` given to plan(), if any.")

    @property
    def matched_rules(self) -> list[str]:
        return [result.name for result in self.rules if result.matched]


def plan(event: Event, config: RuleFile, *, now: datetime | None = None) -> Plan:
    """The actions ``event`` calls for under ``config``. ``now`` is only recorded (planning never reads a clock)."""
    identity, identity_reason = identify(event, config)
    zone = config.defaults.zone
    results: list[RuleResult] = []
    actions: list[Action] = []
    errors: list[str] = []
    stopped_by: str | None = None
    learned = learn_actions(event, identity) if identity is not None else []
    if learned:  # first: a rule acting on the entry finds it known
        results.append(RuleResult(name=BUILTIN_TOGGL_RULE, matched=True, actions=[a.key for a in learned]))
        actions += learned
    for rule in config.rules:
        try:
            result, produced = _run_rule(rule, event, config, identity, zone, stopped_by)
        except Exception as exc:  # a bug of ours must cost one rule, not the event
            result, produced = (
                RuleResult(name=rule.name, matched=False, errors=[f"internal error: {exc!r}"]),
                [],
            )
        results.append(result)
        actions += produced
        errors += [f"rule '{rule.name}': {error}" for error in result.errors]
        if result.matched and rule.stop and stopped_by is None:
            stopped_by = rule.name
    try:
        chat = _run_chat(event, config, identity, stopped_by)
    except Exception as exc:  # as above
        chat = RuleResult(name=BUILTIN_CHAT_RULE, matched=False, errors=[f"internal error: {exc!r}"]), []
    try:
        meeting = _run_meeting(event, config, identity, stopped_by)
    except Exception as exc:  # as above
        meeting = (
            RuleResult(name=BUILTIN_CALENDAR_RULE, matched=False, errors=[f"internal error: {exc!r}"]),
            [],
        )
    for builtin in (chat, meeting):
        if builtin is not None:
            result, produced = builtin
            results.append(result)
            actions += produced
            errors += [f"{result.name}: {error}" for error in result.errors]
    return Plan(
        event=event,
        identity=identity,
        identity_reason=identity_reason,
        actions=actions,
        rules=results,
        errors=errors,
        note=None if identity is not None else no_identity_note(event),
        planned_at=now,
    )


def _run_rule(
    rule: Rule, event: Event, config: RuleFile, identity: str | None, zone: tzinfo, stopped_by: str | None
) -> tuple[RuleResult, list[Action]]:
    skipped = _why_skipped(rule, event, identity, stopped_by)
    if skipped is not None:
        return RuleResult(name=rule.name, matched=False, skipped=skipped), []
    scope = Scope(event=event, zone=zone)
    matched = rule.if_ is None or rule.if_.evaluate(scope)
    if not matched or identity is None:
        return RuleResult(name=rule.name, matched=matched, checks=scope.checks), []
    identity_settings = config.identities.get(identity)
    workspace = identity_settings.workspace_id if identity_settings is not None else None
    variables = template_variables(event, identity, scope.groups)
    actions: list[Action] = []
    errors: list[str] = []
    for index, item in enumerate(rule.do):
        context = ActionContext(
            event=event,
            identity=identity,
            rule=rule.name,
            index=index,
            priority=event_priority(event, rule.priority),
            variables=variables,
            zone=zone,
            workspace_id=workspace if workspace is not None else config.defaults.workspace_id,
            billable=config.defaults.billable,
            hours_per_day=config.defaults.hours_per_day,
            days_per_week=config.defaults.days_per_week,
        )
        try:
            actions.append(build_action(item, context))
        except ActionError as exc:
            errors.append(f"do[{index}] ({item.name}): {exc}")
    return RuleResult(
        name=rule.name, matched=True, checks=scope.checks, actions=[a.key for a in actions], errors=errors
    ), actions


def _why_skipped(rule: Rule, event: Event, identity: str | None, stopped_by: str | None) -> str | None:
    if not rule.enabled:
        return "disabled (enabled: false)"
    aside = rules_step_aside(event)
    if aside is not None:
        return aside
    if stopped_by is not None:
        return f"not evaluated: rule '{stopped_by}' matched first and has stop: true"
    if not rule.matches_kind(event.kind):
        return f"{KIND_MISMATCH}'{event.kind}' is not in on: {', '.join(rule.on)}"
    if rule.identities is not None and identity not in rule.identities:
        return f"identity '{identity or '(none)'}' is not in identities: {', '.join(rule.identities)}"
    if event.kind == "git.commit" and event.data.get("merge") is True and not rule.tests_field("merge"):
        return "a merge commit: a rule takes merge commits only when its if tests merge (merge: true)"
    if rule.calendars is not None:
        calendar = event.data.get("calendar")
        if calendar not in rule.calendars:
            return f"calendar {calendar!r} is not in calendars: {', '.join(rule.calendars)}"
    return None


def _run_chat(
    event: Event, config: RuleFile, identity: str | None, stopped_by: str | None
) -> tuple[RuleResult, list[Action]] | None:
    """The built-in chat commands' result, or None when the event is not a chat command at all."""
    if event.kind != "chat.command":
        return None
    skipped = chat_applies(event, config)
    if skipped is None and stopped_by is not None:
        skipped = f"not evaluated: rule '{stopped_by}' matched first and has stop: true"
    if skipped is not None:
        return RuleResult(name=BUILTIN_CHAT_RULE, matched=False, skipped=skipped), []
    try:
        command = chat_command(event)
    except ChatCommandError as exc:
        return RuleResult(name=BUILTIN_CHAT_RULE, matched=False, errors=[str(exc).splitlines()[0]]), []
    if identity is None:
        return RuleResult(name=BUILTIN_CHAT_RULE, matched=True), []
    try:
        actions = chat_actions(event, command, config, identity)
    except ChatCommandError as exc:
        return RuleResult(name=BUILTIN_CHAT_RULE, matched=True, errors=[str(exc).splitlines()[0]]), []
    return RuleResult(name=BUILTIN_CHAT_RULE, matched=True, actions=[a.key for a in actions]), actions


def _run_meeting(
    event: Event, config: RuleFile, identity: str | None, stopped_by: str | None
) -> tuple[RuleResult, list[Action]] | None:
    """The built-in follow-up of a meeting's entry, or None when the event is not about a meeting's change."""
    if event.kind not in FOLLOWED_KINDS:
        return None
    skipped = meeting_applies(event, config)
    if skipped is None and stopped_by is not None:
        skipped = f"not evaluated: rule '{stopped_by}' matched first and has stop: true"
    if skipped is not None:
        return RuleResult(name=BUILTIN_CALENDAR_RULE, matched=False, skipped=skipped), []
    if identity is None:
        return RuleResult(name=BUILTIN_CALENDAR_RULE, matched=True), []
    actions = meeting_actions(event, config, identity)
    return RuleResult(name=BUILTIN_CALENDAR_RULE, matched=True, actions=[a.key for a in actions]), actions
