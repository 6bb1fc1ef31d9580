"""The password gate's pieces: signed, expiring session tokens and the per-client failure limiter."""

from __future__ import annotations

import pytest

from mmcorr import MmcorrError
from mmcorr.auth import FailureLimiter, password_matches, session_hours, session_token, token_valid

NOW = 1_800_000_000.0


def test_a_token_is_valid_until_it_expires() -> None:
    token = session_token("s3cret", NOW, hours=2)
    assert token_valid(token, "s3cret", NOW)
    assert token_valid(token, "s3cret", NOW + 2 * 3600 - 1)
    assert not token_valid(token, "s3cret", NOW + 2 * 3600 + 1)


def test_a_token_is_bound_to_the_password() -> None:
    assert not token_valid(session_token("s3cret", NOW, 2), "changed", NOW)


@pytest.mark.parametrize("bad", [None, "", "garbage", "123", "1.2.3", 42])
def test_malformed_tokens_are_refused(bad: object) -> None:
    assert not token_valid(bad, "s3cret", NOW)


def test_a_token_cannot_be_extended_by_editing_its_expiry() -> None:
    expiry, _, signature = session_token("s3cret", NOW, 1).partition(".")
    forged = f"{int(expiry) + 10 * 3600}.{signature}"
    assert not token_valid(forged, "s3cret", NOW + 2 * 3600)


def test_password_matches_only_the_exact_password() -> None:
    assert password_matches("s3cret", "s3cret")
    assert not password_matches("s3cre", "s3cret") and not password_matches("s3cret ", "s3cret")


def test_session_hours_default_and_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MMCORR_SESSION_HOURS", raising=False)
    assert session_hours() == 12.0
    monkeypatch.setenv("MMCORR_SESSION_HOURS", "0.5")
    assert session_hours() == 0.5
    for bad in ("0", "-1", "abc", "10000"):
        monkeypatch.setenv("MMCORR_SESSION_HOURS", bad)
        with pytest.raises(MmcorrError, match=rf"MMCORR_SESSION_HOURS .* Got '{bad}'"):
            session_hours()


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_forty_fast_guesses_meet_growing_delays() -> None:
    clock = Clock()
    limiter = FailureLimiter(clock=clock)
    tried = 0
    for _ in range(40):  # 40 guesses in 6 s, as the review tried
        if limiter.wait_seconds("1.2.3.4") == 0:
            tried += 1
            limiter.record_failure("1.2.3.4")
        clock.now += 0.15
    assert tried == 5  # three free, then 2 s and 4 s waits
    assert limiter.wait_seconds("1.2.3.4") > 0
    assert limiter.wait_seconds("5.6.7.8") == 0  # per client


def test_the_delay_is_capped_and_forgotten_after_idle_time() -> None:
    clock = Clock()
    limiter = FailureLimiter(clock=clock, cap=60.0, forget=900.0)
    for _ in range(20):
        limiter.record_failure("c")
    assert 0 < limiter.wait_seconds("c") <= 60.0
    clock.now += 901
    assert limiter.wait_seconds("c") == 0


def test_success_clears_the_record_and_the_table_is_bounded() -> None:
    limiter = FailureLimiter(clock=Clock(), max_clients=3)
    for _ in range(5):
        limiter.record_failure("a")
    limiter.record_success("a")
    assert limiter.wait_seconds("a") == 0
    for c in ("b", "c", "d", "e"):
        for _ in range(5):
            limiter.record_failure(c)
    assert limiter.wait_seconds("b") == 0  # the oldest record went first
    assert limiter.wait_seconds("e") > 0


def _call(
    middleware_env: dict[str, str], path: str, cookie: str | None, monkeypatch: pytest.MonkeyPatch
) -> int:
    import asyncio

    from mmcorr.auth import PasswordGateMiddleware

    for key in ("MMCORR_PASSWORD",):
        monkeypatch.delenv(key, raising=False)
    for key, value in middleware_env.items():
        monkeypatch.setenv(key, value)
    sent: list[dict[str, object]] = []

    async def inner(scope: object, receive: object, send: object) -> None:
        sent.append({"type": "http.response.start", "status": 200})

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    headers = [(b"cookie", cookie.encode())] if cookie else []
    scope = {"type": "http", "path": path, "headers": headers}
    asyncio.run(PasswordGateMiddleware(inner, clock=lambda: NOW)(scope, None, send))
    return int(str(sent[0]["status"]))


def test_the_gate_middleware_guards_metrics_only_with_a_password(monkeypatch: pytest.MonkeyPatch) -> None:
    pw = {"MMCORR_PASSWORD": "s3cret"}
    good = f"other=1; mmcorr_session={session_token('s3cret', NOW, 1)}"
    assert _call(pw, "/_stcore/metrics", None, monkeypatch) == 403
    assert _call(pw, "/base/_stcore/metrics/", "mmcorr_session=bad", monkeypatch) == 403
    assert _call(pw, "/_stcore/metrics", good, monkeypatch) == 200
    assert _call(pw, "/_stcore/health", None, monkeypatch) == 200
    assert _call({}, "/_stcore/metrics", None, monkeypatch) == 200  # no password: nothing changes
