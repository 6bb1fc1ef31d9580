"""Home: what mmcorr does, one-click demo datasets, and the recent runs."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from pages._ui import Key, PagePath, ensure_routed, user_errors

ensure_routed()

st.title("mmcorr")
st.markdown(
    "**Learn how paired data modalities relate.** Upload two or more views of the same samples "
    "(image features and text embeddings, RNA and protein, ...), map them into one shared latent "
    "space with an autoencoder-family model or linear CCA, and see on held-out data which samples "
    "and which features correspond, measured against a shuffled-pairing null."
)

left, right = st.columns([1, 1], gap="large")
with left:
    st.subheader("Try a demo")
    st.caption("Registers a small demo dataset (once) and takes you to training.")
    with user_errors("Loading the demo"):
        from mmcorr.data import DEMO_NAMES, DatasetRegistry

        demo_help = {
            "digits-noisy": "Handwritten digits: the left and right halves of each image as two views, with noise.",
            "synthetic": "Three modalities from a shared latent with known canonical correlations (the ceiling).",
        }
        for name in DEMO_NAMES:
            if st.button(
                f"Load the {name} demo",
                key=f"demo_{name}",
                help=demo_help.get(name, "A small demo dataset."),
                icon=":material/play_arrow:",
                width="stretch",
            ):
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
