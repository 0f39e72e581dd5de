"""The conformance kit over audio_classification: the checks every category plugin passes."""

from pathlib import Path

from tracebloc_ingestor.testing.conformance import CategoryConformance

ROOT = Path(__file__).resolve().parents[1]


class TestConformance(CategoryConformance):
    category = "audio_classification"
    sample = ROOT / "templates" / "audio_classification" / "ingest.yaml"
    # a text file named .wav, a truncated file, a clip without frames, one over
    # max_duration (the yaml sets 1 s) and a path out of the folder
    bad_sample = ROOT / "tests" / "data" / "bad" / "ingest.yaml"
    readme = ROOT / "README.md"
