"""What the crate's own replay (``iter(stream, 0)``) will see of a stream, as verify and recover report it.

The crate reads a loss differently by where it lies (format/RECOVERY.md, "What a replay sees"):
inside a segment (a filler frame, damaged bytes, a frame cut out) its iterator fails with an
error at the first missing id; between segments it ends silently, as if the stream ended
there. An application replaying from its last checkpoint must be told both where the replay
stops and from which id it must resume, so the verifier collects these events per stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FAILS = "fails"  # the iterator returns an error at that id
STOPS_SILENTLY = "stops_silently"  # the iterator ends there without an error


@dataclass(frozen=True)
class ReplayEvent:
    at_id: int  # the first id the crate's iterator does not deliver
    how: str  # FAILS or STOPS_SILENTLY
    why: str
    resume_id: int | None  # the first id after it that holds data (iter_from there works); None: unknown

    def to_dict(self) -> dict:
        return {"at_id": self.at_id, "how": self.how, "why": self.why, "resume_id": self.resume_id}


@dataclass
class StreamReplay:
    """A stream's lost id ranges and where a replay from its first id stops or fails, in id order."""

    lost: list[tuple[int, int]] = field(default_factory=list)  # [first, end) ranges: lost.idx, fillers, gaps
    events: list[ReplayEvent] = field(default_factory=list)

    @property
    def first_stop(self) -> ReplayEvent | None:
        return self.events[0] if self.events else None

    def to_dict(self) -> dict:
        stop = self.first_stop
        return {"lost": [list(r) for r in self.lost], "stop": None if stop is None else stop.to_dict(),
                "events": [e.to_dict() for e in self.events]}

    def describe(self) -> str | None:
        """One line for people, None when a replay delivers every id."""
        stop = self.first_stop
        if stop is None and not self.lost:
            return None
        parts = []
        if stop is not None:
            verb = "fails" if stop.how == FAILS else "stops silently"
            resume = f"; resume with iter_from({stop.resume_id})" if stop.resume_id is not None else ""
            parts.append(f"crate replay {verb} at id {stop.at_id} ({stop.why}){resume}")
        if self.lost:
            parts.append("lost ids " + ", ".join(f"{a}..{b - 1}" for a, b in self.lost))
        return "; ".join(parts)
