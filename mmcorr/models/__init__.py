"""mmcorr.models (being built)."""
