"""The claims ledger (DESIGN §5).

Each chapter records what it checks of a paper with :meth:`bmlab.chapter.Chapter.record`.
A claim holds the paper's value, ours, the tolerance and whether it holds. A claim that
honestly does not reproduce is recorded with ``expected="fails"`` and a one-line reason;
it is then shown as *not reproduced* and the tests assert that it still fails, so any
change of outcome is noticed.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

EXPECTATIONS = ("holds", "fails")
CLAIMS_FILE = "claims.json"


def to_jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and tuples to plain JSON types (NaN/inf become strings)."""
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return value
    return value


@dataclass(repr=False)
class Claim:
    """One checked statement of a paper.

    Parameters
    ----------
    id : str
        Dotted identifier, unique within the book (``"toy41.only_ours_converges"``).
    statement : str
        The claim in words.
    paper : Any
        The paper's value, or ``"qualitative"``.
    ours : Any
        What our run gives.
    holds : bool
        Whether our run satisfies the claim (within ``tol``).
    tol : float or None
        The tolerance used, if the claim is numeric.
    expected : {"holds", "fails"}
        What we expect; ``"fails"`` marks a claim known not to reproduce.
    reason : str
        Required when ``expected == "fails"``: why it does not reproduce.
    chapter, profile : str
        Filled in by the chapter that records the claim.
    """

    id: str
    statement: str
    paper: Any
    ours: Any
    holds: bool
    tol: float | None = None
    expected: str = "holds"
    reason: str = ""
    chapter: str = ""
    profile: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("claim id must be a non-empty string")
        if self.expected not in EXPECTATIONS:
            raise ValueError(f"expected must be one of {EXPECTATIONS}, got {self.expected!r}")
        if self.expected == "fails" and not self.reason:
            raise ValueError(f"claim {self.id!r}: a claim expected to fail needs a reason")
        self.holds = bool(self.holds)
        self.paper = to_jsonable(self.paper)
        self.ours = to_jsonable(self.ours)
        if self.tol is not None:
            self.tol = float(self.tol)

    @property
    def as_expected(self) -> bool:
        """True when the outcome matches the expectation."""
        return self.holds == (self.expected == "holds")

    @property
    def verdict(self) -> str:
        """``reproduced``, ``not reproduced`` (expected), or ``UNEXPECTED ...``."""
        if self.as_expected:
            return "reproduced" if self.holds else "not reproduced"
        return "UNEXPECTED: holds" if self.holds else "UNEXPECTED: fails"

    def to_dict(self) -> dict:
        return asdict(self)

    def __repr__(self) -> str:
        tol = f", tol={self.tol:g}" if self.tol is not None else ""
        why = f" — {self.reason}" if self.reason else ""
        return (f"claim {self.id}: {self.verdict} (paper: {_short(self.paper)}; "
                f"ours: {_short(self.ours)}{tol}){why}")


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@dataclass
class Ledger:
    """The claims of one chapter run, kept in ``<results dir>/claims.json``."""

    path: Path
    claims: dict[str, Claim] = field(default_factory=dict)

    def add(self, claim: Claim) -> Claim:
        self.claims[claim.id] = claim
        _atomic_write_text(self.path, json.dumps(
            [c.to_dict() for c in self.claims.values()], indent=2, allow_nan=False))
        return claim

    @classmethod
    def load(cls, path: Path) -> "Ledger":
        path = Path(path)
        ledger = cls(path=path)
        if path.exists():
            for item in json.loads(path.read_text(encoding="utf-8")):
                claim = Claim(**item)
                ledger.claims[claim.id] = claim
        return ledger


def load_claims(results_root: Path) -> list[Claim]:
    """All claims recorded under ``results_root/<chapter>/claims.json``, sorted by chapter."""
    out: list[Claim] = []
    for path in sorted(Path(results_root).rglob(CLAIMS_FILE)):
        if any(part.startswith(".") for part in path.relative_to(results_root).parts):
            continue  # temporary folders of a run in progress
        out.extend(Ledger.load(path).claims.values())
    return out


def summarize(claims: Iterable[Claim]) -> dict[str, int]:
    """Counts of claims held, failed, and outcomes differing from their expectation."""
    claims = list(claims)
    return {
        "total": len(claims),
        "held": sum(c.holds for c in claims),
        "failed": sum(not c.holds for c in claims),
        "unexpected": sum(not c.as_expected for c in claims),
    }
