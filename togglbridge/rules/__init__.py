"""Rules: from an Event and the user's rule file to Actions and an explanation, with no I/O.

- ``planner``: ``plan(event, rule_file) -> Plan``, the entry point; it reads the file through ``rule_file.RuleFile``.
- ``rule``: one rule of the file. ``identities``: whose event it is.
- ``conditions``, ``operators``, ``paths``: the ``if`` of a rule.
- ``templates``, ``filters``: text in actions. ``specs``, ``building``: the ``do`` of a rule, and its rendering.
- ``chatops``: the built-in ``/toggl`` commands. ``explain``: a plan in words, for the CLI.
- ``yaml_source``, ``strict_model``, ``durations``: reading the rule file (``togglbridge.config``) precisely.

The rule file's model (``togglbridge.config``) is built from these pieces; nothing here imports it.
"""
