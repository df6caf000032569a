"""Reading calendar feeds: the I/O half of a polled source.

A polled source's pure half (``togglbridge.sources``) turns a feed's body into items; this package gets the body
and no more than it must:

- ``ics_http``: an ICS address over HTTP(S) or webcal, with ``ETag``/``Last-Modified`` validators and a hash of
  the last body, so that an unchanged feed costs a 304 (or one hash) and is not parsed again;
- ``caldav_feed``: a CalDAV collection through its sync token (RFC 6578), so that a poll transfers only the
  events that changed since the last one.

Both raise ``FeedError`` (``errors``), which names the calendar by its label from the rule file: a feed's address
and credentials are secrets, and appear in no message and no log line of this package.
"""
