"""Group commit: the concurrent calls of one Lua script share one Redis round-trip, each call still atomic.

Under load the receiver answers many deliveries at once; sending each one's script alone costs a round-trip, a
connection checkout and an event-loop wake-up per request. Here the first call is sent at once, and the calls
that arrive while it is in flight go together in the next pipeline: no added latency when idle, one round-trip
per batch when busy. Every caller still awaits its own script's answer before answering its sender.

A call that finds nothing in flight sends its script itself, in its own task: at a few deliveries a second (what
most deployments see) every call is such a call, and a task and a future of its own per call would only add
event-loop work.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from redis.exceptions import NoScriptError

MAX_BATCH = 256

Call = tuple[list[Any], list[Any], "asyncio.Future[Any] | None"]
"""A call's keys, arguments, and the future its caller awaits (None: the caller sends it itself)."""


class ScriptGroup:
    def __init__(self, client: Any, script: str) -> None:
        self._redis = client
        self._script = script
        self._sha = hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest()
        self._pending: list[Call] = []
        self._flushing = False
        self._task: asyncio.Task[None] | None = None  # held: the loop keeps only a weak reference to a task

    async def __call__(self, keys: list[Any], args: list[Any]) -> Any:
        if self._flushing:
            future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            self._pending.append((keys, args, future))
            return await future
        self._flushing = True
        try:
            (result,) = await self._run([(keys, args, None)])
        finally:
            # Those that arrived meanwhile go together, in a task of their own (this caller answers now).
            if self._pending:
                self._task = asyncio.get_running_loop().create_task(self._flush())
            else:
                self._flushing = False
        if isinstance(result, Exception):
            raise result
        return result

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    results = await self._run(batch)
                except Exception as exc:  # the connection failed: every caller of this batch hears it
                    for _, _, future in batch:
                        if future is not None and not future.done():
                            future.set_exception(exc)
                    continue
                for (_, _, future), result in zip(batch, results, strict=True):
                    if future is None or future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self._flushing = False

    async def _run(self, batch: list[Call]) -> list[Any]:
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
