"""The dashboard's shared-password gate, without Streamlit: signed session tokens and a per-client
limit on wrong guesses.

A session token is ``"<expiry>.<signature>"``: the expiry as Unix seconds and an HMAC-SHA256 of it
under a key derived from the password, so it cannot be forged or extended, changing the password
ends every session, and it survives a dashboard restart. The dashboard keeps it in a cookie so that
a reload, a new tab or a shared job link (``/train?job=ID``) does not ask again until it expires.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mmcorr._validation import MmcorrError

__all__ = [
    "GATED_PATHS",
    "PASSWORD_ENV",
    "PasswordGateMiddleware",
    "SESSION_COOKIE",
    "SESSION_HOURS_ENV",
    "FailureLimiter",
    "password_matches",
    "session_hours",
    "session_token",
    "token_valid",
]

PASSWORD_ENV = "MMCORR_PASSWORD"
SESSION_HOURS_ENV = "MMCORR_SESSION_HOURS"
SESSION_COOKIE = "mmcorr_session"
_DEFAULT_SESSION_HOURS = 12.0
_MAX_SESSION_HOURS = 24.0 * 30


def session_hours() -> float:
    """How long a sign-in lasts: env ``MMCORR_SESSION_HOURS`` (0 < hours <= 720), default 12."""
    raw = os.environ.get(SESSION_HOURS_ENV, "").strip()
    if not raw:
        return _DEFAULT_SESSION_HOURS
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not 0 < hours <= _MAX_SESSION_HOURS:
        raise MmcorrError(
            f"The {SESSION_HOURS_ENV} environment variable must be a number of hours in (0, "
            f"{_MAX_SESSION_HOURS:g}]. Got {raw!r}."
        )
    return hours


def password_matches(guess: str, password: str) -> bool:
    """Constant-time comparison, so the response time leaks nothing about how much of a guess was right."""
    return hmac.compare_digest(guess.encode("utf-8"), password.encode("utf-8"))


def _signature(password: str, expiry: int) -> str:
    key = hashlib.sha256(b"mmcorr-session\0" + password.encode("utf-8")).digest()
    return hmac.new(key, str(expiry).encode("ascii"), hashlib.sha256).hexdigest()


def session_token(password: str, now: float, hours: float) -> str:
    """A token valid until ``now + hours`` for this password."""
    expiry = int(now + hours * 3600)
    return f"{expiry}.{_signature(password, expiry)}"


def token_valid(token: object, password: str, now: float) -> bool:
    """True when ``token`` is a string signed for this password that has not expired."""
    if not isinstance(token, str) or not token:
        return False
    expiry_text, sep, signature = token.partition(".")
    if not sep or not expiry_text.isdigit() or len(expiry_text) > 12:
        return False
    expiry = int(expiry_text)
    return expiry > now and hmac.compare_digest(signature, _signature(password, expiry))


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0


@dataclass
class FailureLimiter:
    """Slows repeated wrong passwords from one client: the first ``free`` failures cost nothing; after
    failure n > free the next attempt must wait ``base * 2**(n - free - 1)`` seconds (at most ``cap``). A client's record is forgotten after ``forget`` idle seconds or on success; at most
    ``max_clients`` records are kept (the oldest go first), so the table cannot grow without bound.

    clock: seconds, monotonic (``time.monotonic``; tests pass their own).
    """

    free: int = 3
    base: float = 2.0
    cap: float = 300.0
    forget: float = 900.0
    max_clients: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _records: dict[str, _Record] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _delay(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        return float(min(self.cap, self.base * 2 ** (failures - self.free - 1)))

    def wait_seconds(self, client: str) -> float:
        """Seconds before ``client`` may try again (0: now)."""
        now = self.clock()
        with self._lock:
            rec = self._records.get(client)
            if rec is None:
                return 0.0
            if now - rec.last > self.forget:
                del self._records[client]
                return 0.0
            return max(0.0, rec.last + self._delay(rec.failures) - now)

    def record_failure(self, client: str) -> None:
        now = self.clock()
        with self._lock:
            rec = self._records.pop(client, None) or _Record()
            rec.failures += 1
            rec.last = now
            self._records[client] = rec  # re-inserted last: dict order is age order
            while len(self._records) > self.max_clients:
                del self._records[next(iter(self._records))]

    def record_success(self, client: str) -> None:
        with self._lock:
            self._records.pop(client, None)


#: Streamlit routes that answer outside the app's script, so the password form cannot cover them;
#: with MMCORR_PASSWORD set they need a signed-in browser's cookie.
GATED_PATHS: tuple[str, ...] = ("/_stcore/metrics",)


def _cookie(headers: list[tuple[bytes, bytes]], name: str) -> str | None:
    from http.cookies import CookieError, SimpleCookie

    for key, value in headers:
        if key.lower() != b"cookie":
            continue
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(value.decode("latin-1"))
        except CookieError:
            continue
        if name in jar:
            return jar[name].value
    return None


class PasswordGateMiddleware:
    """ASGI middleware: with ``MMCORR_PASSWORD`` set, the routes in :data:`GATED_PATHS` answer 403
    unless the request carries a valid session cookie (see :func:`token_valid`). The password is
    read per request, so the same server follows its environment; without one nothing changes.

    app.py hands it to ``st.App``, which ``streamlit run app.py`` serves (Streamlit's own server has
    no other hook for its metrics route).
    """

    def __init__(self, app: Callable[..., Any], clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.clock = clock

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        password = os.environ.get(PASSWORD_ENV, "")
        path = str(scope.get("path", ""))
        if (
            password
            and scope.get("type") == "http"
            and path.rstrip("/").endswith(GATED_PATHS)
            and not token_valid(
                _cookie(list(scope.get("headers", [])), SESSION_COOKIE), password, self.clock()
            )
        ):
            body = b"Sign in to the dashboard first (MMCORR_PASSWORD is set).\n"
            headers = [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 403, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
