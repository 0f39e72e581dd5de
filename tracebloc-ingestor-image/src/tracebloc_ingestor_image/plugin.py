"""Entry points (group ``tracebloc_ingestor``): the loader instantiates these classes."""

from .classification import ImageClassification

image_classification = ImageClassification
