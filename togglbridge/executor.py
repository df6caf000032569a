"""Applies each identity's planned actions to Toggl: in order, once, and within Toggl's limits.

Order: one worker at a time drains an identity's outbox (a Redis lock per identity), oldest ``occurred_at``
first, and the head action leaves the outbox only once it took effect. So any number of worker processes on any
number of machines apply one identity's actions in order, while different identities proceed in parallel.

Once: the ledger marks an action done in the same transaction that removes it from the outbox; creates record
their intent first and reconcile on redelivery (see ``effects``).

Failures:
- 5xx, 429 and timeouts: retried with exponential backoff and full jitter, never sooner than ``Retry-After``;
- 402 (the hourly quota is spent): the identity is parked until ``X-Toggl-Quota-Resets-In`` has passed;
- other 4xx: the action goes to the dead letters with Toggl's message, and the identity's next action proceeds.
Waits are recorded in a sorted set (``store.parked``) that concurrent kicks respect and a beat tick drains; the caller
may also schedule a short Celery countdown for short waits. Nothing waits in a long Celery countdown.

Metrics (``store.metrics``): each journal record an action gets is counted by its stage, and each Toggl request by
route and status, in the same pipeline that writes the record. A drain gathers them in a ``Tally``; requests whose
attempt writes nothing (a coalesced batch tried again one by one, a pacing wait) go with the drain's next write.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import redis
from redis.exceptions import LockError

from togglbridge.actions import Action
from togglbridge.effects import UNDOABLE, Effects, Outcome, batch_kind
from togglbridge.store import echoes
from togglbridge.store.attempts import Attempts
from togglbridge.store.dead_letters import DeadLetters
from togglbridge.store.drain_lock import DrainLock, DrainLocks, TakenLock
from togglbridge.store.identity_state import IdentityState, LastChange
from togglbridge.store.journal import Journal, record
from togglbridge.store.ledger import Ledger
from togglbridge.store.metrics import ACTIONS, DELIVERY_TO_TOGGL_SECONDS, Tally
from togglbridge.store.next_action import Next, NextAction, parse_next
from togglbridge.store.outbox import Lane, Outbox
from togglbridge.store.parked import Parked
from togglbridge.toggl.access import MissingToken
from togglbridge.toggl.client import TogglClient
from togglbridge.toggl.errors import BadRequestError, NotFoundError, QuotaExhaustedError, TogglError
from togglbridge.toggl.limiter import Paced
from togglbridge.toggl.transport import RequestRecord

log = logging.getLogger(__name__)

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 600.0
QUOTA_FALLBACK_SECONDS = 3600.0  # a 402 without X-Toggl-Quota-Resets-In: the quota is hourly
COALESCE_MAX = 20  # waiting timer actions applied together, at most


class TogglAccess(Protocol):
    """How the executor reaches one identity's Toggl account."""

    def client(self, identity: str, on_request: Callable[[RequestRecord], None]) -> TogglClient: ...

    def workspace_id(self, identity: str) -> int | None: ...

    def knows(self, identity: str) -> bool: ...

    @property
    def simulated(self) -> bool: ...


@dataclass
class DrainReport:
    """How a drain ended. ``status``: empty (all applied), busy (another worker drains), parked, lost (the
    lock expired under us), or more (it stopped at ``max_actions`` with work left); ``resume_at`` is when parked
    work may go on."""

    identity: str
    status: Literal["empty", "busy", "parked", "lost", "more"]
    applied: int = 0
    dead: int = 0
    resume_at: float | None = None
    actions: list[str] = field(default_factory=list)
    follow_ups: list[str] = field(default_factory=list)  # events someone waits on in a chat that moved on
    # The head of the outbox as the last transaction left it (read in that transaction): the drain's next look.
    ahead: Next | None = field(default=None, repr=False, compare=False)

    def follow(self, action: Action) -> None:
        """Note that ``action``'s event has news for the person waiting on it in a chat (if anyone is)."""
        if action.follow_up and action.event_id not in self.follow_ups:
            self.follow_ups.append(action.event_id)


@dataclass
class _Sent:
    """The Toggl requests of one attempt, and when (unix time) the first of them went out."""

    records: list[RequestRecord] = field(default_factory=list)
    first_at: float | None = None

    def __call__(self, request: RequestRecord) -> None:
        if self.first_at is None:
            self.first_at = time.time() - request.milliseconds / 1000
        self.records.append(request)


class Executor:
    def __init__(
        self,
        client: redis.Redis,
        access: TogglAccess,
        journal: Journal,
        *,
        lock_timeout: float = 60.0,
        quota_reserve: int = 5,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._access = access
        self._journal = journal
        self._outbox = Outbox(client)
        self._next = NextAction(client)
        self._ledger = Ledger(client)
        self._parked = Parked(client)
        self._attempts = Attempts(client)
        self.dead_letters = DeadLetters(client)
        self._lock_timeout = lock_timeout
        self._locks = DrainLocks(client, timeout=lock_timeout)
        self._quota_reserve = quota_reserve
        self._rng = rng or random.Random()
        self._clock = clock

    # -- parking ----------------------------------------------------------------------------------------

    def park(self, identity: str, seconds: float) -> float:
        """Hold the identity's work for ``seconds`` (the later of two parks wins)."""
        until = self._clock() + max(0.0, seconds)
        self._parked.park(identity, until)
        return until

    def due_identities(self) -> list[str]:
        """Parked identities whose wait is over, removed from the parked set, plus those with idle work."""
        due = self._parked.take_due(self._clock())
        parked = self._parked.identities()
        waiting = [name for name, depth in self._outbox.depths().items() if depth and name not in parked]
        return sorted(set(due) | set(waiting))

    # -- draining ---------------------------------------------------------------------------------------

    @property
    def locks(self) -> DrainLocks:
        """The identities' drain locks: a planning transaction may ask for one on its way (``drain``'s
        ``taken``)."""
        return self._locks

    def drain(
        self, identity: str, *, max_actions: int | None = None, taken: TakenLock | None = None
    ) -> DrainReport:
        """Apply the identity's waiting actions in order, until none is left or the identity must wait.
        ``taken``: the identity's drain lock, already asked for (``DrainLock.queue_acquire``)."""
        report = DrainReport(identity, "empty")
        tally = Tally()
        try:
            return self._drain(identity, report, tally, max_actions, taken)
        finally:
            report.ahead = None
            # Requests no journal record went with (a pacing wait ended the drain): a write of their own.
            if tally:
                self._write_counts(tally)

    def _drain(
        self,
        identity: str,
        report: DrainReport,
        tally: Tally,
        max_actions: int | None,
        asked: TakenLock | None,
    ) -> DrainReport:
        drain_lock = asked.lock if asked is not None else self._locks.of(identity)
        while True:
            if asked is not None:
                taken, asked = asked.acquired, None
            else:
                # Also ends a park whose time is over, and records the head's intent for the apply to come.
                taken = drain_lock.acquire(self._clock(), mark_intent=True)
            if taken.state == "parked":
                report.status, report.resume_at = "parked", taken.parked_until
                return report
            if taken.state == "busy":
                report.status = "busy"
                return report
            report.ahead = taken.head  # read with the lock, by the same script
            try:
                finished = self._drain_locked(identity, drain_lock, report, tally, max_actions)
            finally:
                released = drain_lock.release(self._clock())
                if not released.held:
                    report.status = "lost"
            if not finished or report.status != "empty":
                return report
            # Work added while we held the lock was kicked into a busy lock: the release looked for it.
            if not released.work_waiting:
                return report

    def _drain_locked(
        self, identity: str, drain_lock: DrainLock, report: DrainReport, tally: Tally, max_actions: int | None
    ) -> bool:
        """Apply actions while holding the lock; False when the drain must stop (parked, lock lost, budget)."""
        coalesce = True
        locked_at = time.monotonic()
        while max_actions is None or report.applied + report.dead < max_actions:
            head, report.ahead = report.ahead or self._next(identity, self._clock(), mark_intent=True), None
            if head.key is None or head.lane is None:
                return True
            key, action, order, lane = head.key, head.action, head.order, head.lane
            if action is None:
                self._skip(identity, key, None, "its data expired", tally)
                continue
            if head.done:
                self._skip(identity, key, action, "already applied", tally)
                continue
            if not self._access.knows(identity):
                self._dead(
                    identity, key, action, f"identity {identity!r} is not in the rule file", None, tally
                )
                report.dead += 1
                report.follow(action)
                continue
            if not self._within_quota(identity, head, lane, action, report, tally):
                return report.status == "empty"
            batch = [(key, action, order)]
            kind = batch_kind(action)
            if coalesce and kind is not None:
                batch += self._waiting_alike(identity, lane, key, kind)
            token = drain_lock.lock.local.token or b""
            applied = self._apply(identity, batch, report, head, tally, token, max_actions)
            if (
                applied is None
            ):  # a batch failed as a whole, or knowledge was healed: try one action at a time
                coalesce = False
                continue
            if not applied:
                return False
            if _lock_given_back(report):
                drain_lock.given_back()  # nothing was left: the action's own transaction gave the lock back
                return True
            coalesce = True
            if time.monotonic() - locked_at > self._lock_timeout / 3:
                try:
                    drain_lock.lock.reacquire()  # reset the lock's expiry: we are alive and still draining
                except LockError:
                    report.status = "lost"
                    return False
                locked_at = time.monotonic()
        report.status = "more"
        return False

    def _waiting_alike(
        self, identity: str, lane: Lane, head_key: str, kind: str
    ) -> list[tuple[str, Action, float]]:
        """The actions waiting right behind the head that apply together with it (``batch_kind``: timer actions,
        or coalescing logs of its group), up to ``COALESCE_MAX``."""
        following: list[tuple[str, Action, float]] = []
        for key, action, order in self._outbox.peek(identity, lane, COALESCE_MAX)[1:]:
            if key == head_key or action is None or batch_kind(action) != kind:
                break
            if self._ledger.done(key) is None:  # a redelivered duplicate is dropped when it reaches the head
                following.append((key, action, order))
        return following

    def _within_quota(
        self, identity: str, head: Next, lane: Lane, action: Action, report: DrainReport, tally: Tally
    ) -> bool:
        """Wait for the quota's reset rather than run into 402: all work when none is left, bulk work when
        only the reserve is left (so a chat command or a meeting still gets through)."""
        quota = head.quota
        if quota is None:
            return True
        remaining, reset_at = quota
        if remaining <= 0:
            self._forget_recorded_intent(head, [])
            report.status, report.resume_at = "parked", self.park(identity, reset_at - self._clock())
            report.follow(action)
            self._note(action, tally, "parked", action=action.key, reason="Toggl's hourly quota is spent",
                       resume_in=round(reset_at - self._clock(), 1))  # fmt: skip
            return False
        if lane == "bulk" and remaining <= self._quota_reserve:
            self._forget_recorded_intent(head, [])
            IdentityState(self._redis, identity).hold_bulk(reset_at)
            self._note(action, tally, "held", action=action.key,
                       reason=f"bulk work waits: {remaining} requests left this hour",
                       resume_in=round(reset_at - self._clock(), 1))  # fmt: skip
            return False
        return True

    def _apply(
        self,
        identity: str,
        batch: list[tuple[str, Action, float]],
        report: DrainReport,
        head: Next,
        tally: Tally,
        lock_token: bytes,
        max_actions: int | None = None,
    ) -> bool | None:
        """Apply one action, or several coalesced timer actions. True: done, go on; False: the identity must
        wait; None: try again one action at a time (a coalesced batch was refused, or an action refused for
        knowledge that may be stale is retried once after forgetting it)."""
        key, action, _ = batch[0]
        sent = _Sent()
        requests = sent.records
        client = self._access.client(identity, sent)
        state = IdentityState(self._redis, identity)
        effects = Effects(
            client,
            state,
            self._ledger,
            workspace_id=self._access.workspace_id(identity),
            honour_action_workspaces=not self._access.simulated,
            known_workspace=head.workspace_id,
            known_intents={key: head.intent},
            recorded_intents=frozenset([key]) if head.intent_marked else frozenset(),
        )
        succeeded = False
        try:
            if len(batch) == 1:
                outcomes = [effects.apply(action, batch[0][2])]
            else:
                outcomes = effects.apply_batch([(a, o) for _, a, o in batch])
            succeeded = True
        except QuotaExhaustedError as exc:
            wait = exc.resets_in if exc.resets_in is not None else QUOTA_FALLBACK_SECONDS
            report.status, report.resume_at = "parked", self.park(identity, wait)
            report.follow(action)
            tally.requests(requests)
            self._note(action, tally, "parked", action=key, reason="Toggl's hourly quota is spent",
                       resume_in=round(wait, 1), sent=requests)  # fmt: skip
            return False
        except Paced as exc:
            # Not a failure: the shared window for this credential is full. Free the worker meanwhile.
            self._forget_recorded_intent(head, requests)
            report.status, report.resume_at = "parked", self.park(identity, exc.retry_after)
            tally.requests(requests)  # any sent before the window filled: written with the drain's next write
            self._note_writes(requests)
            return False
        except TogglError as exc:
            tally.requests(requests)
            if exc.retryable:
                self._forget_recorded_intent(head, requests)
                wait = self._backoff(key, exc.retry_after)
                report.status, report.resume_at = "parked", self.park(identity, wait)
                self._note(action, tally, "retry", action=key, error=str(exc), retry_in=round(wait, 2),
                           sent=requests)  # fmt: skip
                return False
            if len(batch) > 1:
                self._forget_recorded_intent(head, requests)  # read again for the one-at-a-time try
                return None
            # Once per action, across drains (a pacing wait may end this drain before the second try).
            if _may_be_stale_knowledge(exc) and self._attempts.heal_once(key):
                effects.forget_learned(action)
                self._note(action, tally, "healed", action=key, status=exc.status, message=exc.message,
                           reason="Toggl refused an id the bridge remembered: forgot the workspace, project ids "
                                  "and running entry it had learned, and tried again",
                           sent=requests)  # fmt: skip
                log.info("%s for %s: Toggl said %s %s; relearning and trying again", key, identity,
                         exc.status, exc.message)  # fmt: skip
                return None
            self._delivered(tally, action, sent)
            self._dead(identity, key, action, exc.message, exc.status, tally, requests)
            report.dead += 1
            report.follow(action)
            return True
        except (redis.RedisError, MissingToken):
            tally.requests(requests)  # sent all the same; written if the drain gets to write anything
            raise  # Redis away, or a token variable unset: the work waits in the outbox for it to come back
        except Exception as exc:
            # A bug, or data no rule check caught: this action can never succeed as it is. Park it among the
            # dead letters (with what went wrong) so that the identity's next actions are not blocked forever.
            tally.requests(requests)
            if len(batch) > 1:
                self._forget_recorded_intent(head, requests)
                return None
            log.exception("applying %s for %s failed", key, identity)
            self._delivered(tally, action, sent)
            self._dead(
                identity, key, action, f"{type(exc).__name__}: {str(exc)[:300]}", None, tally, requests
            )
            report.dead += 1
            report.follow(action)
            return True
        finally:
            quota = (client.quota.remaining, client.quota.resets_in)
            if not succeeded:
                state.set_quota(*quota)
            client.close()
        pipe = self._redis.pipeline(transaction=True)
        state.set_quota(*quota, pipe=pipe)  # with the action's own writes: no round trip of its own
        tally.requests(requests)
        for (item_key, item, _), outcome in zip(batch, outcomes, strict=True):
            tally.count(ACTIONS, item.type, "applied")
            self._delivered(tally, item, sent)
            self._attempts.forget(item_key, pipe)
            self._ledger.mark_done(item_key, outcome.as_dict(), pipe)
            self._outbox.remove(identity, item_key, pipe)
            self.dead_letters.discard(item_key, pipe)  # refused before, done now: its letter goes
            applied = record("applied", action=item_key, type=item.type, rule=item.rule, **outcome.as_dict(),
                             requests=_requests(requests) if item_key == key else [])  # fmt: skip
            self._journal.append(item.event_id, applied, pipe=pipe)
            report.applied += 1
            report.actions.append(item_key)
            report.follow(item)
        self._remember_last_change(state, batch, outcomes, pipe)
        echoes.note_writes(pipe, echoes.written_entries(requests, _created(outcomes)))
        # The next head's intent is recorded with it only when this drain goes on to apply it.
        going_on = max_actions is None or report.applied + report.dead < max_actions
        ahead = NextAction.queue(pipe, identity, self._clock(), lock_token, mark_intent=going_on)
        report.ahead = parse_next(_execute(pipe, tally)[ahead], self._clock())
        for (_, item, _), outcome in zip(batch, outcomes, strict=True):
            log.info("%s for %s (event %s): %s%s", item.type, identity, item.event_id, outcome.result,
                     f" entry {outcome.entry_id}" if outcome.entry_id is not None else "")  # fmt: skip
        return True

    def _forget_recorded_intent(self, head: Next, requests: list[RequestRecord]) -> None:
        """Take back the intent the head's read recorded (``Next.intent_marked``) when the drain stops before it
        could have sent a create: no ``POST`` in this attempt's requests (a request is recorded even when it
        timed out). One left behind would cost a lookup in Toggl before the create, next time."""
        if head.key is None or not head.intent_marked or head.intent:
            return  # nothing recorded by the read, or an earlier attempt's create may have reached Toggl
        if not any(request.method == "POST" for request in requests):
            self._ledger.clear_intent(head.key)

    def _remember_last_change(
        self, state: IdentityState, batch: list[tuple[str, Action, float]], outcomes: list[Outcome], pipe: Any
    ) -> None:
        """The last change made in the account, for a chat's ``undo``. A change undo cannot take back (an update,
        a stop of a timer started elsewhere) clears it: undo must never reach past it to an older one."""
        for (key, item, _), outcome in reversed(list(zip(batch, outcomes, strict=True))):
            if item.type == "undo" or outcome.result in UNCHANGED:
                continue
            # a timer started or stopped elsewhere was involved: which entry did what is not the bridge's to undo
            if outcome.result in UNDOABLE and outcome.entry_id is not None and not outcome.foreign:
                tags = tuple(getattr(item, "tags", None) or ())
                change = LastChange(key, item.type, outcome.result, outcome.entry_id, tags, time.time())
                state.set_last_change(change, pipe)
            else:
                state.set_last_change(None, pipe)
            return

    def _backoff(self, key: str, retry_after: float | None) -> float:
        """Exponential backoff with full jitter, never shorter than what the server asked for."""
        attempt = self._attempts.count_retry(key)
        ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
        return max(retry_after or 0.0, self._rng.uniform(ceiling / 2, ceiling))

    def _skip(self, identity: str, key: str, action: Action | None, reason: str, tally: Tally) -> None:
        """Drop the head without applying it: already applied (a redelivered duplicate), or its data expired."""
        pipe = self._redis.pipeline(transaction=True)
        self._outbox.remove(identity, key, pipe)
        if action is not None:
            self._journal.append(action.event_id, record("skipped", action=key, reason=reason), pipe=pipe)
        tally.count(ACTIONS, action.type if action is not None else "unknown", "skipped")
        _execute(pipe, tally)

    def _note(
        self,
        item: Action,
        tally: Tally,
        stage: str,
        /,
        sent: list[RequestRecord] | None = None,
        **fields: Any,
    ) -> None:
        """Journal what became of an action that stays waiting (parked, held, retry, healed), and count it.
        ``sent``: the requests of its attempt, journalled, and the entries they wrote noted (their echoes come)."""
        pipe = self._redis.pipeline(transaction=True)
        if sent is not None:
            fields["requests"] = _requests(sent)
            echoes.note_writes(pipe, echoes.written_entries(sent))
        self._journal.append(item.event_id, record(stage, **fields), pipe=pipe)
        tally.count(ACTIONS, item.type, stage)
        _execute(pipe, tally)

    def _note_writes(self, sent: list[RequestRecord]) -> None:
        """Note the entries an attempt wrote before it stopped without a transaction of its own to note them in."""
        written = echoes.written_entries(sent)
        if written:
            pipe = self._redis.pipeline(transaction=True)
            echoes.note_writes(pipe, written)
            pipe.execute()

    def _write_counts(self, tally: Tally) -> None:
        try:
            pipe = self._redis.pipeline(transaction=False)
            tally.write(pipe)
            pipe.execute()
        except redis.RedisError as exc:  # only numbers are lost; whatever the drain raised is what matters
            log.warning("could not write the metrics of a drain: %s", type(exc).__name__)

    @staticmethod
    def _delivered(tally: Tally, action: Action, sent: _Sent) -> None:
        """Observe how long after its delivery was accepted the action's finishing attempt reached Toggl (an
        action planned before deliveries carried the time, or one that sent nothing, is not observed)."""
        if action.received_at is not None and sent.first_at is not None:
            waited = max(0.0, sent.first_at - action.received_at.timestamp())  # another machine's clock
            tally.observe(DELIVERY_TO_TOGGL_SECONDS, waited, action.priority)

    def _dead(
        self,
        identity: str,
        key: str,
        action: Action,
        message: str,
        status: int | None,
        tally: Tally,
        requests: list[RequestRecord] | None = None,
    ) -> None:
        pipe = self._redis.pipeline(transaction=True)
        self.dead_letters.add(identity, action, status, message, self._clock(), pipe)
        self._outbox.remove(identity, key, pipe)
        self._attempts.forget(key, pipe)
        self._journal.append(
            action.event_id,
            record("dead", action=key, status=status, message=message, requests=_requests(requests or [])),
            pipe=pipe,
        )
        echoes.note_writes(pipe, echoes.written_entries(requests or []))  # what it wrote before it failed
        tally.count(ACTIONS, action.type, "dead")
        _execute(pipe, tally)
        log.warning("action %s for %s is a dead letter: %s %s", key, identity, status, message)


# Toggl's words when it refuses an id: "Project with ID 1 isn't present in workspace 2", "Time entry not found".
_STALE_WORDS = re.compile(r"project|workspace|entry|task|client|not found|isn't present|does not exist", re.I)


UNCHANGED = frozenset({"skipped", "reported", "learned"})
"""Results that changed nothing in the account."""


def _execute(pipe: Any, tally: Tally) -> list[Any]:
    """Send ``pipe`` with the tally's counts: they are spent either way, written with its writes or lost with
    them (never counted for a transaction that did not happen). Returns the replies."""
    tally.write(pipe)
    try:
        return list(pipe.execute())
    finally:
        tally.clear()


def _created(outcomes: list[Outcome]) -> list[int | None]:
    return [o.entry_id for o in outcomes if o.result in ("created", "adopted", "logged")]


def _may_be_stale_knowledge(error: TogglError) -> bool:
    """Whether a refusal may be about an id the bridge remembered (deleted or archived in Toggl since)."""
    if isinstance(error, NotFoundError):
        return True
    return isinstance(error, BadRequestError) and bool(_STALE_WORDS.search(error.message))


def _lock_given_back(report: DrainReport) -> bool:
    """Whether the last transaction found nothing left and gave the drain lock back (``NextAction.queue``)."""
    return report.ahead is not None and report.ahead.released


def _requests(records: list[RequestRecord]) -> list[dict[str, Any]]:
    return [{"method": r.method, "path": r.path, "status": r.status, "ms": r.milliseconds} for r in records]
