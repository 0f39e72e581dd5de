"""Reading a clip and checking it against the limits, without a run."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import pytest

from tracebloc_ingestor.api import FileProblem, OptionValues
from tracebloc_ingestor_audio import AudioClassification, AudioFacts, ClipLimits, read_wav

SECRET = b"Zq7-secret-marker"


def problem(path):
    with pytest.raises(FileProblem) as caught:
        read_wav(path)
    assert SECRET.decode() not in caught.value.message
    return caught.value.rule, caught.value.message


def test_a_sample_clip_gives_its_facts(kit):
    facts = read_wav(kit.template / "audio" / "tone_03.wav")
    assert facts == AudioFacts(size=8044, channels=1, sample_width=2, sample_rate=8_000, frames=4_000)
    assert facts.duration == 0.5


def test_stereo_and_8_bit_clips_are_read(tmp_path, kit):
    stereo = read_wav(kit.clip(tmp_path / "stereo.wav", 0.5, rate=16_000, channels=2))
    assert (stereo.channels, stereo.sample_width, stereo.sample_rate, stereo.frames) == (2, 2, 16_000, 8_000)
    kit.samples.write_wav(tmp_path / "u8.wav", bytes([128]) * 100, rate=1_000, width=1)
    assert read_wav(tmp_path / "u8.wav") == AudioFacts(size=144, channels=1, sample_width=1, sample_rate=1_000, frames=100)


def float_wav(path):
    """A valid IEEE-float WAV (format 3), which the wave module does not read."""
    data = struct.pack("<4f", 0.0, 0.5, -0.5, 0.0)
    fmt = struct.pack("<HHIIHH", 3, 1, 8_000, 32_000, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.mark.parametrize(
    ("make", "rule", "words"),
    [
        (lambda p: p.write_bytes(SECRET + b" plain text\n"), "wav", "no RIFF/WAVE header"),
        (lambda p: p.write_bytes(b""), "wav", "no RIFF/WAVE header"),
        (lambda p: p.write_bytes(b"RIFF\x10\x00\x00\x00AVI " + SECRET), "wav", "no RIFF/WAVE header"),
        (lambda p: p.write_bytes(b"RIFF\x20\x00\x00\x00WAVE" + SECRET), "wav", "not a readable PCM WAV file"),
        (float_wav, "wav", "not a readable PCM WAV file"),
    ],
    ids=["text", "empty file", "not WAVE", "no chunks", "float"],
)
def test_files_that_are_no_pcm_wav_break_rule_wav(tmp_path, make, rule, words):
    path = tmp_path / "clip.wav"
    make(path)
    got_rule, message = problem(path)
    assert got_rule == rule and words in message


def test_the_bad_sample_breaks_its_rules(kit):
    assert problem(kit.bad / "audio" / "truncated.wav") == (
        "wav", "the file is truncated: it holds fewer audio frames than its header declares")
    assert problem(kit.bad / "audio" / "silence.wav") == ("empty_audio", "the file holds no audio frames")


FACTS = AudioFacts(size=4_044, channels=1, sample_width=2, sample_rate=8_000, frames=2_000)  # 0.25 s


@pytest.mark.parametrize(
    ("limits", "rule"),
    [
        (ClipLimits(max_duration=0.2), "max_duration"),
        (ClipLimits(min_duration=0.3), "min_duration"),
        (ClipLimits(sample_rates=(16_000, 44_100)), "sample_rate"),
        (ClipLimits(max_duration=0.25, min_duration=0.25, sample_rates=(8_000,)), None),  # bounds are inclusive
        (ClipLimits(), None),
    ],
)
def test_limits(limits, rule):
    if rule is None:
        limits.check(FACTS)
        return
    with pytest.raises(FileProblem) as caught:
        limits.check(FACTS)
    assert caught.value.rule == rule
    assert rule.split("_")[0] in caught.value.message  # names the option, not its value


def test_inspect_reads_the_run_options(kit):
    category = AudioClassification()
    clip = kit.template / "audio" / "noise_02.wav"  # 0.5 s
    ctx = SimpleNamespace(options=OptionValues({"max_duration": 600.0}))
    assert category.inspect(ctx, clip).duration == 0.5
    strict = SimpleNamespace(options=OptionValues({"max_duration": 0.4}))
    with pytest.raises(FileProblem, match="longer than max_duration allows"):
        category.inspect(strict, clip)
