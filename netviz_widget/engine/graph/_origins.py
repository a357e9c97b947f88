"""Origins: which units of which unit layers a traced tensor carries along its axis 1.

A tensor's units are a sequence of segments, each a run of consecutive units of one layer
(one segment for most tensors; several after a concatenation; part of one after a split).
`group` > 1 means each unit spans `group` consecutive features (after a Flatten). `axis` is 1
for (batch, units, ...) tensors and -1 for token-wise (batch, positions, units) tensors.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    """Units [start, start + length) of unit layer `layer`."""

    layer: str
    start: int
    length: int


@dataclass(frozen=True)
class Origin:
    """The segments a tensor's axis 1 carries, in order, and the features per unit."""

    segments: tuple[Segment, ...]
    group: int = 1
    axis: int = 1

    def unit_dim(self, ndim: int) -> int:
        """The index of the unit axis in a tensor of `ndim` dimensions."""
        return 1 if self.axis == 1 else ndim - 1

    def on_axis(self, axis: int) -> Origin:
        """The same units on `axis` (1 or -1)."""
        return Origin(self.segments, self.group, axis)

    @classmethod
    def whole(cls, layer: str, n_units: int, axis: int = 1) -> Origin:
        """All units of `layer`."""
        return cls((Segment(layer, 0, n_units),), 1, axis)

    @property
    def n_units(self) -> int:
        """Number of units carried."""
        return sum(s.length for s in self.segments)

    @property
    def layers(self) -> list[str]:
        """The layers carried, in order of first appearance."""
        return list(dict.fromkeys(s.layer for s in self.segments))

    def whole_layer(self, n_units_of: dict[str, int]) -> str | None:
        """The layer name when this is exactly all units of one layer, else None."""
        if len(self.segments) != 1:
            return None
        (seg,) = self.segments
        return seg.layer if seg.start == 0 and seg.length == n_units_of[seg.layer] else None

    def ranges(self) -> dict[str, tuple[tuple[int, int, int], ...]]:
        """Per layer, the (offset in this tensor's units, first unit of the layer, length)
        runs it contributes."""
        out: dict[str, list[tuple[int, int, int]]] = {}
        offset = 0
        for seg in self.segments:
            out.setdefault(seg.layer, []).append((offset, seg.start, seg.length))
            offset += seg.length
        return {layer: tuple(runs) for layer, runs in out.items()}

    def sub(self, start: int, stop: int) -> Origin:
        """Units [start, stop) of this origin."""
        pieces, offset = [], 0
        for seg in self.segments:
            lo, hi = max(start, offset), min(stop, offset + seg.length)
            if lo < hi:
                pieces.append(Segment(seg.layer, seg.start + lo - offset, hi - lo))
            offset += seg.length
        return Origin(tuple(pieces), self.group, self.axis)


def concatenate(origins: list[Origin]) -> Origin | None:
    """The origin of a concatenation along axis 1 (None when the groups differ)."""
    if len({o.group for o in origins}) != 1 or len({o.axis for o in origins}) != 1:
        return None
    segments: list[Segment] = []
    for origin in origins:
        for seg in origin.segments:
            last = segments[-1] if segments else None
            if last is not None and last.layer == seg.layer and last.start + last.length == seg.start:
                segments[-1] = Segment(seg.layer, last.start, last.length + seg.length)
            else:
                segments.append(seg)
    return Origin(tuple(segments), origins[0].group, origins[0].axis)
