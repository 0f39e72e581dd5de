"""The conformance kit over the four image categories: the checks every category plugin passes.

Each category runs it on its bundled template and on ``data/bad_<category>/`` (its
ingest.yaml says what is wrong with it). The image samples are drawn by
``data/make_bad_samples.py``.
"""

from pathlib import Path

from tracebloc_ingestor.testing.conformance import distribution_suite

ROOT = Path(__file__).resolve().parents[1]

TestImageClassification = distribution_suite(ROOT, "image_classification")
TestObjectDetection = distribution_suite(ROOT, "object_detection")
TestKeypointDetection = distribution_suite(ROOT, "keypoint_detection")
TestSemanticSegmentation = distribution_suite(ROOT, "semantic_segmentation")


def test_object_detection_checks_declared_manifest_columns(tmp_path):
    # object detection derives its label, but a schema-declared manifest column is still type-checked
    kit = TestObjectDetection()
    result = kit.run(tmp_path, kit.bad_sample)
    assert any(issue.column == "camera_serial" for issue in result.report.issues)
