"""The sources' secrets, read from the environment (or ``.env``) by the variable each source names.

Settings do not list them: a source declares its variable (``Source.secret_env``), so adding one touches no
settings. Empty means unset; a secret of the wrong shape stops the process at start with the variable's name and
what is expected, never the value.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from dotenv import dotenv_values
from pydantic import SecretStr

from togglbridge.settings import SettingsError
from togglbridge.sources.base import Source


class SourceSecrets(Mapping[str, SecretStr]):
    """Source name -> its secret, for the enabled sources only."""

    def __init__(self, secrets: Mapping[str, SecretStr]) -> None:
        self._secrets = dict(secrets)

    @classmethod
    def of(cls, **by_source: str) -> SourceSecrets:
        """Secrets given directly (tests, benchmarks)."""
        return cls({name: SecretStr(value) for name, value in by_source.items() if value})

    @classmethod
    def load(
        cls,
        sources: Iterable[Source],
        *,
        environ: Mapping[str, str] | None = None,
        env_file: Path | None = Path(".env"),
    ) -> SourceSecrets:
        """Each source's secret from ``environ`` (the process's environment), else from ``env_file``."""
        environment = os.environ if environ is None else environ
        from_file = dotenv_values(env_file) if env_file is not None and env_file.is_file() else {}
        found: dict[str, SecretStr] = {}
        for source in sources:
            value = (environment.get(source.variable) or from_file.get(source.variable) or "").strip()
            if not value:
                continue
            problem = source.check_secret(value)
            if problem:
                raise SettingsError(f"{source.variable}: {problem}")
            found[source.name] = SecretStr(value)
        return cls(found)

    def __getitem__(self, name: str) -> SecretStr:
        return self._secrets[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._secrets)

    def __len__(self) -> int:
        return len(self._secrets)

    def __repr__(self) -> str:
        return f"SourceSecrets({sorted(self._secrets)})"  # names only, never a value
