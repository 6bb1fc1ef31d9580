"""Home: what mmcorr does, one-click demo datasets, and the recent runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._ui import Key, PagePath, ensure_routed, user_errors

ensure_routed()

st.title("mmcorr")
st.markdown(
    "**Learn how paired data modalities relate.** Upload two or more views of the same samples "
    "(images, texts and sounds, feature tables, RNA and protein, ...), map them into one shared latent "
    "space with an autoencoder-family model or linear CCA, and see on held-out data which samples "
    "and which features correspond, measured against a shuffled-pairing null."
)

# What each demo is; the first is listed first (mmcorr.data.DEMO_NAMES) and explained in full.
DEMO_HELP: dict[str, str] = {
    "digits-media": "Handwritten digits as a picture, a sentence and a sound per sample. The three "
    "share the digit and its stroke thickness, slant and size, so a good model finds each sample's "
    "own caption and sound, not just any of the same digit.",
    "digits-noisy": "Handwritten digits: the left and right halves of each image as two views, with noise.",
    "synthetic": "Three modalities from a shared latent with known canonical correlations (the ceiling).",
}
# The noise-limited ceiling of docs/demo_digits.md ("What a perfect model can reach"), measured with
# oracle_recall at the size of the default test split (15% of 1,797 samples, about 270).
DIGITS_MEDIA_CEILING = (
    "A perfect model reaches class precision@1 = 1.0. Finding each sample's own partner among the "
    "~270 test samples, Recall@1 can reach about 0.84 between image and sound and about 0.49 with "
    "the caption (knowing only the digit gives about 0.04). The full story: `docs/demo_digits.md`."
)
SLOW_DEMOS: dict[str, str] = {"digits-media": "Drawing, writing and sounding 1,797 digits (10-30 s, once)..."}

left, right = st.columns([1, 1], gap="large")
with left:
    st.subheader("Try a demo")
    st.caption("Registers a small demo dataset (once) and takes you to training.")
    with user_errors("Loading the demo"):
        from mmcorr.data import DEMO_NAMES, DatasetRegistry

        for i, name in enumerate(DEMO_NAMES):
            clicked = st.button(
                f"Load the {name} demo",
                key=f"demo_{name}",
                help=DEMO_HELP.get(name, "A small demo dataset."),
                icon=":material/play_arrow:",
                type="primary" if i == 0 else "secondary",
                width="stretch",
            )
            if name == "digits-media":
                st.caption(DEMO_HELP[name])
                st.caption(DIGITS_MEDIA_CEILING)
            if clicked:
                with st.spinner(SLOW_DEMOS.get(name, "Loading the demo...")):
                    dataset_id = DatasetRegistry().ensure_demo(name)
                st.session_state[Key.DATASET.value] = dataset_id
                st.switch_page(PagePath.TRAIN.value)
    st.subheader("Or bring your own data")
    st.page_link(PagePath.DATA.value, label="Upload paired files", icon=":material/upload_file:")

with right:
    st.subheader("Recent runs")
    with user_errors("Listing jobs"):
        from mmcorr.jobs import list_jobs

        jobs = list_jobs(limit=10)
        if not jobs:
            st.info("No runs yet. Load a demo or upload data, then train a model.", icon=":material/info:")
        else:
            table = pd.DataFrame(
                {
                    "job": [j.id for j in jobs],
                    "name": [j.name or j.spec.model.model for j in jobs],
                    "model": [j.spec.model.model for j in jobs],
                    "state": [j.state.value for j in jobs],
                    "created": [str(j.created)[:19].replace("T", " ") for j in jobs],
                    "open": [f"train?job={j.id}" for j in jobs],
                }
            )
            st.dataframe(
                table,
                hide_index=True,
                width="stretch",
                column_config={"open": st.column_config.LinkColumn("open", display_text="view job")},
            )
            st.page_link(PagePath.EXPLORE.value, label="Explore finished runs", icon=":material/insights:")
