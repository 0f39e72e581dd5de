"""Image categories for tracebloc-ingestor.

``image_classification``, ``object_detection``, ``keypoint_detection`` and
``semantic_segmentation``: manifests of image files checked without decoding pixels by
default, copied once each into the dataset's folder on the shared volume.
"""

from .base import ImageIngestor
from .classification import ImageClassification
from .detection import ObjectDetection
from .keypoints import KeypointDetection
from .segmentation import SemanticSegmentation
from .validators import ImageResolutionValidator

__all__ = [
    "ImageIngestor",
    "ImageClassification",
    "ObjectDetection",
    "SemanticSegmentation",
    "KeypointDetection",
    "ImageResolutionValidator",
]
