"""``audio_classification``: a manifest (``filename``, label) and the WAV clips it names."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from tracebloc_ingestor.api import EXTENSION, FILENAME, FileCategory, TableNameValidator

from .options import AUDIO, MAX_DURATION, MIN_DURATION, OPTIONS, ClipLimits
from .statistics import clip_statistics
from .wav import WAV_EXTENSION, AudioFacts, read_wav

if TYPE_CHECKING:  # pragma: no cover
    from tracebloc_ingestor.api import OptionValues, RunContext


class AudioClassification(FileCategory):
    """One row per manifest row; each referenced clip is checked once and stored once as it is.

    The core's ``FileCategory`` reads the manifest, guards the paths, inspects each clip
    in worker threads, stores it through ``ctx.files`` and counts its bytes into
    ``size_bytes``; this class adds the WAV rules, the options and the statistics.
    """

    category = "audio_classification"
    # The backend knows image, tabular and text only. "tabular" claims least: the
    # platform reads the rows (file name, label) and does not decode the stored files
    # as pictures or UTF-8 text, which a WAV file is not. See the README.
    data_format = "tabular"
    label_kind = "classification"
    summary = "PCM WAV clips under audio/ with a class label per clip (manifest: filename, label)."
    validators = (TableNameValidator(),)
    options = OPTIONS
    folder_option = AUDIO.name
    file_columns = (FILENAME, EXTENSION)
    extensions = (WAV_EXTENSION,)

    def check_options(self, options: "OptionValues") -> Iterable[tuple[str, str]]:
        limits = ClipLimits.of(options)
        if limits.min_duration is not None and limits.min_duration > limits.max_duration:
            yield MIN_DURATION.name, f"is above {MAX_DURATION.name}: no clip could pass"

    def inspect(self, ctx: "RunContext", path: Path) -> AudioFacts:
        facts = read_wav(path)
        ClipLimits.of(ctx.options).check(facts)
        return facts

    def file_statistics(self, ctx: "RunContext", described: list[tuple[str, AudioFacts]]) -> dict:
        return clip_statistics(facts for _rel, facts in described)
