"""Sending webhook events and pings to subscribers, from background threads, as Toggl's webhooks service does.

Each subscription has its own queue and thread, so that deliveries reach one receiver in the order the changes
were made, and a slow or failing receiver delays only its own events. A delivery is tried up to
`webhook_max_attempts` times, waiting `webhook_retry_seconds`, then twice that, and so on, between tries; its body
(hence its `event_id` and signature) is the same on every try.

Requests never wait for a delivery: the simulator only queues under its lock. Sending happens outside the lock,
so a receiver may call the simulator back. Deliveries wait on real time (not the sim clock), since a frozen sim
clock would never let them go; tests wait for them with `Dispatcher.wait_idle`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import queue
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from togglbridge.toggl.sim.knobs import SimKnobs
from togglbridge.toggl.sim.models import Subscription
from togglbridge.toggl.sim.state import SimState
from togglbridge.toggl.sim.timefmt import format_precise

SIGNATURE_HEADER = "X-Webhook-Signature-256"
USER_AGENT = "togglbridge-sim-webhooks"
KEPT_DELIVERIES = 1000  # the admin view's history; older records are forgotten
FIRST_EVENT_ID = 1_000_001


def sign(secret: str, body: bytes) -> str:
    """Toggl's signature header value: `sha256=` + hex HMAC-SHA256 of the raw body under the secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(slots=True)
class Delivery:
    """One body to send to one subscription, and how sending it went (what `GET /_sim/state` lists)."""

    event_id: int
    subscription_id: int
    kind: str
    """'ping' or 'event'."""
    entity: str | None
    action: str | None
    url: str
    body: bytes
    signature: str
    redelivery: bool = False
    validation_code: str | None = None
    """For a ping to a subscription not yet validated: the code its answer must echo."""
    status: str = "pending"
    """pending, delivered, failed (every try failed) or dropped (the subscription went away first)."""
    attempts: int = 0
    last_status_code: int | None = None
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "subscription_id": self.subscription_id,
            "kind": self.kind,
            "entity": self.entity,
            "action": self.action,
            "url_callback": self.url,
            "redelivery": self.redelivery,
            "status": self.status,
            "attempts": self.attempts,
            "last_status_code": self.last_status_code,
            "last_error": self.last_error,
        }


@dataclass(slots=True)
class _Worker:
    queue: queue.Queue[Delivery | None] = field(default_factory=queue.Queue)
    cancelled: threading.Event = field(default_factory=threading.Event)


class Dispatcher:
    """Queues and sends the deliveries of one simulator.

    `lock` is the simulator's lock (taken to read and update subscriptions); `state`, `knobs` and `now` are
    callables because tests swap the simulator's knobs object and the state may be replaced.
    """

    def __init__(
        self,
        lock: threading.RLock,
        state: Callable[[], SimState],
        knobs: Callable[[], SimKnobs],
        now: Callable[[], float],
        changed: Callable[[], None],
    ) -> None:
        self._lock = lock
        self._state = state
        self._knobs = knobs
        self._now = now
        self._changed = changed
        self._workers: dict[int, _Worker] = {}
        self._event_ids = itertools.count(FIRST_EVENT_ID)
        self._history: deque[Delivery] = deque(maxlen=KEPT_DELIVERIES)
        self._idle = threading.Condition()
        self._outstanding = 0

    # -- queueing (called under the simulator's lock) ---------------------------------------------------------

    def publish(
        self,
        *,
        workspace_id: int,
        entity: str,
        action: str,
        render: Callable[[], dict[str, Any]],
        creator_id: int,
        method: str,
        path: str,
    ) -> None:
        """Queue an event for every enabled, validated subscription of the workspace whose filters match.

        `render` gives the payload; it is only called when someone listens, so a simulator without
        subscriptions pays nothing for this.
        """
        targets = [
            s
            for s in self._state().subscriptions_of(workspace_id)
            if s.enabled and s.validated_at is not None and s.wants(entity, action)
        ]
        if not targets:
            return
        payload = render()
        created = format_precise(self._now())
        metadata = {
            "action": action,
            "event_user_id": str(creator_id),
            "model": entity,
            "path": path,
            "request_type": method,
            "workspace_id": str(workspace_id),
            f"{entity}_id": str(payload.get("id")),
        }
        redeliver = self._knobs().webhook_redeliver
        for sub in targets:
            event_id = next(self._event_ids)
            body = _encode(
                {
                    "event_id": event_id,
                    "created_at": created,
                    "creator_id": creator_id,
                    "metadata": metadata,
                    "payload": payload,
                    "subscription_id": sub.id,
                    "timestamp": created,
                    "url_callback": sub.url_callback,
                }
            )
            for again in (False, True) if redeliver else (False,):
                self._enqueue(
                    Delivery(
                        event_id=event_id,
                        subscription_id=sub.id,
                        kind="event",
                        entity=entity,
                        action=action,
                        url=sub.url_callback,
                        body=body,
                        signature=sign(sub.secret, body),
                        redelivery=again,
                    )
                )

    def ping(self, sub: Subscription, caller_id: int) -> int:
        """Queue the PING event (with the validation code while the subscription is not validated); its event_id.

        Sent whether or not the subscription is enabled, as Toggl does: it is how one tests the endpoint.
        """
        event_id = next(self._event_ids)
        created = format_precise(self._now())
        message: dict[str, Any] = {
            "event_id": event_id,
            "created_at": created,
            "creator_id": caller_id,
            "metadata": {"request_type": "POST", "event_user_id": caller_id},
            "payload": "ping",
            "subscription_id": sub.id,
            "timestamp": created,
            "url_callback": sub.url_callback,
        }
        code = sub.validation_code if sub.validated_at is None else None
        if code is not None:
            message["validation_code"] = code
        body = _encode(message)
        self._enqueue(
            Delivery(
                event_id=event_id,
                subscription_id=sub.id,
                kind="ping",
                entity=None,
                action=None,
                url=sub.url_callback,
                body=body,
                signature=sign(sub.secret, body),
                validation_code=code,
            )
        )
        return event_id

    def pending(self, subscription_id: int) -> bool:
        """Whether some delivery to the subscription is still queued or being tried."""
        return any(d.subscription_id == subscription_id and d.status == "pending" for d in self._history)

    def forget(self, subscription_id: int) -> None:
        """Stop sending to a deleted subscription: what is queued or being retried is dropped."""
        worker = self._workers.pop(subscription_id, None)
        if worker is not None:
            worker.cancelled.set()
            worker.queue.put(None)

    def close(self) -> None:
        """Drop every queued delivery and stop the threads (simulator reset)."""
        for subscription_id in list(self._workers):
            self.forget(subscription_id)
        self._history.clear()

    # -- inspection -------------------------------------------------------------------------------------------

    def deliveries(self) -> list[dict[str, Any]]:
        """What was queued and how it went, oldest first, without bodies or signatures."""
        return [d.as_dict() for d in list(self._history)]

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or being tried; False if that took longer than `timeout` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    # -- sending (worker threads) -----------------------------------------------------------------------------

    def _enqueue(self, delivery: Delivery) -> None:
        worker = self._workers.get(delivery.subscription_id)
        if worker is None:
            worker = _Worker()
            self._workers[delivery.subscription_id] = worker
            threading.Thread(
                target=self._run,
                args=(worker,),
                name=f"togglbridge-sim-webhooks-{delivery.subscription_id}",
                daemon=True,
            ).start()
        self._history.append(delivery)
        with self._idle:
            self._outstanding += 1
        worker.queue.put(delivery)

    def _run(self, worker: _Worker) -> None:
        with httpx.Client(headers={"User-Agent": USER_AGENT}) as client:
            while True:
                delivery = worker.queue.get()
                if delivery is None:
                    break
                try:
                    self._deliver(client, worker, delivery)
                finally:
                    with self._idle:
                        self._outstanding -= 1
                        self._idle.notify_all()
        # Whatever is still queued after the stop marker was dropped with the subscription.
        while not worker.queue.empty():
            left = worker.queue.get_nowait()
            if left is not None:
                left.status = "dropped"
                with self._idle:
                    self._outstanding -= 1
                    self._idle.notify_all()

    def _deliver(self, client: httpx.Client, worker: _Worker, delivery: Delivery) -> None:
        knobs = self._knobs()
        if knobs.webhook_delay_seconds > 0 and worker.cancelled.wait(knobs.webhook_delay_seconds):
            delivery.status = "dropped"
            return
        # A ping is a one-off test of the endpoint; events are retried.
        tries = 1 if delivery.kind == "ping" else knobs.webhook_max_attempts
        wait = knobs.webhook_retry_seconds
        for attempt in range(tries):
            if worker.cancelled.is_set():
                delivery.status = "dropped"
                return
            if attempt > 0:
                if worker.cancelled.wait(wait):
                    delivery.status = "dropped"
                    return
                wait *= 2
            delivery.attempts += 1
            try:
                response = client.post(
                    delivery.url,
                    content=delivery.body,
                    headers={"Content-Type": "application/json", SIGNATURE_HEADER: delivery.signature},
                    timeout=knobs.webhook_timeout_seconds,
                )
            except httpx.HTTPError as exc:
                delivery.last_error = f"{type(exc).__name__}: {exc}"
                continue
            delivery.last_status_code = response.status_code
            if 200 <= response.status_code < 300:
                delivery.last_error = None
                delivery.status = "delivered"
                if delivery.validation_code is not None:
                    self._validate(delivery, response)
                return
            delivery.last_error = f"HTTP {response.status_code}"
        delivery.status = "failed"

    def _validate(self, delivery: Delivery, response: httpx.Response) -> None:
        """Toggl's synchronous validation: the ping's answer echoes `{"validation_code": <the code>}`."""
        try:
            answer = response.json()
        except ValueError:
            return
        if not isinstance(answer, dict) or answer.get("validation_code") != delivery.validation_code:
            return
        with self._lock:
            sub = self._state().subscriptions.get(delivery.subscription_id)
            # The code may have changed since (a new URL asks for a new validation).
            if (
                sub is not None
                and sub.validated_at is None
                and sub.validation_code == delivery.validation_code
            ):
                sub.validated_at = self._now()
                self._changed()


def _encode(message: dict[str, Any]) -> bytes:
    """The raw body as Toggl sends it: compact JSON, which the signature covers byte for byte."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
