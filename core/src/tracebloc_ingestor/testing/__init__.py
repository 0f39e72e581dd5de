"""Helpers for testing tracebloc-ingestor and its plugins (opt-in; import what you need).

``tracebloc_ingestor.testing.fixtures`` holds pytest fixtures: a fresh plugin manager
(``plugin_manager``), a throwaway MariaDB/MySQL database (``mysql_url``), an SQLite file
(``sqlite_url``) and a backend double (``backend_double``).
``tracebloc_ingestor.testing.distributions`` builds and installs a throwaway plugin
distribution for loader tests. ``tracebloc_ingestor.testing.runs`` runs a plugin
in-process (``run_plugin``) and reads back the rows that landed (``table_rows``,
``typed_rows``). ``tracebloc_ingestor.testing.mariadbd`` runs a private MariaDB server
(``PrivateServer``) that a test may kill, restart or freeze under a running load.
"""
