"""Entry points (group ``tracebloc_ingestor``): the loader instantiates these classes."""

from .classification import ImageClassification
from .detection import ObjectDetection
from .keypoints import KeypointDetection
from .segmentation import SemanticSegmentation

image_classification = ImageClassification
object_detection = ObjectDetection
keypoint_detection = KeypointDetection
semantic_segmentation = SemanticSegmentation
