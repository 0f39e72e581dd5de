"""Helpers for testing tracebloc-ingestor and its plugins (opt-in; import what you need).

``tracebloc_ingestor.testing.fixtures`` holds pytest fixtures: a fresh plugin manager,
a throwaway MariaDB/MySQL database, and a temporary output folder.
"""
