"""Write the bundled WAV samples: the template's clips and the tests' bad sample.

    python templates/make_samples.py

Only the standard library (``wave``, ``array``, ``struct``, ``math``, ``random``); the
output is the same on every run, so the committed files can be regenerated and
compared. Clips are 8 kHz mono 16-bit PCM and a few KB each.
"""

from __future__ import annotations

import array
import math
import random
import struct
import sys
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "audio_classification" / "audio"
BAD = HERE.parent / "tests" / "data" / "bad" / "audio"
RATE = 8_000


def pcm16(values: list[float]) -> bytes:
    """Samples in [-1, 1] as little-endian 16-bit PCM."""
    samples = array.array("h", (round(v * 32_767 * 0.8) for v in values))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def tone(frequency: float, seconds: float, rate: int = RATE) -> list[float]:
    n = round(seconds * rate)
    return [math.sin(2 * math.pi * frequency * i / rate) for i in range(n)]


def noise(seed: int, seconds: float, rate: int = RATE) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(-1.0, 1.0) for _ in range(round(seconds * rate))]


def write_wav(path: Path, frames: bytes, *, rate: int = RATE, channels: int = 1, width: int = 2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(width)
        out.setframerate(rate)
        out.writeframes(frames)


def template_sample() -> None:
    for i, (frequency, seconds) in enumerate([(440, 0.25), (523.25, 0.25), (659.25, 0.5), (783.99, 0.25)], start=1):
        write_wav(TEMPLATE / f"tone_{i:02d}.wav", pcm16(tone(frequency, seconds)))
    for i, seconds in enumerate([0.25, 0.5, 0.25, 0.25], start=1):
        write_wav(TEMPLATE / f"noise_{i:02d}.wav", pcm16(noise(i, seconds)))


def bad_sample() -> None:
    """One sound clip and one breaking each rule the bad sample's ingest.yaml sets up."""
    write_wav(BAD / "short_tone.wav", pcm16(tone(440, 0.25)))
    write_wav(BAD / "long_noise.wav", pcm16(noise(9, 1.5, rate=1_000)), rate=1_000)  # over max_duration: 1
    write_wav(BAD / "silence.wav", b"")  # no frames
    (BAD / "not_audio.wav").write_bytes(b"Zq7 plain text, not a RIFF/WAVE file\n")
    # a header that declares 2,000 frames followed by only 100 of them
    whole = BAD / "truncated.wav"
    write_wav(whole, pcm16(tone(440, 0.25)))
    header = struct.calcsize("<4sI4s4sIHHIIHH4sI")
    whole.write_bytes(whole.read_bytes()[: header + 200])


if __name__ == "__main__":
    template_sample()
    bad_sample()
