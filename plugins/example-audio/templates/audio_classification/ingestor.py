"""A runnable audio_classification ingestor. Copy this folder, point it at your data, run it.

    python ingestor.py                      # ingests the sample next to this file
    INGEST_CONFIG=my.yaml python ingestor.py
    LABEL_FILE=labels.csv SRC_PATH=/data/raw TABLE_NAME=my_table MAX_DURATION=30 python ingestor.py

Without MYSQL_HOST the rows go to an SQLite file; without STORAGE_PATH the clips go to
./tracebloc-output/shared/<table>/ (in the cluster: /data/shared/<table>/); without
backend credentials the metadata goes to a local JSON file.
"""

from tracebloc_ingestor_audio import AudioClassification


class Ingestor(AudioClassification):
    # Add checks of your own (from tracebloc_ingestor.api import FileTypeValidator), e.g.:
    #   validators = (*AudioClassification.validators, FileTypeValidator(allowed=[".csv", ".wav"]))
    pass


if __name__ == "__main__":
    Ingestor().run_template(__file__)
