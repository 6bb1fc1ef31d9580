"""Command groups of the ``mmcorr`` command line (see mmcorr/cli.py)."""
