"""A runnable keypoint_detection ingestor. Copy this folder, point it at your data, run it.

    python ingestor.py                      # ingests the sample next to this file
    INGEST_CONFIG=my.yaml python ingestor.py   # number_of_keypoints and target_size are required
    LABEL_FILE=keypoints.csv SRC_PATH=/data/raw TABLE_NAME=my_table NUMBER_OF_KEYPOINTS=17 TARGET_SIZE=256x256 python ingestor.py

Every option has a flag, an environment variable and an ingest.yaml key (see the
README of tracebloc-ingestor-image, or: tb-ingest --plugin keypoint_detection --help).
Without MYSQL_HOST the rows go to an SQLite file; without STORAGE_PATH the images go to
./tracebloc-output/shared/<table>/ (in the cluster: /data/shared/<table>/); without
backend credentials the metadata goes to a local JSON file.
"""

from tracebloc_ingestor_image import KeypointDetection


class Ingestor(KeypointDetection):
    # Add checks of your own (from tracebloc_ingestor.api import FileTypeValidator), e.g.:
    #   validators = (*KeypointDetection.validators, FileTypeValidator(allowed=[".csv", ".jpg"]))  # manifest and images
    pass


if __name__ == "__main__":
    Ingestor().run_template(__file__)
