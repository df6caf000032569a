"""Every signing scheme: its ``sign`` makes what its ``verify`` accepts, and every way of getting it wrong is a
``SignatureError`` whose message names the header and never the secret."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from standardwebhooks.webhooks import Webhook

from togglbridge.sources import SignatureError
from togglbridge.sources.signing import (
    Ed25519Signature,
    HmacHex,
    SharedToken,
    StandardWebhooks,
    TimestampedHmac,
    public_key_hex,
    tokens_match,
)

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
SECRET = "It's a Secret to Everybody"
BODY = b"Hello, World!"
GITHUB = HmacHex("X-Hub-Signature-256", prefix="sha256=")
GITEA = HmacHex("X-Gitea-Signature")
WHSEC = "whsec_" + base64.b64encode(b"signing-test-secret-0123456789ab").decode()


def refused(scheme_verify: object, *args: object, says: str) -> None:
    with pytest.raises(SignatureError, match=says) as caught:
        scheme_verify(*args)  # type: ignore[operator]
    assert SECRET not in str(caught.value)


# -- HMAC of the body, hex -------------------------------------------------------------------------------------


def test_githubs_published_test_vector() -> None:
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert GITHUB.sign(BODY, SECRET) == {"X-Hub-Signature-256": expected}
    GITHUB.verify({"x-hub-signature-256": expected}, BODY, SECRET, NOW)
    GITHUB.verify({"X-Hub-Signature-256": expected.upper().replace("SHA256=", "sha256=")}, BODY, SECRET, NOW)


def test_an_unprefixed_hmac_is_giteas() -> None:
    headers = GITEA.sign(BODY, SECRET)
    assert headers == {
        "X-Gitea-Signature": "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    }
    GITEA.verify(headers, BODY, SECRET, NOW)


def test_sha1_is_there_for_senders_that_only_offer_it() -> None:
    legacy = HmacHex("X-Hub-Signature", prefix="sha1=", algorithm="sha1")
    headers = legacy.sign(BODY, SECRET)
    assert len(headers["X-Hub-Signature"]) == len("sha1=") + 40
    legacy.verify(headers, BODY, SECRET, NOW)


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({}, "missing X-Hub-Signature-256 header"),
        ({"X-Hub-Signature-256": ""}, "missing X-Hub-Signature-256 header"),
        ({"X-Hub-Signature-256": "sha256=" + "0" * 64}, "X-Hub-Signature-256 does not match the body"),
        (
            {"X-Hub-Signature-256": "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
            "does not match",
        ),
        (
            {"X-Hub-Signature-256": "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
            "match",
        ),
        ({"X-Hub-Signature-256": "sha256=é"}, "does not match"),  # not ASCII: refused, not a crash
    ],
)
def test_a_wrong_hmac_is_refused(headers: dict[str, str], says: str) -> None:
    refused(GITHUB.verify, headers, BODY, SECRET, NOW, says=says)


def test_the_hmac_covers_the_body_and_the_secret() -> None:
    refused(GITHUB.verify, GITHUB.sign(BODY, SECRET), BODY + b" ", SECRET, NOW, says="does not match")
    refused(GITHUB.verify, GITHUB.sign(BODY, "another"), BODY, SECRET, NOW, says="does not match")


# -- a shared token ------------------------------------------------------------------------------------------


def test_a_shared_token_is_the_secret_in_a_header() -> None:
    gitlab = SharedToken("X-Gitlab-Token")
    assert gitlab.sign(BODY, SECRET) == {"X-Gitlab-Token": SECRET}
    gitlab.verify({"x-gitlab-token": SECRET}, BODY, SECRET, NOW)
    refused(gitlab.verify, {}, BODY, SECRET, NOW, says="missing X-Gitlab-Token header")
    refused(gitlab.verify, {"X-Gitlab-Token": "guess"}, BODY, SECRET, NOW, says="not the shared token")
    refused(gitlab.verify, {"X-Gitlab-Token": "güess"}, BODY, SECRET, NOW, says="not the shared token")


def test_tokens_match_in_any_encoding_without_raising() -> None:
    assert tokens_match("abc", b"abc") and not tokens_match("abé", "abc") and not tokens_match("", "abc")


# -- a timestamped HMAC (Slack) -------------------------------------------------------------------------------


def test_slacks_documented_example() -> None:
    """The example of Slack's "Verifying requests from Slack" guide."""
    slack = TimestampedHmac()
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
        b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
        b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    headers = {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }
    at = datetime.fromtimestamp(1531420618, UTC)
    slack.verify(headers, body, "8f742231b10e8888abcd99yyyzzz85a5", at)
    assert slack.sign(body, "8f742231b10e8888abcd99yyyzzz85a5", at) == headers


def test_a_timestamped_hmac_round_trips_and_refuses_a_stale_or_wrong_one() -> None:
    slack = TimestampedHmac()
    headers = slack.sign(BODY, SECRET, NOW)
    slack.verify(headers, BODY, SECRET, NOW + timedelta(minutes=4))
    refused(slack.verify, headers, BODY, SECRET, NOW + timedelta(minutes=6), says="X-Slack-Request-Timestamp")
    refused(slack.verify, headers, BODY + b"x", SECRET, NOW, says="X-Slack-Signature does not match")
    stamped = headers | {"X-Slack-Request-Timestamp": "soon"}
    refused(slack.verify, stamped, BODY, SECRET, NOW, says="not a unix time")
    refused(slack.verify, {}, BODY, SECRET, NOW, says="missing X-Slack-Request-Timestamp header")


# -- Standard Webhooks ------------------------------------------------------------------------------------------


def test_standard_webhooks_signs_as_the_library_does() -> None:
    now = datetime.now(UTC)
    headers = StandardWebhooks().sign(BODY, WHSEC, "msg_1", now)
    assert headers["webhook-signature"] == Webhook(WHSEC).sign("msg_1", now, BODY.decode())
    assert headers["webhook-timestamp"] == str(int(now.timestamp()))
    StandardWebhooks().verify(headers, BODY, WHSEC, now)


def test_standard_webhooks_signs_a_body_that_is_not_utf8() -> None:
    headers = StandardWebhooks().sign(b"\xff", WHSEC, "msg_1", datetime.now(UTC))
    assert headers["webhook-signature"].startswith("v1,")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"webhook-signature": "v1," + base64.b64encode(b"x" * 32).decode()}, "No matching signature"),
        ({"webhook-signature": "nonsense"}, "malformed"),
        ({"webhook-id": "msg_2"}, "No matching signature"),
    ],
)
def test_a_wrong_standard_webhook_is_refused(change: dict[str, str], says: str) -> None:
    scheme = StandardWebhooks()
    headers = scheme.sign(BODY, WHSEC, "msg_1", datetime.now(UTC)) | change
    refused(scheme.verify, headers, BODY, WHSEC, NOW, says=says)


@pytest.mark.parametrize(("minutes", "says"), [(-10, "too old"), (10, "too new")])
def test_a_standard_webhook_outside_five_minutes_is_refused(minutes: int, says: str) -> None:
    scheme = StandardWebhooks()
    headers = scheme.sign(BODY, WHSEC, "msg_1", datetime.now(UTC) + timedelta(minutes=minutes))
    refused(scheme.verify, headers, BODY, WHSEC, NOW, says=says)


def test_standard_webhooks_names_the_missing_headers() -> None:
    refused(
        StandardWebhooks().verify, {"webhook-id": "1"}, BODY, WHSEC, NOW, says="webhook-timestamp, webhook-"
    )


# -- Ed25519 (Discord) ---------------------------------------------------------------------------------------


def test_an_ed25519_signature_round_trips_with_a_generated_key() -> None:
    discord = Ed25519Signature()
    key = Ed25519PrivateKey.generate()
    public = public_key_hex(key)
    body = b'{"type": 1}'
    headers = discord.sign(body, key, NOW)
    assert set(headers) == {"X-Signature-Ed25519", "X-Signature-Timestamp"}
    discord.verify(headers, body, public, NOW)
    refused(discord.verify, headers, body + b" ", public, NOW, says="X-Signature-Ed25519 does not match")
    later = headers | {"X-Signature-Timestamp": str(int(NOW.timestamp()) + 1)}
    refused(discord.verify, later, body, public, NOW, says="does not match")
    other = public_key_hex(Ed25519PrivateKey.generate())
    refused(discord.verify, headers, body, other, NOW, says="does not match")
    refused(discord.verify, headers | {"X-Signature-Ed25519": "zz"}, body, public, NOW, says="does not match")
    refused(discord.verify, {}, body, public, NOW, says="missing X-Signature-Ed25519 header")
    refused(discord.verify, headers, body, "not hex", NOW, says="public key")


def test_an_ed25519_tolerance_refuses_an_old_timestamp() -> None:
    discord = Ed25519Signature(tolerance=timedelta(minutes=5))
    key = Ed25519PrivateKey.generate()
    headers = discord.sign(BODY, key, NOW)
    discord.verify(headers, BODY, public_key_hex(key), NOW + timedelta(minutes=5))
    refused(discord.verify, headers, BODY, public_key_hex(key), NOW + timedelta(minutes=6), says="Timestamp")
