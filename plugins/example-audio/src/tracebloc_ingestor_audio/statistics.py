"""Aggregate statistics of the stored clips: counts, duration, rates, channels. Nothing names a file."""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from tracebloc_ingestor.api import Numeric, Tally, Total

from .wav import AudioFacts

# Duration buckets in seconds (upper bounds); the registration gets counts per bucket.
DURATION_BUCKETS = ((1.0, "<1s"), (5.0, "1-5s"), (30.0, "5-30s"), (120.0, "30s-2min"), (600.0, "2-10min"))
LONGEST = ">=10min"


def clip_statistics(clips: Iterable[AudioFacts]) -> dict:
    """Mergeable statistics of clips described for the first time."""
    clips = list(clips)
    durations = [c.duration for c in clips]
    return {
        "audio_clips": Total(len(clips)),
        "audio_duration_seconds": Numeric(
            count=len(durations),
            minimum=min(durations, default=None),
            maximum=max(durations, default=None),
            total=sum(durations),
            total_sq=sum(d * d for d in durations),
        ),
        "audio_sample_rates": Tally(Counter(str(c.sample_rate) for c in clips)),
        "audio_channels": Tally(Counter(str(c.channels) for c in clips)),
        "audio_bits_per_sample": Tally(Counter(str(8 * c.sample_width) for c in clips)),
        "audio_duration_buckets": Tally(Counter(_bucket(d) for d in durations)),
    }


def _bucket(seconds: float) -> str:
    return next((name for limit, name in DURATION_BUCKETS if seconds < limit), LONGEST)
