"""mmcorr.jobs (being built)."""
