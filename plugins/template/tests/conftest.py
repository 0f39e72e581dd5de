# Opt-in pytest fixtures of the core: sqlite_url, mysql_url (a throwaway MariaDB/MySQL
# database; skipped without a server, failing under CI=true) and backend_double.
from tracebloc_ingestor.testing.fixtures import *  # noqa: F401,F403
