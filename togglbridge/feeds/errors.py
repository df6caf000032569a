"""The one error a feed fetch raises, and what the poller needs from it: whether to retry, and when.

Its message names the calendar by the label the caller gives (the rule file's name), never by its address: an
ICS address or a CalDAV URL often carries a token, and errors end up in logs, the journal and `doctor`'s output.
The library exception behind it is not chained (``raise ... from None``) for the same reason: httpx's and
caldav's messages and tracebacks may quote the address.
"""

from __future__ import annotations


class FeedError(Exception):
    """A calendar feed could not be read.

    ``retryable``: the failure may pass by itself (a timeout, a 5xx, a 429), so poll again after a backoff, or
    after ``retry_after`` seconds when the server said so; otherwise (404, 401/403, not a calendar, too large)
    polling again will fail the same way until someone changes the feed or the rule file.
    """

    def __init__(
        self,
        label: str,
        reason: str,
        *,
        retryable: bool,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"calendar {label!r}: {reason}")
        self.label = label
        self.reason = reason
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after
