"""``python -m togglbridge.cli``."""

from togglbridge.cli import main

main()
