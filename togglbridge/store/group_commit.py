"""Group commit: the concurrent calls of one Lua script share one Redis round-trip, each call still atomic.

Under load the receiver answers many deliveries at once; sending each one's script alone costs a round-trip, a
connection checkout and an event-loop wake-up per request. Here the first call is sent at once, and the calls
that arrive while it is in flight go together in the next pipeline: no added latency when idle, one round-trip
per batch when busy. Every caller still awaits its own script's answer before answering its sender.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from redis.exceptions import NoScriptError

MAX_BATCH = 256


class ScriptGroup:
    def __init__(self, client: Any, script: str) -> None:
        self._redis = client
        self._script = script
        self._sha = hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()
        self._pending: list[tuple[list[Any], list[Any], asyncio.Future[Any]]] = []
        self._flushing = False

    async def __call__(self, keys: list[Any], args: list[Any]) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((keys, args, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    results = await self._run(batch)
                except Exception as exc:  # the connection failed: every caller of this batch hears it
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, _, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._flushing = False

    async def _run(self, batch: list[tuple[list[Any], list[Any], asyncio.Future[Any]]]) -> list[Any]:
        for attempt in range(2):
            pipe = self._redis.pipeline(transaction=False)
            for keys, args, _ in batch:
                pipe.evalsha(self._sha, len(keys), *keys, *args)
            results: list[Any] = await pipe.execute(raise_on_error=False)
            if attempt == 0 and any(isinstance(result, NoScriptError) for result in results):
                # The server does not know the script yet (a restart, a flush): load it and run the batch again.
                # A script that failed with NOSCRIPT did not run, so running it again applies it once.
                await self._redis.script_load(self._script)
                continue
            return results
        return results
