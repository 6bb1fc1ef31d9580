"""The run: split -> fit -> held-out analyses -> bundle -> report.

``bundle`` owns the run folder's format (file names, format version, writers and torch-free readers),
``metrics`` the held-out analyses of a fitted model's latents, ``pipeline`` one run end to end and
``report`` the self-contained HTML report. Everything that reads a run goes through this package.
Importing it never loads torch: the pipeline imports the estimator inside its functions.
"""

from __future__ import annotations
