"""What makes a file a usable clip: a readable PCM WAV file holding at least one frame.

``read_wav`` reads the header with the standard library's ``wave`` module and one frame
at the end of the data (to catch a truncated file), never the whole clip. Problems
name the rule and facts such as a duration, never the content.
"""

from __future__ import annotations

import os
import wave
from pathlib import Path

import attrs

from tracebloc_ingestor.api import FileProblem

WAV_EXTENSION = ".wav"


@attrs.frozen
class AudioFacts:
    """What a clip's header says, and its size on disk in bytes."""

    size: int
    channels: int
    sample_width: int  # bytes per sample
    sample_rate: int  # frames per second
    frames: int

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return self.frames / self.sample_rate


def read_wav(path: Path) -> AudioFacts:
    """The facts of the WAV file at ``path``, or FileProblem naming the rule it breaks."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:] != b"WAVE":
            raise FileProblem("wav", "the file is not a WAV file (no RIFF/WAVE header)")
        fh.seek(0)
        try:
            with wave.open(fh, "rb") as clip:
                facts = AudioFacts(size, clip.getnchannels(), clip.getsampwidth(), clip.getframerate(), clip.getnframes())
                if facts.sample_rate <= 0:
                    raise FileProblem("wav", "the WAV header declares no sample rate")
                if facts.frames == 0:
                    raise FileProblem("empty_audio", "the file holds no audio frames")
                # the last frame the header declares must be there
                clip.setpos(facts.frames - 1)
                if len(clip.readframes(1)) < facts.channels * facts.sample_width:
                    raise FileProblem("wav", "the file is truncated: it holds fewer audio frames than its header declares")
        except (wave.Error, EOFError, RuntimeError):
            # wave reads uncompressed PCM only (and WAVE_FORMAT_EXTENSIBLE PCM from Python 3.12);
            # a chunk size pointing past the file raises RuntimeError
            raise FileProblem("wav", "the file is not a readable PCM WAV file (compressed, floating-point or damaged)") from None
    return facts
