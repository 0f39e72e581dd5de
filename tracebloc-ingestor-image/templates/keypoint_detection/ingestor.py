"""A runnable keypoint_detection ingestor. Copy this folder, point it at your data, run it.

    python ingestor.py                      # ingests the sample next to this file
    INGEST_CONFIG=my.yaml python ingestor.py   # number_of_keypoints and target_size are required

Without MYSQL_HOST the rows go to an SQLite file; without STORAGE_PATH the images go to
./tracebloc-output/shared/<table>/ (in the cluster: /data/shared/<table>/); without
backend credentials the metadata goes to a local JSON file.
"""

from tracebloc_ingestor_image import KeypointDetection


class Ingestor(KeypointDetection):
    # Add checks of your own (from tracebloc_ingestor import FileTypeValidator), e.g.:
    #   validators = (*KeypointDetection.validators, FileTypeValidator(allowed=[".csv", ".jpg"]))  # manifest and images
    pass


if __name__ == "__main__":
    Ingestor().run_template(__file__)
