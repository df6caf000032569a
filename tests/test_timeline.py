"""The timeline's pure arithmetic: what entries a set of timer actions means, whatever their arrival order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from togglbridge.timeline import Mark, changed_entries, intended_entries

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def mark(key: str, kind: str, minute: int, **fields: object) -> Mark:
    at = T0 + timedelta(minutes=minute)
    return Mark(key, kind, at, at.timestamp() * 1000, **fields)  # type: ignore[arg-type]


def test_each_start_ends_the_one_before_and_a_stop_ends_the_running_one() -> None:
    entries = intended_entries(
        [
            mark("s2", "start", 30, description="b"),
            mark("s1", "start", 0, description="a"),
            mark("x", "stop", 45),
        ]
    )
    assert [(e.key, e.start.minute, e.stop.minute if e.stop else None) for e in entries.values()] == [
        ("s1", 0, 30),
        ("s2", 30, 45),
    ]


def test_a_stop_for_another_subject_leaves_the_running_entry_alone() -> None:
    entries = intended_entries(
        [
            mark("s1", "start", 0, subject="meeting-1"),
            mark("x", "stop", 10, subject="meeting-2", only="started_by_this_event"),
        ]
    )
    assert entries["s1"].running


def test_same_description_stops_only_a_matching_entry() -> None:
    matching = [
        mark("s", "start", 0, description="Deep work"),
        mark("x", "stop", 5, description="Deep work", only="same_description"),
    ]
    other = [
        mark("s", "start", 0, description="Email"),
        mark("x", "stop", 5, description="Deep work", only="same_description"),
    ]
    assert not intended_entries(matching)["s"].running
    assert intended_entries(other)["s"].running


def test_tags_go_to_the_entry_running_at_their_time() -> None:
    entries = intended_entries(
        [
            mark("s1", "start", 0, tags=("x",)),
            mark("t", "tag", 20, tags=("late",)),
            mark("s2", "start", 10),
            mark("u", "untag", 5, tags=("x",)),
        ]
    )
    assert entries["s1"].tags == set() and entries["s2"].tags == {"late"}


def test_an_update_changes_the_running_entry() -> None:
    entries = intended_entries(
        [mark("s", "start", 0, description="a"), mark("u", "update", 1, description="b")]
    )
    assert entries["s"].description == "b"


def test_actions_before_any_start_change_nothing() -> None:
    assert intended_entries([mark("x", "stop", 0), mark("t", "tag", 1, tags=("a",))]) == {}


def test_only_what_a_new_mark_changes_is_reported() -> None:
    marks = [mark("s1", "start", 0), mark("s2", "start", 30), mark("s3", "start", 60)]
    before = intended_entries(marks)
    after = intended_entries([*marks, mark("x", "stop", 40)])
    assert [e.key for e in changed_entries(before, after)] == ["s2"]


def test_marks_survive_json() -> None:
    original = mark("s", "start", 0, description="a", tags=("x", "y"), subject="cal:1", project="Acme")
    assert Mark.from_json(original.to_json()) == original
