"""One request to Toggl Track v9, through the gateway or directly, and its answer or the error it means.

Two ways in, the same paths below ``/api/v9``:

- the gateway: ``https://api.maton.ai/toggl-track`` + ``/api/v9/...``, ``Authorization: Bearer <key>`` and
  ``Maton-Connection: <id>`` naming the Toggl account (one connection per identity);
- Toggl directly: ``https://api.track.toggl.com`` + ``/api/v9/...``, basic auth ``<token>:api_token``.

Every answer that is not a success raises a :mod:`togglbridge.toggl.errors` exception. The quota headers of
every response are kept in :attr:`Transport.quota`, and each request is reported to ``on_request`` (method,
path, status, milliseconds) for the journal. The transport holds secrets but never puts them in an exception
or in what it reports.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, Self, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, TypeAdapter

from togglbridge.toggl.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    Quota,
    QuotaExhaustedError,
    RateLimitedError,
    TogglError,
    UpstreamError,
)

API_PREFIX: Final = "/api/v9"
DEFAULT_CREATED_WITH: Final = "togglbridge"
_MAX_MESSAGE_CHARS: Final = 500

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class GatewayCredential:
    """The gateway's API key and the connection (Toggl account) to act as; None: the gateway's default."""

    key: SecretStr
    connection: str | None = None


@dataclass(frozen=True, slots=True)
class TokenCredential:
    """A Toggl API token, for going to Toggl directly."""

    token: SecretStr


Credential = GatewayCredential | TokenCredential


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """What the journal keeps of one request: never a header, a body or a secret."""

    method: str
    path: str
    status: int | None
    milliseconds: float


def _error_message(response: httpx.Response) -> str:
    """Toggl's error bodies are plain strings, sometimes JSON-quoted; objects are shown compactly."""
    text = response.text.strip()
    try:
        decoded = json.loads(text) if text else ""
    except ValueError:
        decoded = text
    message = decoded if isinstance(decoded, str) else json.dumps(decoded, separators=(",", ":"))
    message = message.strip() or response.reason_phrase or f"HTTP {response.status_code}"
    return message[:_MAX_MESSAGE_CHARS]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return None


_ERROR_BY_STATUS: Final[Mapping[int, type[TogglError]]] = {
    401: AuthenticationError,
    403: AuthenticationError,
    402: QuotaExhaustedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}


def error_for(response: httpx.Response, method: str, path: str, quota: Quota) -> TogglError:
    """The exception for a response that is not a success."""
    status = response.status_code
    error_class = _ERROR_BY_STATUS.get(status) or (UpstreamError if status >= 500 else BadRequestError)
    retry_after = quota.resets_in if status == 402 else _retry_after(response)
    return error_class(
        _error_message(response),
        status=status,
        method=method,
        path=path,
        quota=quota,
        retry_after=retry_after,
    )


class Transport:
    """Requests for one credential; ``TogglClient`` adds a method per endpoint."""

    def __init__(
        self,
        base_url: str,
        credential: Credential,
        *,
        created_with: str = DEFAULT_CREATED_WITH,
        timeout: float = 20.0,
        http: httpx.Client | None = None,
        on_request: Callable[[RequestRecord], None] | None = None,
        pace: Callable[[], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.created_with = created_with
        self.quota = Quota()
        self._credential = credential
        self._timeout = timeout
        self._owns_http = http is None
        self._http = http or httpx.Client(timeout=timeout)
        self._on_request = on_request
        self._pace = pace
        self._headers, self._auth = self._auth_for(credential)

    @classmethod
    def via_gateway(
        cls, gateway_url: str, key: SecretStr, connection: str | None = None, **options: Any
    ) -> Self:
        """Through the gateway: ``gateway_url`` includes the app prefix (``https://api.maton.ai/toggl-track``)."""
        return cls(gateway_url, GatewayCredential(key=key, connection=connection), **options)

    @classmethod
    def direct(cls, api_url: str, token: SecretStr, **options: Any) -> Self:
        """Straight to Toggl (``https://api.track.toggl.com``) with an API token."""
        return cls(api_url, TokenCredential(token=token), **options)

    @staticmethod
    def _auth_for(credential: Credential) -> tuple[dict[str, str], httpx.BasicAuth | None]:
        if isinstance(credential, GatewayCredential):
            headers = {"Authorization": f"Bearer {credential.key.get_secret_value()}"}
            if credential.connection:
                headers["Maton-Connection"] = credential.connection
            return headers, None
        return {}, httpx.BasicAuth(credential.token.get_secret_value(), "api_token")

    def __repr__(self) -> str:
        way = "gateway" if isinstance(self._credential, GatewayCredential) else "direct"
        return f"{type(self).__name__}({self.base_url!r}, {way})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        prefix: str = API_PREFIX,
    ) -> Any:
        """Send one request below ``prefix`` (``/api/v9``; the webhooks API is ``/webhooks/api/v1`` on the same
        host) and return the decoded JSON (None for an empty body)."""
        api_path = prefix + path
        if self._pace is not None:
            self._pace()  # may raise Paced: nothing was sent
        # None, not an empty mapping: httpx parses and rebuilds the URL to merge even no parameters.
        query = {k: v for k, v in params.items() if v is not None} if params else None
        started = time.perf_counter()
        status: int | None = None
        try:
            response = self._http.request(
                method,
                self.base_url + api_path,
                params=query or None,
                json=json_body,
                headers=self._headers,
                auth=self._auth or httpx.USE_CLIENT_DEFAULT,
                timeout=self._timeout,
            )
            status = response.status_code
        except httpx.TimeoutException as exc:
            raise UpstreamError(f"timed out after {self._timeout:g}s", method=method, path=api_path) from exc
        except httpx.TransportError as exc:
            raise UpstreamError(
                f"connection failed: {type(exc).__name__}", method=method, path=api_path
            ) from exc
        finally:
            if self._on_request is not None:
                elapsed = (time.perf_counter() - started) * 1000
                self._on_request(RequestRecord(method, api_path, status, round(elapsed, 1)))
        quota = Quota.from_headers(response.headers)
        if quota.remaining is not None or quota.resets_in is not None:
            self.quota = quota
        if response.is_success:
            return response.json() if response.content.strip() else None
        raise error_for(response, method, api_path, quota)

    def _model(self, model: type[ModelT], method: str, path: str, **kwargs: Any) -> ModelT:
        return model.model_validate(self.request(method, path, **kwargs))

    def _models(self, model: type[ModelT], method: str, path: str, **kwargs: Any) -> list[ModelT]:
        return TypeAdapter(list[model]).validate_python(self.request(method, path, **kwargs) or [])  # type: ignore[valid-type]
