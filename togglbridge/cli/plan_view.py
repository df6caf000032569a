"""A Plan for people: rich tables of each rule's verdict and comparisons, then the actions."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from togglbridge.actions import (
    Action,
    LearnAction,
    LogAction,
    MoveAction,
    ReportAction,
    ResumeAction,
    StartAction,
    StopAction,
    TagAction,
    UndoAction,
    UntagAction,
    WithdrawAction,
)
from togglbridge.durations import format_duration
from togglbridge.rules.conditions import ConditionCheck
from togglbridge.rules.planner import KIND_MISMATCH, Plan, RuleResult


def render_plan(plan: Plan, console: Console) -> None:
    console.print(_heading(plan))
    console.print(rules_table(plan))
    if plan.actions:
        console.print(actions_table(plan.actions))
    else:
        console.print(Text("No actions.", style="bold"))
    for error in plan.errors:
        console.print(Text(f"error: {error}", style="red"))


def _heading(plan: Plan) -> Group:
    event = plan.event
    lines = [
        Text.assemble(
            ("Event ", "bold"),
            (event.kind, "bold cyan"),
            f" from {event.source}, actor {event.actor!r}, at {event.occurred_at.isoformat()}",
        ),
        Text(f"id {event.id}" + (f", subject {event.subject}" if event.subject else ""), style="dim"),
    ]
    if plan.identity is not None:
        lines.append(
            Text.assemble(("Identity ", "bold"), (plan.identity, "green"), " (every action is theirs)")
        )
    if plan.note:
        lines.append(Text(plan.note, style="yellow"))
    return Group(*lines)


def rules_table(plan: Plan) -> Table:
    table = Table(title="Rules, in file order", title_justify="left", show_lines=True)
    table.add_column("Rule", style="bold", overflow="fold")
    table.add_column("Result")
    table.add_column("Why", overflow="fold")
    other_kinds = []
    for result in plan.rules:
        if result.skipped is not None and result.skipped.startswith(KIND_MISMATCH):
            other_kinds.append(result.name)  # listed together below: they are noise when reading one event
        else:
            table.add_row(escape(result.name), _verdict(result), _why(result))
    if other_kinds:
        table.add_row(
            Text(", ".join(other_kinds), style="dim"),
            Text("skipped", style="dim"),
            Text(f"on: does not take {plan.event.kind}", style="dim"),
        )
    return table


def _verdict(result: RuleResult) -> Text:
    if result.skipped is not None:
        return Text("skipped", style="dim")
    if not result.matched:
        return Text("no match", style="yellow")
    label = f"matched, {len(result.actions)} action" + ("" if len(result.actions) == 1 else "s")
    return Text(label, style="green")


def _why(result: RuleResult) -> Text:
    if result.skipped is not None:
        return Text(result.skipped, style="dim")
    lines = [check_line(check) for check in result.checks] or [Text("no condition", style="dim")]
    lines += [Text(f"error: {error}", style="red") for error in result.errors]
    return Text("\n").join(lines)


def check_line(check: ConditionCheck) -> Text:
    """``✗ my_status not eq 'declined': got 'declined'`` and the note, if any."""
    mark = Text("✓ ", style="green") if check.ok else Text("✗ ", style="red")
    op = f"not {check.op}" if check.negate else check.op
    line = Text.assemble(mark, f"{check.path} {op} {_value(check.expected)}: got {_value(check.actual)}")
    if check.note:
        line.append(f" ({check.note})", style="dim")
    return line


def _value(value: Any) -> str:
    return "(none)" if value is None else repr(value)


def actions_table(actions: list[Action]) -> Table:
    table = Table(title="Actions", title_justify="left", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("Action", style="bold")
    table.add_column("Rule")
    table.add_column("Priority")
    table.add_column("What", overflow="fold")
    table.add_column("Key", style="dim", overflow="fold")
    for number, action in enumerate(actions, 1):
        table.add_row(
            str(number),
            action.type,
            escape(action.rule),
            action.priority,
            Text("\n".join(describe_action(action))),
            escape(action.key),
        )
    return table


def describe_action(action: Action) -> list[str]:
    """The fields of an action that matter to a reader, one per line."""
    if isinstance(action, StartAction | LogAction):
        lines = [f"description: {action.description!r}", *_entry_lines(action)]
        if isinstance(action, StartAction):
            return [*lines, f"start: {action.start.isoformat()}"]
        if action.estimate is not None:
            estimate = action.estimate
            duration = (
                f"session estimate (gap up to {format_duration(estimate.max_gap_seconds)}, "
                f"else {format_duration(estimate.first_seconds)})"
            )
        else:
            duration = format_duration(action.duration_seconds or 0)
        return [*lines, f"duration: {duration}", f"end: {action.end.isoformat()}"]
    if isinstance(action, StopAction):
        only = action.only + (f" {action.description!r}" if action.description is not None else "")
        return [f"only: {only}", f"stop: {action.stop.isoformat()}"]
    if isinstance(action, TagAction | UntagAction):
        return [f"tags: {', '.join(action.tags)}", f"target: {action.target}"]
    if isinstance(action, MoveAction):
        return ["target: subject", f"start: {action.start.isoformat()}", f"stop: {action.stop.isoformat()}"]
    if isinstance(action, ReportAction):
        return [f"report: {action.report}", f"since: {action.since.isoformat()}"]
    if isinstance(action, ResumeAction):
        return ["what ran last, again", f"start: {action.start.isoformat()}"]
    if isinstance(action, UndoAction):
        return [f"the last change, if made within {action.within_seconds // 60} minutes"]
    if isinstance(action, LearnAction):
        state = "deleted" if action.deleted else "running" if action.running else "not running"
        return [f"entry {action.entry_id}: {state}", "nothing is sent to Toggl"]
    if isinstance(action, WithdrawAction):
        finished = "deleted" if action.finished == "delete" else "kept"
        return [
            "target: subject",
            f"running: stopped at {action.occurred_at.isoformat()}",
            f"finished: {finished}",
        ]
    changes = action.model_dump(
        mode="json", include={"description", "project", "task_id", "billable", "tags", "start", "stop"}
    )
    return [f"target: {action.target}", *(f"{k}: {v!r}" for k, v in changes.items() if v is not None)]


def brief_action(action: Action) -> str:
    """An action in a few words, for a table of many: "start 'Standup' @Meetings #meeting"."""
    if isinstance(action, StartAction | LogAction):
        words = [action.type, repr(action.description)]
        if action.project is not None:
            words.append(f"@{action.project}")
        words += [f"#{tag}" for tag in action.tags]
        if isinstance(action, LogAction) and action.duration_seconds is not None:
            words.append(format_duration(action.duration_seconds))
        elif isinstance(action, LogAction) and action.estimate is not None:
            words.append(
                f"(the gap since the previous commit up to {format_duration(action.estimate.max_gap_seconds)}, "
                f"else {format_duration(action.estimate.first_seconds)})"
            )
        return " ".join(words)
    if isinstance(action, StopAction):
        return "stop" + ("" if action.only == "any" else f" ({action.only.replace('_', ' ')})")
    if isinstance(action, TagAction | UntagAction):
        return f"{action.type} {' '.join('#' + tag for tag in action.tags)} ({action.target} entry)"
    if isinstance(action, ReportAction):
        return f"report {action.report}"
    if isinstance(action, ResumeAction):
        return "resume what ran last"
    if isinstance(action, UndoAction):
        return "undo the last change"
    if isinstance(action, LearnAction):
        return f"learn entry {action.entry_id}"
    return f"{action.type} ({getattr(action, 'target', 'subject')} entry)"


def _entry_lines(action: StartAction | LogAction) -> list[str]:
    lines = []
    if action.project is not None:
        lines.append(f"project: {action.project!r}")
    if action.task_id is not None:
        lines.append(f"task_id: {action.task_id}")
    if action.tags:
        lines.append(f"tags: {', '.join(action.tags)}")
    if action.billable is not None:
        lines.append(f"billable: {str(action.billable).lower()}")
    if action.workspace_id is not None:
        lines.append(f"workspace_id: {action.workspace_id}")
    return lines
