"""A runnable masked_language_modeling ingestor. Copy this folder, point it at your data, run it.

    python ingestor.py                      # ingests the sample next to this file
    INGEST_CONFIG=inline/ingest.yaml python ingestor.py   # the same kind of sample inline in a table
    INGEST_CONFIG=my.yaml python ingestor.py
    LABEL_FILE=sequences.csv SRC_PATH=/data/raw TABLE_NAME=my_table python ingestor.py

Without MYSQL_HOST the rows go to an SQLite file; without STORAGE_PATH the texts go to
./tracebloc-output/shared/<table>/ (in the cluster: /data/shared/<table>/); without
backend credentials the metadata goes to a local JSON file.
"""

from tracebloc_ingestor_text import MaskedLanguageModeling


class Ingestor(MaskedLanguageModeling):
    # Add checks of your own (from tracebloc_ingestor.api import FileTypeValidator), e.g.:
    #   validators = (*MaskedLanguageModeling.validators, FileTypeValidator(allowed=[".csv", ".txt"]))  # manifest and sequences
    pass


if __name__ == "__main__":
    Ingestor().run_template(__file__)
