"""``TogglClient``: one method per endpoint of the gateway's routing reference for Toggl Track v9.

Two ways in, the same paths below ``/api/v9``:

- the gateway: ``https://api.maton.ai/toggl-track`` + ``/api/v9/...``, ``Authorization: Bearer <key>`` and
  ``Maton-Connection: <id>`` naming the Toggl account (one connection per identity);
- Toggl directly: ``https://api.track.toggl.com`` + ``/api/v9/...``, basic auth ``<token>:api_token``.

Every answer that is not a success raises a :mod:`togglbridge.toggl.errors` exception. The quota headers of
every response are kept in :attr:`TogglClient.quota`, and each request is reported to ``on_request`` (method,
path, status, milliseconds) for the journal. The client holds secrets but never puts them in an exception
or in what it reports.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final, Literal, TypeVar

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
from togglbridge.toggl.models import (
    BulkUpdateResult,
    Client,
    Project,
    Tag,
    TimeEntry,
    User,
    Workspace,
    WorkspaceUser,
)

API_PREFIX: Final = "/api/v9"
BULK_UPDATE_MAX_IDS: Final = 100
PROJECTS_MAX_PER_PAGE: Final = 200
DEFAULT_CREATED_WITH: Final = "togglbridge"
_MAX_MESSAGE_CHARS: Final = 500

ModelT = TypeVar("ModelT", bound=BaseModel)


class _Unset:
    """Marks a keyword that was not given, so that ``None`` can mean "clear this field"."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


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


def _iso(value: datetime) -> str:
    """Toggl wants UTC timestamps like ``2006-01-02T15:04:05Z``."""
    if value.tzinfo is None:
        raise ValueError("timestamps sent to Toggl must be timezone-aware")
    # isoformat pads the year to four digits where strftime("%Y") would not (years before 1000).
    return value.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def _date_param(value: date | datetime | str) -> str:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _unix(value: datetime | int) -> int:
    return value if isinstance(value, int) else int(value.timestamp())


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


def _fields(**candidates: object) -> dict[str, object]:
    """The keywords that were given (``UNSET`` dropped), with datetimes as Toggl's UTC strings."""
    return {
        name: _iso(value) if isinstance(value, datetime) else value
        for name, value in candidates.items()
        if not isinstance(value, _Unset)
    }


class TogglClient:
    """A synchronous client for Toggl Track v9, through the gateway or directly.

    One instance per credential. Several instances may share one ``httpx.Client`` (``http=``) so that all
    identities of a worker reuse the same connection pool.
    """

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
    ) -> TogglClient:
        """Through the gateway: ``gateway_url`` includes the app prefix (``https://api.maton.ai/toggl-track``)."""
        return cls(gateway_url, GatewayCredential(key=key, connection=connection), **options)

    @classmethod
    def direct(cls, api_url: str, token: SecretStr, **options: Any) -> TogglClient:
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
        return f"TogglClient({self.base_url!r}, {way})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> TogglClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- transport --------------------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None
    ) -> Any:
        """Send one request below ``/api/v9`` and return the decoded JSON (None for an empty body)."""
        api_path = API_PREFIX + path
        if self._pace is not None:
            self._pace()  # may raise Paced: nothing was sent
        query = {k: v for k, v in (params or {}).items() if v is not None}
        started = time.perf_counter()
        status: int | None = None
        try:
            response = self._http.request(
                method,
                self.base_url + api_path,
                params=query,
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

    # -- the user and workspaces ------------------------------------------------------------------------

    def me(self) -> User:
        """GET /me. Counts against the 30/hour ``/me`` quota on every plan: call once and cache."""
        return self._model(User, "GET", "/me")

    def workspaces(self) -> list[Workspace]:
        return self._models(Workspace, "GET", "/me/workspaces")

    def workspace(self, workspace_id: int) -> Workspace:
        return self._model(Workspace, "GET", f"/workspaces/{workspace_id}")

    def workspace_users(self, workspace_id: int) -> list[WorkspaceUser]:
        return self._models(WorkspaceUser, "GET", f"/workspaces/{workspace_id}/users")

    # -- time entries -----------------------------------------------------------------------------------

    def time_entries(
        self,
        *,
        since: datetime | int | None = None,
        before: date | datetime | str | None = None,
        start_date: date | datetime | str | None = None,
        end_date: date | datetime | str | None = None,
        meta: bool = False,
    ) -> list[TimeEntry]:
        """GET /me/time_entries. ``since`` (unix or datetime) also returns entries deleted since then."""
        params = {
            "since": _unix(since) if since is not None else None,
            "before": _date_param(before) if before is not None else None,
            "start_date": _date_param(start_date) if start_date is not None else None,
            "end_date": _date_param(end_date) if end_date is not None else None,
            "meta": "true" if meta else None,
        }
        return self._models(TimeEntry, "GET", "/me/time_entries", params=params)

    def current_time_entry(self) -> TimeEntry | None:
        """The running entry, or None when nothing runs (Toggl answers ``null``)."""
        body = self.request("GET", "/me/time_entries/current")
        return TimeEntry.model_validate(body) if body else None

    def time_entry(self, entry_id: int) -> TimeEntry:
        return self._model(TimeEntry, "GET", f"/me/time_entries/{entry_id}")

    def create_time_entry(
        self,
        workspace_id: int,
        *,
        start: datetime,
        description: str | None = None,
        duration: int | None = None,
        stop: datetime | None = None,
        project_id: int | None = None,
        task_id: int | None = None,
        tags: Sequence[str] | None = None,
        tag_ids: Sequence[int] | None = None,
        billable: bool | None = None,
        created_with: str | None = None,
    ) -> TimeEntry:
        """POST a time entry. Without ``duration`` and ``stop`` it starts a running entry (duration -1)."""
        if duration is None and stop is None:
            duration = -1
        elif duration is None and stop is not None:
            duration = int((stop - start).total_seconds())
        body = _fields(
            workspace_id=workspace_id,
            start=start,
            duration=duration,
            created_with=created_with or self.created_with,
            stop=stop if stop is not None else UNSET,
            description=description if description is not None else UNSET,
            project_id=project_id if project_id is not None else UNSET,
            task_id=task_id if task_id is not None else UNSET,
            tags=list(tags) if tags is not None else UNSET,
            tag_ids=list(tag_ids) if tag_ids is not None else UNSET,
            billable=billable if billable is not None else UNSET,
        )
        return self._model(TimeEntry, "POST", f"/workspaces/{workspace_id}/time_entries", json_body=body)

    def stop_time_entry(
        self, workspace_id: int, entry_id: int, *, already_stopped_ok: bool = False
    ) -> TimeEntry | None:
        """PATCH .../stop. With ``already_stopped_ok``, Toggl's 409 for a stopped entry returns None."""
        try:
            return self._model(TimeEntry, "PATCH", f"/workspaces/{workspace_id}/time_entries/{entry_id}/stop")
        except ConflictError:
            if already_stopped_ok:
                return None
            raise

    def update_time_entry(
        self,
        workspace_id: int,
        entry_id: int,
        *,
        description: str | _Unset | None = UNSET,
        project_id: int | _Unset | None = UNSET,
        task_id: int | _Unset | None = UNSET,
        billable: bool | _Unset = UNSET,
        start: datetime | _Unset = UNSET,
        stop: datetime | _Unset | None = UNSET,
        duration: int | _Unset = UNSET,
        tags: Sequence[str] | _Unset = UNSET,
        tag_ids: Sequence[int] | _Unset = UNSET,
        tag_action: Literal["add", "delete"] | None = None,
    ) -> TimeEntry:
        """PUT a partial update; ``tag_action`` makes ``tags``/``tag_ids`` add or delete, not replace."""
        body = _fields(
            description=description,
            project_id=project_id,
            task_id=task_id,
            billable=billable,
            start=start,
            stop=stop,
            duration=duration,
            tags=list(tags) if not isinstance(tags, _Unset) else UNSET,
            tag_ids=list(tag_ids) if not isinstance(tag_ids, _Unset) else UNSET,
            tag_action=tag_action if tag_action is not None else UNSET,
        )
        return self._model(
            TimeEntry, "PUT", f"/workspaces/{workspace_id}/time_entries/{entry_id}", json_body=body
        )

    def delete_time_entry(self, workspace_id: int, entry_id: int) -> None:
        self.request("DELETE", f"/workspaces/{workspace_id}/time_entries/{entry_id}")

    def bulk_update_time_entries(
        self, workspace_id: int, entry_ids: Sequence[int], operations: Sequence[Mapping[str, Any]]
    ) -> BulkUpdateResult:
        """PATCH many entries with JSON-patch ``operations``; more than 100 ids are sent in several calls."""
        result = BulkUpdateResult()
        for offset in range(0, len(entry_ids), BULK_UPDATE_MAX_IDS):
            chunk = ",".join(str(i) for i in entry_ids[offset : offset + BULK_UPDATE_MAX_IDS])
            part = self._model(
                BulkUpdateResult,
                "PATCH",
                f"/workspaces/{workspace_id}/time_entries/{chunk}",
                json_body=list(operations),
            )
            result.success.extend(part.success)
            result.failure.extend(part.failure)
        return result

    # -- projects ---------------------------------------------------------------------------------------

    def projects(
        self,
        workspace_id: int,
        *,
        active: bool | Literal["both"] | None = None,
        name: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
    ) -> list[Project]:
        """One page of projects (Toggl's default page size is 151, at most 200)."""
        params = {
            "active": ("true" if active else "false") if isinstance(active, bool) else active,
            "name": name,
            "page": page,
            "per_page": per_page,
        }
        return self._models(Project, "GET", f"/workspaces/{workspace_id}/projects", params=params)

    def iter_projects(
        self,
        workspace_id: int,
        *,
        active: bool | Literal["both"] | None = None,
        per_page: int = PROJECTS_MAX_PER_PAGE,
    ) -> Iterator[Project]:
        """Every project, page after page, until a page comes back short."""
        page = 1
        while True:
            batch = self.projects(workspace_id, active=active, page=page, per_page=per_page)
            yield from batch
            if len(batch) < per_page:
                return
            page += 1

    def project(self, workspace_id: int, project_id: int) -> Project:
        return self._model(Project, "GET", f"/workspaces/{workspace_id}/projects/{project_id}")

    def create_project(
        self,
        workspace_id: int,
        name: str,
        *,
        client_id: int | None = None,
        is_private: bool | None = None,
        billable: bool | None = None,
        color: str | None = None,
        active: bool | None = None,
    ) -> Project:
        body = {
            k: v
            for k, v in {
                "name": name,
                "client_id": client_id,
                "is_private": is_private,
                "billable": billable,
                "color": color,
                "active": active,
            }.items()
            if v is not None
        }
        return self._model(Project, "POST", f"/workspaces/{workspace_id}/projects", json_body=body)

    def update_project(
        self,
        workspace_id: int,
        project_id: int,
        *,
        name: str | _Unset = UNSET,
        client_id: int | _Unset | None = UNSET,
        is_private: bool | _Unset = UNSET,
        billable: bool | _Unset = UNSET,
        color: str | _Unset = UNSET,
        active: bool | _Unset = UNSET,
    ) -> Project:
        body = _fields(
            name=name,
            client_id=client_id,
            is_private=is_private,
            billable=billable,
            color=color,
            active=active,
        )
        return self._model(
            Project, "PUT", f"/workspaces/{workspace_id}/projects/{project_id}", json_body=body
        )

    def delete_project(self, workspace_id: int, project_id: int) -> None:
        self.request("DELETE", f"/workspaces/{workspace_id}/projects/{project_id}")

    # -- clients ----------------------------------------------------------------------------------------

    def clients(
        self,
        workspace_id: int,
        *,
        status: Literal["active", "archived", "both"] | None = None,
        name: str | None = None,
    ) -> list[Client]:
        return self._models(
            Client, "GET", f"/workspaces/{workspace_id}/clients", params={"status": status, "name": name}
        )

    def client(self, workspace_id: int, client_id: int) -> Client:
        return self._model(Client, "GET", f"/workspaces/{workspace_id}/clients/{client_id}")

    def create_client(self, workspace_id: int, name: str, *, notes: str | None = None) -> Client:
        body = {"name": name, "wid": workspace_id} | ({"notes": notes} if notes is not None else {})
        return self._model(Client, "POST", f"/workspaces/{workspace_id}/clients", json_body=body)

    def update_client(
        self,
        workspace_id: int,
        client_id: int,
        *,
        name: str | _Unset = UNSET,
        notes: str | _Unset | None = UNSET,
    ) -> Client:
        return self._model(
            Client,
            "PUT",
            f"/workspaces/{workspace_id}/clients/{client_id}",
            json_body=_fields(name=name, notes=notes),
        )

    def delete_client(self, workspace_id: int, client_id: int) -> None:
        self.request("DELETE", f"/workspaces/{workspace_id}/clients/{client_id}")

    def archive_client(self, workspace_id: int, client_id: int) -> list[int]:
        """Archive a client (and its projects); Toggl answers the ids of the projects it archived."""
        body = self.request("POST", f"/workspaces/{workspace_id}/clients/{client_id}/archive")
        return [int(i) for i in body] if isinstance(body, list) else []

    def restore_client(
        self,
        workspace_id: int,
        client_id: int,
        *,
        restore_all_projects: bool = False,
        projects: Sequence[int] | None = None,
    ) -> Client:
        body = {"restore_all_projects": restore_all_projects, "projects": list(projects or [])}
        return self._model(
            Client, "POST", f"/workspaces/{workspace_id}/clients/{client_id}/restore", json_body=body
        )

    # -- tags -------------------------------------------------------------------------------------------

    def tags(
        self,
        workspace_id: int,
        *,
        search: str | None = None,
        page: int | None = None,
        per_page: int | None = None,
    ) -> list[Tag]:
        return self._models(
            Tag,
            "GET",
            f"/workspaces/{workspace_id}/tags",
            params={"search": search, "page": page, "per_page": per_page},
        )

    def create_tag(self, workspace_id: int, name: str) -> Tag:
        """Explicit tag creation may be admin-only (403); naming a tag on an entry creates it implicitly."""
        return self._model(
            Tag,
            "POST",
            f"/workspaces/{workspace_id}/tags",
            json_body={"name": name, "workspace_id": workspace_id},
        )

    def update_tag(self, workspace_id: int, tag_id: int, name: str) -> Tag:
        return self._model(
            Tag,
            "PUT",
            f"/workspaces/{workspace_id}/tags/{tag_id}",
            json_body={"name": name, "workspace_id": workspace_id},
        )

    def delete_tag(self, workspace_id: int, tag_id: int) -> None:
        self.request("DELETE", f"/workspaces/{workspace_id}/tags/{tag_id}")
