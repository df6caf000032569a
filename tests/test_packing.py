"""The receiver's async client packing commands with hiredis (``store/packing.py``): the same bytes as redis-py's
own packer, the same refusals, the URL's connection class kept, and real commands through a real server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import redis.asyncio
import redis.exceptions
from hypothesis import given, settings
from hypothesis import strategies as st
from redis.asyncio.connection import Connection, UnixDomainSocketConnection

from togglbridge.store.packing import pack_with_hiredis

ARGUMENTS = st.lists(
    st.one_of(
        st.text(),
        st.binary(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=False),
    ),
    max_size=12,
)


def packed_by_redis_py(*args: Any) -> bytes:
    return b"".join(Connection().pack_command(*args))


def packed_by_hiredis(*args: Any) -> bytes:
    client = pack_with_hiredis(redis.asyncio.Redis())
    connection = client.connection_pool.connection_class()
    return b"".join(connection.pack_command(*args))


@settings(max_examples=300)
@given(command=st.sampled_from(["EVALSHA", "SET", "CONFIG GET", b"CLIENT SETNAME"]), args=ARGUMENTS)
def test_the_bytes_on_the_wire_are_redis_pys_own(command: str | bytes, args: list[Any]) -> None:
    assert packed_by_hiredis(command, *args) == packed_by_redis_py(command, *args)


def test_a_batch_packs_as_one_pipeline_would() -> None:
    commands = [("EVALSHA", "a" * 40, 2, "k1", "k2", "x" * 7000, 1.5), ("LPUSH", "q", b"\x00\xff", 10**20)]
    plain = Connection().pack_commands(commands)
    client = pack_with_hiredis(redis.asyncio.Redis())
    hiredis = client.connection_pool.connection_class().pack_commands(commands)
    assert b"".join(hiredis) == b"".join(plain)


@pytest.mark.parametrize("value", [True, None, object()])
def test_a_value_redis_cannot_take_is_refused_as_before(value: object) -> None:
    with pytest.raises(redis.exceptions.DataError):
        packed_by_hiredis("SET", "key", value)
    with pytest.raises(redis.exceptions.DataError):
        packed_by_redis_py("SET", "key", value)


def test_the_urls_connection_class_is_kept_and_wrapped_once() -> None:
    client = pack_with_hiredis(redis.asyncio.Redis.from_url("unix:///tmp/none.sock"))
    kind = client.connection_pool.connection_class
    assert issubclass(kind, UnixDomainSocketConnection)
    assert pack_with_hiredis(client).connection_pool.connection_class is kind
    other = pack_with_hiredis(redis.asyncio.Redis.from_url("unix:///tmp/other.sock"))
    assert other.connection_pool.connection_class is kind  # one class per base, not one per client


def test_commands_go_through_a_real_server(redis_url: str) -> None:
    async def work() -> Any:
        client = pack_with_hiredis(redis.asyncio.Redis.from_url(redis_url))
        try:
            await client.set("packed", "é" * 10_000)
            pipe = client.pipeline(transaction=False)
            pipe.rpush("packed:list", b"\x00", 1.25, -(2**70))
            pipe.lrange("packed:list", 0, -1)
            pipe.execute_command(
                "CLIENT SETNAME", "packed"
            )  # a two-word command: split as redis-py splits it
            pipe.execute_command("CLIENT GETNAME")
            pushed, listed, _, name = await pipe.execute()
            return await client.get("packed"), pushed, listed, name
        finally:
            await client.aclose()

    text, pushed, listed, name = asyncio.run(work())
    assert text == ("é" * 10_000).encode()
    assert (pushed, listed, name) == (3, [b"\x00", b"1.25", str(-(2**70)).encode()], "packed")
