"""Commands of the receiver's async Redis client packed by hiredis, as the synchronous client already packs them.

redis-py packs an asyncio connection's commands in Python, joining byte strings argument by argument; the
accept script's call carries the task message and a journal record per event, and packing it cost the receiver
about as much as parsing the delivery. The synchronous connections use ``HiredisRespSerializer`` (one C call per
command) whenever hiredis is installed; this gives the asyncio connections the same serializer, for the same
bytes on the wire and the same errors for a value Redis cannot take.
"""

from __future__ import annotations

from typing import Any

from redis.connection import HiredisRespSerializer
from redis.utils import HIREDIS_AVAILABLE

_SERIALIZER = HiredisRespSerializer()
_PACKED: dict[type, type] = {}


class _HiredisPacking:
    """Mixed in before an asyncio connection class: ``pack_commands`` calls this per command."""

    def pack_command(self, *args: Any) -> list[bytes]:
        packed: list[bytes] = _SERIALIZER.pack(*args)
        return packed


def pack_with_hiredis(client: Any) -> Any:
    """``client`` (a ``redis.asyncio.Redis``), its pool's connections packing with hiredis when it is installed.

    The pool keeps the connection class the URL chose (TCP, TLS, a unix socket); only packing changes, and only
    for connections made from now on.
    """
    if not HIREDIS_AVAILABLE:
        return client
    pool = client.connection_pool
    base = pool.connection_class
    if not issubclass(base, _HiredisPacking):
        if base not in _PACKED:
            _PACKED[base] = type(f"Hiredis{base.__name__}", (_HiredisPacking, base), {})
        pool.connection_class = _PACKED[base]
    return client
