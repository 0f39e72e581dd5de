"""Entry points (group ``tracebloc_ingestor``): the loader instantiates these classes."""

from .classification import ImageClassification

image_classification = ImageClassification
from .detection import ObjectDetection

object_detection = ObjectDetection
from .segmentation import SemanticSegmentation

semantic_segmentation = SemanticSegmentation
