"""The package version and the run-bundle format version (bumped on incompatible bundle changes)."""

__version__ = "0.1.0"
BUNDLE_FORMAT = 1
