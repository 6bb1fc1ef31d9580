"""mmcorr.data (being built)."""
