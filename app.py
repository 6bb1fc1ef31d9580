"""mmcorr dashboard: the router. Page config, the optional password gate, then navigation.

Run with ``make run`` (or ``streamlit run app.py``). Every page lives in ``pages/`` and is registered
explicitly below; Streamlit's legacy auto-discovery of ``pages/`` is off because ``st.navigation``
is used.

This file plays two parts. ``streamlit run app.py`` imports it (``__name__`` is not ``"__main__"``)
and finds ``app``, an ASGI ``st.App`` that serves Streamlit behind :class:`PasswordGateMiddleware`
(with ``MMCORR_PASSWORD`` set, Streamlit's own ``/_stcore/metrics`` then needs a signed-in browser).
Streamlit then runs the file as ``__main__`` for every page view: that run is the router.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import streamlit as st

from mmcorr.auth import (
    PASSWORD_ENV,
    SESSION_COOKIE,
    FailureLimiter,
    password_matches,
    session_hours,
    session_token,
    token_valid,
)

_PASSWORD = os.environ.get(PASSWORD_ENV, "")
_AUTH_KEY = "mmcorr_authenticated"


@st.cache_resource(show_spinner=False)
def _limiter() -> FailureLimiter:
    """One per dashboard process: wrong guesses are counted per client address across sessions."""
    return FailureLimiter()


def _signed_in() -> bool:
    """Signed in this session, or holding an unexpired session cookie signed for this password
    (cookies are those the browser sent when it opened this session: a reload or a new tab)."""
    if st.session_state.get(_AUTH_KEY, False):
        return True
    if token_valid(st.context.cookies.get(SESSION_COOKIE), _PASSWORD, time.time()):
        st.session_state[_AUTH_KEY] = True
        return True
    return False


def _remember_sign_in() -> None:
    """Keep the browser signed in (reloads, new tabs, shared links) until the token expires."""
    hours = session_hours()
    token = session_token(_PASSWORD, time.time(), hours)
    secure = "; Secure" if (st.context.url or "").startswith("https://") else ""
    cookie = f"{SESSION_COOKIE}={token}; Max-Age={int(hours * 3600)}; Path=/; SameSite=Strict{secure}"
    st.html(f"<script>document.cookie = {json.dumps(cookie)};</script>", unsafe_allow_javascript=True)


def _password_gate() -> bool:
    """The sign-in form; True once signed in. The page and its query (``/train?job=ID``) stay as they
    are, so the user lands where the link pointed. Repeated wrong guesses from one address wait."""
    form = st.empty()
    with form.container():
        st.title("mmcorr")
        with st.form("login"):
            guess = st.text_input("Password", type="password", help="Set by MMCORR_PASSWORD on the server.")
            submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return False
    client = st.context.ip_address or "unknown"
    wait = _limiter().wait_seconds(client)
    if wait > 0:
        st.error(f"Too many wrong passwords from this address. Try again in {wait:.0f} s.")
        return False
    if not password_matches(guess, _PASSWORD):
        _limiter().record_failure(client)
        st.error("Wrong password.")
        return False
    _limiter().record_success(client)
    st.session_state[_AUTH_KEY] = True
    form.empty()
    _remember_sign_in()
    return True


@st.cache_resource(show_spinner=False)
def _start_worker_in_background() -> threading.Thread:
    """Once per dashboard process: start the local job worker (a no-op with
    MMCORR_AUTOSTART_WORKER=0 or a Redis queue) without holding up the page, so its UMAP warm-up
    runs while the user uploads data. The Train page reports a worker that has died since."""

    def start() -> None:
        from mmcorr import MmcorrError
        from mmcorr.jobs import ensure_worker

        try:
            ensure_worker()
        except MmcorrError as exc:  # shown again, with a button, on the Train page
            print(f"mmcorr: the job worker did not start: {exc}", file=sys.stderr, flush=True)

    thread = threading.Thread(target=start, name="mmcorr-worker-autostart", daemon=True)
    thread.start()
    return thread


def _router() -> None:
    """One script run: page config, the password gate, then the selected page."""
    st.set_page_config(
        page_title="mmcorr: multimodal correlations",
        page_icon=":material/hub:",
        layout="wide",
    )
    locked = bool(_PASSWORD) and not _signed_in()
    navigation = st.navigation(
        {
            "mmcorr": [
                st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
                st.Page("pages/data.py", title="Data", icon=":material/upload_file:"),
                st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
                st.Page("pages/explore.py", title="Explore", icon=":material/insights:"),
                st.Page("pages/compare.py", title="Compare", icon=":material/leaderboard:"),
            ]
        },
        position="hidden" if locked else "sidebar",
    )
    if locked and not _password_gate():
        st.stop()
    _start_worker_in_background()
    navigation.run()


if __name__ == "__main__":  # a script run: Streamlit runs this file for every page view and rerun
    _router()
else:  # imported by `streamlit run app.py`, which then serves this ASGI app (Streamlit + our gate)
    from starlette.middleware import Middleware

    from mmcorr.auth import PasswordGateMiddleware

    app = st.App(__file__, middleware=[Middleware(PasswordGateMiddleware)])
