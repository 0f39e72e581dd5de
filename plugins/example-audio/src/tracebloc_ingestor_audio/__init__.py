"""An audio category for tracebloc-ingestor, built only on its public API (``tracebloc_ingestor.api``).

``audio_classification``: a manifest of PCM WAV clips, each checked once with the
standard library's ``wave`` module (format, frames, duration, sample rate) and copied
once into the dataset's folder on the shared volume.
"""

from .classification import AudioClassification
from .options import AUDIO, MAX_DURATION, MIN_DURATION, SAMPLE_RATES, ClipLimits, SampleRates
from .wav import AudioFacts, read_wav

__all__ = [
    "AUDIO",
    "MAX_DURATION",
    "MIN_DURATION",
    "SAMPLE_RATES",
    "AudioClassification",
    "AudioFacts",
    "ClipLimits",
    "SampleRates",
    "read_wav",
]
