"""Group commit (``store/group_commit.py``): every caller gets its own script's answer, whether it sent the script
itself (nothing in flight) or went in a batch with others; errors reach exactly the callers they belong to."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio
import redis.exceptions

from togglbridge.store.group_commit import ScriptGroup

# Appends ARGV[1] to the list KEYS[1] and answers the list's new length; 'fail' raises inside the script.
SCRIPT = """
if ARGV[1] == 'fail' then return redis.error_reply('asked to fail') end
return redis.call('RPUSH', KEYS[1], ARGV[1])
"""


async def calls(redis_url: str, work: Any) -> Any:
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        return await work(client, ScriptGroup(client, SCRIPT))
    finally:
        await client.aclose()


def test_one_call_alone_runs_its_script_and_answers(redis_url: str) -> None:
    async def work(client: Any, group: ScriptGroup) -> Any:
        first = await group(
            ["list"], ["a"]
        )  # the script is not loaded yet: NOSCRIPT, then loaded and run once
        second = await group(["list"], ["b"])
        return first, second, await client.lrange("list", 0, -1)

    assert asyncio.run(calls(redis_url, work)) == (1, 2, [b"a", b"b"])


def test_concurrent_calls_each_get_their_own_answer_in_order(redis_url: str) -> None:
    async def work(client: Any, group: ScriptGroup) -> Any:
        answers = await asyncio.gather(*(group(["list"], [str(i)]) for i in range(300)))
        return answers, await client.lrange("list", 0, -1)

    answers, stored = asyncio.run(calls(redis_url, work))
    assert sorted(answers) == list(range(1, 301))
    assert stored == [str(i).encode() for i in range(300)]  # each ran once, in the order called


def test_a_failing_script_fails_its_own_caller_only(redis_url: str) -> None:
    async def work(client: Any, group: ScriptGroup) -> Any:
        return await asyncio.gather(
            group(["list"], ["fail"]),
            group(["list"], ["ok"]),
            group(["list"], ["fail"]),
            group(["list"], ["ok"]),
            return_exceptions=True,
        )

    answers = asyncio.run(calls(redis_url, work))
    assert [type(a) for a in answers] == [
        redis.exceptions.ResponseError,
        int,
        redis.exceptions.ResponseError,
        int,
    ]
    assert sorted(a for a in answers if isinstance(a, int)) == [1, 2]


def test_a_connection_that_fails_fails_every_caller_and_the_group_recovers(redis_url: str) -> None:
    async def work(client: Any, group: ScriptGroup) -> Any:
        broken = redis.asyncio.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
        group._redis = broken  # no server listens on port 1
        failed = await asyncio.gather(*(group(["list"], [str(i)]) for i in range(5)), return_exceptions=True)
        await broken.aclose()
        group._redis = client
        return failed, await group(["list"], ["after"])

    failed, after = asyncio.run(calls(redis_url, work))
    assert all(isinstance(answer, redis.exceptions.ConnectionError) for answer in failed)
    assert after == 1


@pytest.mark.parametrize("flushed", [True, False])
def test_a_script_forgotten_by_the_server_is_loaded_again(redis_url: str, flushed: bool) -> None:
    async def work(client: Any, group: ScriptGroup) -> Any:
        await group(["list"], ["a"])
        if flushed:
            await client.script_flush()
        answers = await asyncio.gather(*(group(["list"], [str(i)]) for i in range(3)))
        return answers, await client.llen("list")

    answers, length = asyncio.run(calls(redis_url, work))
    assert sorted(answers) == [2, 3, 4] and length == 4
