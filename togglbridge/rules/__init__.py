"""Rules: from an Event and the user's rule file to Actions and an explanation, with no I/O.

- ``planner``: ``plan(event, config) -> Plan``, the entry point.
- ``identities``: whose event it is. ``conditions``, ``operators``, ``paths``: the ``if`` of a rule.
- ``templates``, ``filters``: text in actions. ``specs``, ``building``: the ``do`` of a rule, and its rendering.
- ``chatops``: the built-in ``/toggl`` commands. ``explain``, ``commands``: the CLI's view of all this.
- ``yaml_source``, ``strict_model``, ``durations``: reading the rule file (``togglbridge.config``) precisely.

Nothing is imported here, so that ``togglbridge.config`` can use the pieces it needs without a cycle.
"""
