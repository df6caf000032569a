"""PyYAML's syntax errors, said in terms of what to change, at the line that needs changing.

PyYAML reports the token it could not place ("expected <block end>, but found '<block mapping start>'") where it
found it, which is not always the line to fix: a key without its colon is found wrong only on the next line, and
an unclosed bracket where the next key starts. Its ``context_mark`` points at where what it was reading began; for
those errors that is the line to name.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class SyntaxProblem:
    line: int
    message: str


def explain_syntax_error(exc: yaml.MarkedYAMLError, text: str) -> SyntaxProblem:
    """The line to fix and what is wrong there."""
    problem = exc.problem or ""
    context = exc.context or ""
    problem_line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
    context_line = exc.context_mark.line + 1 if exc.context_mark is not None else None
    lines = text.splitlines()

    if problem.startswith("could not find expected ':'") and context_line is not None:
        return SyntaxProblem(
            context_line,
            f"YAML: {_quoted_line(lines, context_line)} has no ':' after its key; write 'key: value' "
            "(or, if it continues the value above, indent it deeper than that value's key)",
        )
    if problem.startswith("expected <block end>") and problem_line is not None:
        return SyntaxProblem(problem_line, _misaligned(lines, problem_line, context_line))
    if problem == "mapping values are not allowed here" and problem_line is not None:
        return SyntaxProblem(
            problem_line,
            "YAML: a ':' where no key can start: if this line is a key, it is indented deeper than the key "
            "above it (line it up with its siblings); if a value holds ': ', put the value in quotes",
        )
    if context.startswith("while parsing a flow") and context_line is not None:
        opener = "{" if "mapping" in context else "["
        closer = "}" if opener == "{" else "]"
        found = f" (line {problem_line} came first)" if problem_line not in (None, context_line) else ""
        return SyntaxProblem(
            context_line, f"YAML: the '{opener}' here is never closed with '{closer}'{found}"
        )
    if "quoted scalar" in context and context_line is not None:
        return SyntaxProblem(context_line, "YAML: the quote that starts here is never closed")
    if "found character '\\t'" in problem and problem_line is not None:
        return SyntaxProblem(problem_line, "YAML: a tab in the indentation; indent with spaces only")
    line = problem_line or context_line or 1
    message = f"YAML syntax: {problem or 'not valid YAML'}"
    if context and context_line is not None and context_line != line:
        message += f" ({context} on line {context_line})"
    return SyntaxProblem(line, message)


def _misaligned(lines: list[str], line: int, block_line: int | None) -> str:
    """A line whose indentation lines it up with nothing above it: say by how much it is indented, and which
    indentations the lines it could belong with have."""
    indent = _indent(lines, line)
    start = block_line or 1
    levels = sorted(
        {level for number in range(start, line) for level in _key_columns(lines, number)} - {indent}
    )
    which = f" (the lines above it use {', '.join(map(str, levels))})" if levels else ""
    return (
        f"YAML: {_quoted_line(lines, line)} is indented by {indent} spaces, which lines it up with none of the "
        f"keys or items above it{which}: indent it exactly like the keys it belongs with"
    )


def _indent(lines: list[str], line: int) -> int:
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return len(text) - len(text.lstrip(" "))


def _key_columns(lines: list[str], line: int) -> list[int]:
    """Where the keys and items of a line start: ``  - log:`` has an item at 2 and a key at 4."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    stripped = text.lstrip(" ")
    if not stripped or stripped.startswith("#"):
        return []
    columns = [len(text) - len(stripped)]
    while stripped.startswith("- "):
        rest = stripped[2:].lstrip(" ")
        columns.append(len(text) - len(rest))
        stripped = rest
    return columns


def _quoted_line(lines: list[str], line: int) -> str:
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return f"'{text[:60]}'" if text else "this line"
