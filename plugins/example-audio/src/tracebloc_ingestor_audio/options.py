"""The options of ``audio_classification``: the clips' folder and the limits a clip must keep.

The folder is the top-level ``ingest.yaml`` key ``audio`` (like ``images`` and
``texts``); the limits live under ``spec.file_options``. Each is also a flag and an
environment variable; the run reads them as ``ctx.options``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import attrs

from tracebloc_ingestor.api import FileProblem, Number, Option, OptionError, OptionType, PathValue

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import OptionValues

    from .wav import AudioFacts

DEFAULT_MAX_DURATION = 600.0  # ten minutes: far above a classification clip, still bounded
FILE_OPTIONS = "spec.file_options."
_DIGITS = re.compile(r"[0-9]+")


@attrs.frozen
class SampleRates(OptionType):
    """Sample rates in Hz: one whole number or a list (comma-separated as text)."""

    metavar = "HZ,..."
    _rule = "must be sample rates in Hz: whole numbers above 0 (a list, or comma-separated as text)"

    def parse(self, raw: Any) -> tuple[int, ...]:
        items = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, (list, tuple)) else [raw]
        rates = []
        for item in items:
            text = str(item).strip() if isinstance(item, (int, str)) and not isinstance(item, bool) else ""
            if not _DIGITS.fullmatch(text) or int(text) <= 0:
                raise OptionError(self._rule)
            rates.append(int(text))
        if not rates:
            raise OptionError(self._rule)
        return tuple(dict.fromkeys(rates))

    def json_schema(self) -> dict:
        rate = {"type": "integer", "minimum": 1, "x-message": "must be a sample rate in Hz, a whole number above 0"}
        return {**rate, "type": ["integer", "array"], "x-message": self._rule, "minItems": 1, "items": rate}

    def describe(self) -> str:
        return "sample rates in Hz (a list, or comma-separated as text)"


AUDIO = Option(
    "audio",
    PathValue("source"),
    help="Folder of the WAV files the manifest names (default: audio/ under the source root)",
    env="AUDIO_DIR",
)
MAX_DURATION = Option(
    "max_duration",
    Number(above=0),
    default=DEFAULT_MAX_DURATION,
    help="Longest accepted clip, in seconds; a longer one breaks rule max_duration",
    yaml=FILE_OPTIONS + "max_duration",
)
MIN_DURATION = Option(
    "min_duration",
    Number(minimum=0),
    help="Shortest accepted clip, in seconds; a shorter one breaks rule min_duration (default: any clip with a frame)",
    yaml=FILE_OPTIONS + "min_duration",
)
SAMPLE_RATES = Option(
    "sample_rates",
    SampleRates(),
    help="Accepted sample rates in Hz, e.g. 16000,44100; a clip at another rate breaks rule sample_rate (default: any rate)",
    yaml=FILE_OPTIONS + "sample_rates",
)
OPTIONS = (AUDIO, MAX_DURATION, MIN_DURATION, SAMPLE_RATES)


@attrs.frozen
class ClipLimits:
    """The limits of one run, typed (built from ``ctx.options``)."""

    max_duration: float = DEFAULT_MAX_DURATION
    min_duration: float | None = None
    sample_rates: tuple[int, ...] | None = None

    @classmethod
    def of(cls, options: "OptionValues") -> "ClipLimits":
        return cls(
            max_duration=options.get(MAX_DURATION.name) or DEFAULT_MAX_DURATION,
            min_duration=options.get(MIN_DURATION.name),
            sample_rates=options.get(SAMPLE_RATES.name),
        )

    def check(self, facts: "AudioFacts") -> None:
        """Raise FileProblem for the first limit ``facts`` breaks; the message names the option, not its value."""
        if self.sample_rates is not None and facts.sample_rate not in self.sample_rates:
            raise FileProblem("sample_rate", f"the clip is sampled at {facts.sample_rate:,} Hz, a rate sample_rates does not list")
        if facts.duration > self.max_duration:
            raise FileProblem("max_duration", f"the clip lasts {facts.duration:.2f} s, longer than max_duration allows")
        if self.min_duration is not None and facts.duration < self.min_duration:
            raise FileProblem("min_duration", f"the clip lasts {facts.duration:.2f} s, shorter than min_duration allows")
