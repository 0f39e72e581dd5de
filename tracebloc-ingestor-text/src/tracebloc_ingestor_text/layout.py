"""How a stored text splits into parts: one plain text, or TAB-separated parts such as ``text_a<TAB>text_b``.

The training side reads a stored text and splits it on TAB, so a layout of several
parts is a rule on the whole text: the right number of parts (rule ``tab_parts``) and
none of them empty (rule ``empty_part``). A one-part layout treats a TAB as an ordinary
character.
"""

from __future__ import annotations

import attrs

TAB = "\t"


@attrs.frozen
class Layout:
    """The parts of a stored text, in order; ``minimum`` of them are required.

    ``optional_tail``: in the inline form a blank cell of a part past ``minimum`` (the
    negative of an embeddings triplet) leaves that part out instead of being refused.
    """

    names: tuple[str, ...]
    minimum: int = attrs.field()
    optional_tail: bool = False

    @minimum.default
    def _all_required(self) -> int:
        return len(self.names)

    @property
    def single(self) -> bool:
        return len(self.names) == 1

    @property
    def maximum(self) -> int:
        return len(self.names)

    def shape(self) -> str:
        """The layout in words: ``text_a<TAB>text_b``, ``anchor<TAB>positive[<TAB>negative]``."""
        required = "<TAB>".join(self.names[: self.minimum])
        optional = "".join(f"[<TAB>{name}" for name in self.names[self.minimum :]) + "]" * (self.maximum - self.minimum)
        if self.minimum == 1 and self.maximum > 1:
            return f"plain text without a TAB, or {'<TAB>'.join(self.names)}"
        return required + optional

    def kind(self, parts: int) -> str:
        """The name of a record of ``parts`` parts (statistics): ``text`` or ``text_a+text_b``."""
        return "text" if parts == 1 else "+".join(self.names[:parts])

    def split(self, text: str) -> tuple[list[str], tuple[str, str] | None]:
        """The parts of ``text`` and, when it breaks the layout, ``(rule, message)`` naming positions only."""
        if self.single:
            return [text], None
        parts = text.split(TAB)
        if not self.minimum <= len(parts) <= self.maximum:
            count = "one part (no TAB)" if len(parts) == 1 else f"{len(parts):,} TAB-separated parts"
            return parts, ("tab_parts", f"the text has {count}; it must be {self.shape()}")
        for position, part in enumerate(parts):
            if not part.strip():
                name = self.names[position]
                return parts, ("empty_part", f"part {position + 1} ({name}) is empty or white space")
        return parts, None


PLAIN = Layout(("text",))
