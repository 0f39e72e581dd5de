"""Ingest into MariaDB or MySQL instead of the embedded SQLite file.

    MYSQL_HOST=127.0.0.1 DB_USER=root DB_PASSWORD= DB_NAME=test python examples/mariadb.py
    DATABASE_URL=mysql+pymysql://user:password@db:3306/datasets python examples/mariadb.py

The Kubernetes Job sets MYSQL_HOST, MYSQL_PORT, DB_USER, DB_PASSWORD and DB_NAME; any
of them may also be passed to ingest() by name. A first load into an empty MariaDB
table goes in as one streamed LOAD DATA in one transaction.
"""

import os
import sys
from pathlib import Path

from tracebloc_ingestor import BaseIngestor

SAMPLE = Path(__file__).resolve().parent / "data" / "readings.yaml"


if __name__ == "__main__":
    if not (os.environ.get("MYSQL_HOST") or os.environ.get("DATABASE_URL")):
        sys.exit("set MYSQL_HOST (with DB_USER, DB_PASSWORD, DB_NAME) or DATABASE_URL; see the top of this file")
    BaseIngestor().ingest(config_path=str(SAMPLE), table="readings_mariadb")
