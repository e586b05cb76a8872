"""Fault: an injected failure on a ``rate`` share of requests.

Before answering (a :class:`Refusal` of kind ``fault``, journal outcome ``error``):
``5xx`` answers HTTP ``status`` in the personality's error envelope; ``reset`` closes the
connection without a response; ``hang`` sends nothing for ``hang`` store seconds (a client
with a shorter timeout gives up first). On an otherwise good answer (a :class:`Mangle`):
``malformed`` makes the JSON invalid, ``truncated`` keeps only ``cut`` of the body (with an
honest Content-Length, or the full length promised and the connection closed early),
``slow-body`` dribbles the body over ``body`` store seconds.

A fault that fires before answering is decided after the quotas are charged: the carrier's
gateway counted the request, then its backend failed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import ClassVar

from mocks.behaviours.refusal import Mangle, Refusal
from peakbench.config.behaviours import FaultSpec

BEFORE = frozenset({"5xx", "reset", "hang"})
"""Fault kinds that replace the answer; the others spoil it on its way out."""


@dataclass(frozen=True, slots=True)
class Fault:
    """Fail ``rate`` (0–1) of the requests it sees with fault ``kind``.

    ``status``: HTTP status of a ``5xx`` (and the journal status of ``reset``/``hang``);
    ``hang``, ``body``: store seconds; ``cut``: share of the body kept (0–1); ``honest``: a
    truncated body's Content-Length matches what is sent (else the connection closes early).
    """

    phase: ClassVar[str] = "fault"

    kind: str
    rate: float = 1.0
    status: int = 503
    hang: float = 30.0
    body: float = 20.0
    cut: float = 0.5
    honest: bool = True
    refusal: Refusal | None = field(init=False, repr=False, compare=False)
    mangle: Mangle | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # built once: the hot path hands out the same immutable tuple every time
        kind = self.kind
        refusal = None
        if kind in BEFORE:
            form = "reply" if kind == "5xx" else kind
            hang_s = self.hang if kind == "hang" else 0.0
            refusal = Refusal("fault", self.status, f"fault:{kind}", 0, 0, form, hang_s)
        mangle = None
        if kind not in BEFORE:
            body_s = self.body if kind == "slow-body" else 0.0
            mangle = Mangle(kind, self.cut, body_s, self.honest)
        object.__setattr__(self, "refusal", refusal)
        object.__setattr__(self, "mangle", mangle)

    @classmethod
    def from_spec(cls, spec: FaultSpec) -> Fault:
        return cls(spec.kind, spec.rate, spec.status, spec.hang, spec.body, spec.cut, spec.honest)

    @property
    def before(self) -> bool:
        """Whether it replaces the answer (else it mangles the answer)."""
        return self.refusal is not None

    def fires(self, rng: random.Random) -> bool:
        """Whether this request faults (``rng``: the toxic's seeded generator)."""
        return self.rate >= 1.0 or rng.random() < self.rate
