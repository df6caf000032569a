"""The shared request limiter: one window per credential across processes, in a real Redis."""

from __future__ import annotations

import time

import pytest
import redis

from togglbridge.settings import parse_rate
from togglbridge.toggl.limiter import Paced, TogglRateLimiter, credential_key


def test_two_processes_share_one_window(redis_url: str) -> None:
    first = TogglRateLimiter(redis_url, per_credential="5/second")
    second = TogglRateLimiter(redis_url, per_credential="5/second")  # another process, same Redis
    key = credential_key("token", "tok")
    sent = 0
    with pytest.raises(Paced) as paced:
        for limiter in [first, second] * 10:
            limiter.pace(key)
            sent += 1
    assert sent == 5
    assert (
        paced.value.retryable and paced.value.retry_after is not None and 0 < paced.value.retry_after <= 1.0
    )


def test_other_credentials_are_not_held_up(redis_url: str) -> None:
    limiter = TogglRateLimiter(redis_url, per_credential="1/second")
    limiter.pace(credential_key("token", "a"))
    limiter.pace(credential_key("token", "b"))  # no Paced: a different window


def test_the_gateway_account_window_applies_across_connections(redis_url: str) -> None:
    limiter = TogglRateLimiter(redis_url, per_credential="100/second", per_gateway_account="3/second")
    account = credential_key("gateway-account", "key")
    for connection in ("c1", "c2", "c3"):
        limiter.pace(credential_key("gateway", "key", connection), account)
    with pytest.raises(Paced):
        limiter.pace(credential_key("gateway", "key", "c4"), account)


def test_windows_are_keyed_by_a_hash_never_the_secret(redis_url: str, redis_client: redis.Redis) -> None:
    limiter = TogglRateLimiter(redis_url, per_credential="1/second")
    limiter.pace(credential_key("token", "super-secret-token"))
    stored = " ".join(str(key) for key in redis_client.keys("*"))
    assert stored and "super-secret-token" not in stored


def test_rates_parse_and_can_be_turned_off() -> None:
    assert parse_rate("off") is None
    item = parse_rate("30/minute")
    assert item is not None and item.amount == 30
    with pytest.raises(ValueError):
        parse_rate("lots")


def test_pacing_holds_over_time(redis_url: str) -> None:
    """Requests that wait their turn are spaced by the window, whatever the caller's speed."""
    limiter = TogglRateLimiter(redis_url, per_credential="10/second")
    key = credential_key("token", "steady")
    # Each slot was taken at some moment between the call and its return (the window's clock is time.time()):
    # keeping both ends makes the check below hold however late the caller ran, never a timing assumption.
    taken: list[tuple[float, float]] = []
    deadline = time.time() + 1.5
    while time.time() < deadline:
        called = time.time()
        try:
            limiter.pace(key)
            taken.append((called, time.time()))
        except Paced as paced:
            time.sleep(paced.retry_after or 0.01)
    assert len(taken) > 10
    # In any one-second span, at most 10 requests: those returned less than a second after another was called
    # surely took their slots within a second of its.
    for index, (called, _) in enumerate(taken):
        assert len([1 for _, returned in taken[index:] if returned - called < 0.999]) <= 10
