"""Every Redis key togglbridge uses, in one place, under one prefix (so a shared Redis stays tidy)."""

from __future__ import annotations

PREFIX = "togglbridge"

JOURNAL_INDEX = f"{PREFIX}:journal"  # list of event ids, newest first, capped
DEAD_LETTERS = f"{PREFIX}:dead"  # list of JSON records: an action Toggl refused, with its message
PARKED = f"{PREFIX}:parked"  # sorted set: identity -> unix time its work may resume (quota reset, backoff)
IDENTITIES = f"{PREFIX}:identities"  # set of identities that have ever had work
UNPLANNED_MESSAGES = f"{PREFIX}:unplanned:messages"  # hash: accepted Celery message id -> the message
UNPLANNED_AT = f"{PREFIX}:unplanned"  # sorted set: accepted message id -> when it was (last) queued
# list of JSON records: every request to a source endpoint, newest first, capped
DELIVERIES = f"{PREFIX}:deliveries"
LAST_TICK = f"{PREFIX}:last_tick"  # ISO 8601 time the beat's tick last ran
SIMULATOR_URL = f"{PREFIX}:simulator_url"  # the simulator's URL while `togglbridge up` runs one
POLLS = f"{PREFIX}:polls"  # sorted set: calendar feed name -> when it is next polled
TRIGGERS = f"{PREFIX}:triggers"  # sorted set: trigger id -> when its event is due (events in :payloads)


def feed(name: str) -> str:
    """Hash: what one calendar feed remembers between polls (validators, known occurrences, health)."""
    return f"{PREFIX}:feed:{name}"


def seen(source: str, delivery_id: str) -> str:
    """Marks a delivery as accepted, so a redelivery is answered 200 and enqueues nothing."""
    return f"{PREFIX}:seen:{source}:{delivery_id}"


def journal(event_id: str) -> str:
    return f"{PREFIX}:journal:e:{event_id}"


def journal_summary(event_id: str) -> str:
    """Hash: what the journal's later records say of an event in brief (identity, counts, results), kept as
    they are written so that listing and filtering need not read every record."""
    return f"{PREFIX}:journal:s:{event_id}"


def outbox(identity: str, lane: str = "main") -> str:
    """Sorted set of action keys by occurred_at: the identity's planned, not yet applied actions. Bulk work
    (a backfill) waits in its own lane, behind everything else and behind the quota reserve."""
    return f"{PREFIX}:outbox:{identity}" if lane == "main" else f"{PREFIX}:outbox:{identity}:{lane}"


def action(key: str) -> str:
    """The action's JSON while it waits (and a while after, for the journal and dead letters)."""
    return f"{PREFIX}:action:{key}"


def done(key: str) -> str:
    """The idempotency ledger: action key -> what applying it produced (e.g. the Toggl entry id)."""
    return f"{PREFIX}:done:{key}"


def intent(key: str) -> str:
    """Written before a create (or a stop) is sent to Toggl, so a retry after a crash or a failed answer finds
    what the first attempt did instead of doing it twice (or leaving it half done)."""
    return f"{PREFIX}:intent:{key}"


def state(identity: str) -> str:
    """Hash: what the bridge knows of an identity in Toggl (workspace, running entry, quota, bulk hold)."""
    return f"{PREFIX}:state:{identity}"


def learned(identity: str) -> str:
    """Hash, a week from its last write: when Toggl recorded the newest change the bridge learned of each entry
    (entry id -> unix time), and of the entry it learned runs (``running``), so that an older change arriving
    late (a webhook Toggl sent again) never overwrites what a newer one said."""
    return f"{PREFIX}:learned:{identity}"


def subjects(identity: str) -> str:
    """Hash: subject (e.g. a calendar occurrence) -> id of the entry an event about it created."""
    return f"{PREFIX}:subjects:{identity}"


def projects(identity: str) -> str:
    """Hash: project name -> id, cached from Toggl."""
    return f"{PREFIX}:projects:{identity}"


def workspace_projects(workspace_id: int) -> str:
    """Hash: a workspace's public projects, name (casefolded) -> id, shared by every identity that works there.

    Only public ones: a private project is visible to, and usable by, its members alone, so it stays in the
    cache of the identity whose listing showed it (``keys.projects``)."""
    return f"{PREFIX}:workspace-projects:{workspace_id}"


def lock(identity: str) -> str:
    return f"{PREFIX}:lock:{identity}"


def timeline(identity: str) -> str:
    """Sorted set: the timer actions applied for an identity (see ``togglbridge.timeline``), by time."""
    return f"{PREFIX}:timeline:{identity}"


def session_pieces(identity: str, group: str) -> str:
    """Hash: log action key -> a piece of work of a coalescing ``log`` (``togglbridge.sessions``)."""
    return f"{PREFIX}:sessions:{identity}:{group}:pieces"


def session_entries(identity: str, group: str) -> str:
    """Hash: Toggl entry id -> the session entry the bridge made of a coalescing ``log``'s pieces."""
    return f"{PREFIX}:sessions:{identity}:{group}:entries"


def echo_writes(entry_id: int) -> str:
    """Sorted set, one hour: the unix times the bridge wrote a Toggl entry, each of the last hour, so a webhook
    echo of any of them is told from a person's change (``store/echoes.py``)."""
    return f"{PREFIX}:echoes:{entry_id}"


def entry_changes(entry_id: int) -> str:
    """Counter, one hour: changes made in Toggl to an entry that rules saw, to cut a looping rule pair off."""
    return f"{PREFIX}:entry-changes:{entry_id}"


def reply(event_id: str) -> str:
    """String, 15 minutes: where a chat command's follow-up goes (``store/replies.py``): a secret of the moment."""
    return f"{PREFIX}:reply:{event_id}"


def clock_anchor(start: str) -> str:
    """String: the real time at which a calendar clock set to start at ``start`` began (``togglbridge.clock``)."""
    return f"{PREFIX}:clock:{start}"


def subject_entries(identity: str) -> str:
    """Hash: subject -> the ``entries`` field holding the bridge's view of the entry an event about it created
    (so a moved or cancelled meeting can tell whether a person changed its entry since)."""
    return f"{PREFIX}:subject-entries:{identity}"


def entries(identity: str) -> str:
    """Hash: start action key -> what the bridge knows of the Toggl entry it created."""
    return f"{PREFIX}:entries:{identity}"


def commits(identity: str) -> str:
    """Sorted set: the times of the commits logged with a session estimate."""
    return f"{PREFIX}:commits:{identity}"


def metric(name: str) -> str:
    """Hash: one Prometheus counter or histogram, shared by every process (``store/metrics.py``): label values
    (a JSON list, a histogram's ending with its bucket's bound or ``sum``) -> count."""
    return f"{PREFIX}:metrics:{name}"
