"""What a drain does next, in one round-trip: the head action of the identity's lanes and what it needs to know.

The drain loop used to ask Redis five or six times per action (the head's key, its data, whether it is done, the
quota, whether bulk work is held, the workspace); this script answers all of it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from togglbridge.actions import Action
from togglbridge.store import keys, stored_action, text
from togglbridge.store.ledger import INTENT_TTL_SECONDS
from togglbridge.store.outbox import Lane

NEXT_HEAD_LUA = """
local function next_head(main_lane, bulk_lane, state_key, action_prefix, done_prefix, now, intent_prefix, mark_ttl)
  local state = redis.call('HMGET', state_key, 'quota_remaining', 'quota_reset_at', 'bulk_held_until', 'workspace_id')
  for i = 1, 4 do if not state[i] then state[i] = '' end end
  local lane = 'main'
  local first = redis.call('ZRANGE', main_lane, 0, 0, 'WITHSCORES')
  if #first == 0 and (tonumber(state[3]) or 0) <= tonumber(now) then
    lane = 'bulk'
    first = redis.call('ZRANGE', bulk_lane, 0, 0, 'WITHSCORES')
  end
  if #first == 0 then return {'', '', '', '', 0, state[1], state[2], state[3], state[4], 0, 0} end
  local data = redis.call('GET', action_prefix .. first[1]) or ''
  local done = redis.call('EXISTS', done_prefix .. first[1])
  local intent = redis.call('EXISTS', intent_prefix .. first[1])
  local marked = intent
  if intent == 0 and done == 0 and data ~= '' and (tonumber(mark_ttl) or 0) > 0 then
    redis.call('SET', intent_prefix .. first[1], '{}', 'EX', mark_ttl)
    marked = 1
  end
  return {lane, first[1], first[2], data, done, state[1], state[2], state[3], state[4], intent, marked}
end
"""
"""A Lua function that answers the head of an identity's work (the reply ``parse_next`` reads), for this module's
script and for the drain lock's, which answers it with the lock."""

_NEXT = (
    NEXT_HEAD_LUA
    + """
-- KEYS: 1 main lane, 2 bulk lane, 3 the identity's state hash
-- ARGV: 1 action key prefix, 2 done key prefix, 3 now (unix seconds), 4 intent key prefix, 5 intent ttl (0: none)
return next_head(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
"""
)

_NEXT_OR_RELEASE = (
    NEXT_HEAD_LUA
    + """
-- KEYS: 1 main lane, 2 bulk lane, 3 the identity's state hash, 4 the drain lock
-- ARGV: 1 action key prefix, 2 done key prefix, 3 now (unix seconds), 4 intent key prefix, 5 intent ttl,
-- 6 the lock's token
local head = next_head(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
local released = 0
if head[2] == '' and redis.call('GET', KEYS[4]) == ARGV[6] then
  redis.call('DEL', KEYS[4])
  released = 1
end
head[12] = released
return head
"""
)


@dataclass(frozen=True, slots=True)
class Next:
    """The head of the identity's work, if any, and the identity's state that the drain checks before it."""

    lane: Lane | None
    key: str | None
    order: float
    action: Action | None  # None when its data expired (the key is still set)
    done: bool
    quota: tuple[int, float] | None  # (requests left, unix time of the reset), as Toggl last said
    bulk_held_until: float
    workspace_id: int | None
    intent: bool  # whether a create of the head action was sent before and its outcome is unknown
    # Whether the head's intent is recorded now: asked with ``mark_intent``, the script records it for a drain
    # about to apply the head, so that a create needs no write of its own before its request.
    intent_marked: bool = False
    released: bool = (
        False  # nothing was left, and the drain lock (asked with ``queue``'s token) was given back
    )


def _number(raw: Any) -> float | None:
    value = text(raw)
    return float(value) if value else None


class NextAction:
    def __init__(self, client: Any) -> None:
        self._script = client.register_script(_NEXT)

    def __call__(self, identity: str, now: float, *, mark_intent: bool = False) -> Next:
        """The head. ``mark_intent``: record the head's intent (see ``Next.intent_marked``) for a drain about to
        apply it."""
        return parse_next(self._script(keys=head_keys(identity), args=head_args(now, mark_intent)), now)

    @staticmethod
    def queue(pipe: Any, identity: str, now: float, lock_token: bytes, *, mark_intent: bool = False) -> int:
        """Ask for the head in ``pipe`` (a transaction that removes the current one): the answer comes with its
        reply, one round trip less per action. An empty outbox also gives the drain lock back if ``lock_token``
        still holds it (``Next.released``): the drain's last round trip too. As EVAL with the text, which a
        transaction can always run. Returns the answer's index in the pipeline's replies."""
        position = len(pipe.command_stack)
        args = [*head_args(now, mark_intent), lock_token]
        pipe.eval(_NEXT_OR_RELEASE, 4, *head_keys(identity), keys.lock(identity), *args)
        return position


def head_keys(identity: str) -> list[str]:
    """The keys ``next_head`` reads: the identity's two lanes and its state."""
    return [keys.outbox(identity, "main"), keys.outbox(identity, "bulk"), keys.state(identity)]


def head_args(now: float, mark_intent: bool = False) -> list[Any]:
    """The arguments ``next_head`` takes after its keys: the key prefixes, now, and the ttl of an intent it records
    (0: it records none)."""
    return [keys.action(""), keys.done(""), now, keys.intent(""), INTENT_TTL_SECONDS if mark_intent else 0]


def parse_next(reply: Any, now: float) -> Next:
    """The script's answer as a ``Next``."""
    lane, key, order, data, done, remaining, reset_at, held, workspace, intent, marked, *released = (
        text(part) for part in reply
    )
    quota_reset = _number(reset_at)
    quota = (int(remaining), quota_reset) if remaining and quota_reset and quota_reset > now else None
    return Next(
        lane="bulk" if lane == "bulk" else "main" if lane else None,
        key=key or None,
        order=float(order) if order else 0.0,
        action=stored_action.load(key, data) if data else None,
        done=done == "1",
        quota=quota,
        bulk_held_until=_number(held) or 0.0,
        workspace_id=int(workspace) if workspace else None,
        intent=intent == "1",
        intent_marked=marked == "1",
        released=released == ["1"],
    )
