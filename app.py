"""mmcorr dashboard: the router. Page config, the optional password gate, then navigation.

Run with ``make run`` (or ``streamlit run app.py``). Every page lives in ``pages/`` and is registered
explicitly below; Streamlit's legacy auto-discovery of ``pages/`` is off because ``st.navigation``
is used.
"""

from __future__ import annotations

import hmac
import os
import sys
import threading

import streamlit as st

st.set_page_config(
    page_title="mmcorr: multimodal correlations",
    page_icon=":material/hub:",
    layout="wide",
)

# Optional shared password for demos on a network. Compared in constant time so the response time
# leaks nothing about how much of a guess was right.
_PASSWORD = os.environ.get("MMCORR_PASSWORD", "")
_AUTH_KEY = "mmcorr_authenticated"
if _PASSWORD and not st.session_state.get(_AUTH_KEY, False):
    st.title("mmcorr")
    with st.form("login"):
        guess = st.text_input("Password", type="password", help="Set by MMCORR_PASSWORD on the server.")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if hmac.compare_digest(guess.encode("utf-8"), _PASSWORD.encode("utf-8")):
            st.session_state[_AUTH_KEY] = True
            st.rerun()
        st.error("Wrong password.")
    st.stop()


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


_start_worker_in_background()

navigation = st.navigation(
    {
        "mmcorr": [
            st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
            st.Page("pages/data.py", title="Data", icon=":material/upload_file:"),
            st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
            st.Page("pages/explore.py", title="Explore", icon=":material/insights:"),
            st.Page("pages/compare.py", title="Compare", icon=":material/leaderboard:"),
        ]
    }
)
navigation.run()
