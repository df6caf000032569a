"""The rule file as the dashboard reads it: loaded again when it changes on disk, and a broken file is a message
on the page, never a broken page."""

from __future__ import annotations

import threading
from pathlib import Path

from togglbridge.config import Config, ConfigError, load_config


class RuleFileReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[float, int] | None = None
        self._loaded: tuple[Config | None, str | None] = (None, None)

    def read(self) -> tuple[Config | None, str | None]:
        """The rule file, or None and why it cannot be read."""
        try:
            stat = self.path.stat()
        except OSError as exc:
            return None, f"the rule file {self.path} cannot be read: {exc.strerror or exc}"
        stamp = (stat.st_mtime, stat.st_size)
        with self._lock:
            if stamp != self._seen:
                try:
                    self._loaded = (load_config(self.path), None)
                except ConfigError as exc:
                    self._loaded = (None, str(exc))
                self._seen = stamp
            return self._loaded

    def identity_names(self) -> list[str]:
        config, _problem = self.read()
        return sorted(config.identities) if config else []
