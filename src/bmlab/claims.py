"""The claims ledger (DESIGN §5).

A claim is a falsifiable, pre-registered test of one statement. It is built from a
:class:`Check` -- a relation between what our run gives and a target, that computes its own
verdict and *margin* (the signed distance to flipping the verdict, relative to the tolerance or
scale of the relation: positive when the claim holds, negative when it fails) -- and labelled
with its kind:

``paper``
    a statement of the paper (its wording, equation or figure is quoted in ``quote``);
``extension``
    our own finding beyond the paper;
``check``
    an identity or software self-check (shown apart, never counted as a reproduction).

The constructors :func:`close`, :func:`at_most`, :func:`at_least`, :func:`between`,
:func:`fraction`, :func:`compare`, :func:`monotone`, :func:`qualitative` and :func:`all_of`
make the checks; :func:`claim` turns a check into a :class:`Claim`::

    claim("toy41.ratio", "the empirical threshold equals bound (11)",
          close(threshold / bound, 1.0, tol=1e-3), kind="paper",
          quote="Example 4.1: the bound of Theorem 1 is tight")

A claim known not to reproduce is recorded with ``expected="fails"`` and a reason; the tests
assert that it still fails, so any change of outcome is noticed. A claim whose relation or
tolerance was changed after a run had been seen is ``exploratory``: it is shown, never counted
as reproduced. A claim is *fragile* when its numeric margin is below :data:`MIN_MARGIN` (its
verdict is decided by rounding) or when it is decided by fewer samples than it states it needs;
the test suite fails on any fragile claim.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

KINDS = ("paper", "extension", "check")
EXPECTATIONS = ("holds", "fails")
CLAIMS_FILE = "claims.json"
MIN_MARGIN = 1e-6
"""A verdict whose relative margin is smaller than this is decided by rounding (fragile)."""


class LedgerError(ValueError):
    """A ``claims.json`` that is missing, unreadable or does not match the claim schema."""


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


# ----------------------------------------------------------------------------- checks
@dataclass(frozen=True)
class Check:
    """A relation between our value and a target, with its verdict and margin.

    Attributes
    ----------
    relation : str
        The relation in words/symbols, e.g. ``"|ours − paper| ≤ tol"``.
    ours, target : Any
        What our run gives and what it is compared against (the paper's value, a bound).
    threshold : float or None
        The tolerance, bound or level that decides the verdict.
    holds : bool
    margin : float or None
        Signed distance to flipping the verdict, relative to ``threshold`` (or the relation's
        scale): > 0 holds, < 0 fails. ``None`` only for categorical outcomes.
    samples : int or None
        Number of independent samples (seeds, instances) that decide the verdict.
    min_samples : int or None
        The number of samples the claim states it needs; fewer makes it fragile.
    """

    relation: str
    ours: Any
    target: Any
    threshold: float | None
    holds: bool
    margin: float | None
    samples: int | None = None
    min_samples: int | None = None


def _worst(values, pick) -> float:
    arr = np.asarray(values, dtype=float).ravel()
    if arr.size == 0:
        raise ValueError("a check needs at least one value")
    if not np.all(np.isfinite(arr)):
        return float("nan")
    return float(pick(arr))


def _clip(m: float) -> float:
    if math.isnan(m):
        return -1.0
    return float(max(-1e12, min(1e12, m)))


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return value


def close(ours, target, tol: float, *, relative: bool = False) -> Check:
    """``|ours − target| ≤ tol`` (the largest deviation for arrays; divided by ``|target|``
    when ``relative``). Margin ``(tol − deviation)/tol``; a non-finite ``ours`` fails."""
    tol = _positive("tol", tol)
    o = np.asarray(ours, dtype=float)
    t = np.asarray(target, dtype=float)
    dev_arr = np.abs(o - t)
    if relative:
        dev_arr = dev_arr / np.maximum(np.abs(t), np.finfo(float).tiny)
    dev = _worst(dev_arr, np.max)
    holds = bool(dev <= tol) if math.isfinite(dev) else False
    rel = "|ours − paper|/|paper| ≤ tol" if relative else "|ours − paper| ≤ tol"
    return Check(rel, ours, target, tol, holds, _clip((tol - dev) / tol))


def _scale(scale, *values) -> float:
    if scale is not None:
        return _positive("scale", scale)
    s = max((abs(float(v)) for v in values if math.isfinite(float(v))), default=0.0)
    return s if s > 0 else 1.0


def at_most(ours, bound: float, *, scale: float | None = None) -> Check:
    """``ours ≤ bound`` (the largest value for arrays). Margin ``(bound − ours)/scale`` with
    ``scale`` defaulting to ``max(|bound|, |ours|)``."""
    x = _worst(ours, np.max)
    bound = float(bound)
    holds = bool(x <= bound) if math.isfinite(x) else False
    return Check("ours ≤ bound", ours, bound, bound, holds,
                 _clip((bound - x) / _scale(scale, bound, x)) if math.isfinite(x) else -1.0)


def at_least(ours, bound: float, *, scale: float | None = None) -> Check:
    """``ours ≥ bound`` (the smallest value for arrays). Margin ``(ours − bound)/scale``."""
    x = _worst(ours, np.min)
    bound = float(bound)
    holds = bool(x >= bound) if math.isfinite(x) else False
    return Check("ours ≥ bound", ours, bound, bound, holds,
                 _clip((x - bound) / _scale(scale, bound, x)) if math.isfinite(x) else -1.0)


def between(ours, lo: float, hi: float) -> Check:
    """``lo ≤ ours ≤ hi`` (every value for arrays). Margin: distance to the nearer end
    relative to half the width of the band."""
    lo, hi = float(lo), float(hi)
    if not hi > lo:
        raise ValueError(f"between needs lo < hi, got {lo!r}, {hi!r}")
    xmin, xmax = _worst(ours, np.min), _worst(ours, np.max)
    if not (math.isfinite(xmin) and math.isfinite(xmax)):
        return Check("lo ≤ ours ≤ hi", ours, [lo, hi], None, False, -1.0)
    half = (hi - lo) / 2
    m = min(xmin - lo, hi - xmax) / half
    return Check("lo ≤ ours ≤ hi", ours, [lo, hi], None, bool(xmin >= lo and xmax <= hi),
                 _clip(m))


def fraction(successes: int, n: int, *, at_least: float, min_samples: int = 1) -> Check:
    """``successes / n ≥ at_least`` over ``n`` independent samples. Margin: the number of
    samples that would have to change to flip the verdict, divided by ``n``."""
    successes, n = int(successes), int(n)
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"fraction needs 0 ≤ successes ≤ n and n ≥ 1, got {successes}/{n}")
    if not 0 <= at_least <= 1:
        raise ValueError(f"at_least must lie in [0, 1], got {at_least!r}")
    needed = math.ceil(at_least * n - 1e-12)
    holds = successes >= needed
    flips = (successes - needed + 1) if holds else -(needed - successes)
    return Check("successes / n ≥ level", f"{successes}/{n}", at_least, float(at_least),
                 bool(holds), flips / n, samples=n, min_samples=min_samples)


def _binom_tail(k: int, n: int) -> float:
    """P(X ≥ k) for X ~ Binomial(n, 1/2)."""
    return float(sum(math.comb(n, j) for j in range(k, n + 1)) / 2 ** n)


def compare(ours, other, *, better: str = "lower", alpha: float = 0.05,
            min_samples: int = 6, rtol: float = 1e-9) -> Check:
    """Paired one-sided sign test over seeds/instances: ``ours`` is better than ``other``
    (``better="lower"`` or ``"higher"``) at level ``alpha``. Pairs equal to within ``rtol``
    are ties and dropped; ``samples`` counts the untied pairs.

    The margin counts samples, like :func:`fraction`: the number of pairs whose outcome would
    have to flip to change the verdict, divided by the number of pairs (so with 6 of 6 wins at
    ``alpha=0.05`` one flip decides, margin 1/6; a failing test needs ``-j/n`` more wins, or
    ``-(n+1)/n`` when no number of wins could reach ``alpha``)."""
    a = np.asarray(ours, dtype=float).ravel()
    b = np.asarray(other, dtype=float).ravel()
    if a.shape != b.shape or a.size == 0:
        raise ValueError("compare needs two paired, non-empty samples of the same length")
    if better not in ("lower", "higher"):
        raise ValueError(f"better must be 'lower' or 'higher', got {better!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    diff = (b - a) if better == "lower" else (a - b)
    tie = np.abs(diff) <= rtol * np.maximum(np.abs(a), np.abs(b))
    n = int(np.sum(~tie & np.isfinite(diff)))
    k = int(np.sum((diff > 0) & ~tie & np.isfinite(diff)))
    p = _binom_tail(k, n) if n else 1.0
    holds = bool(n > 0 and p <= alpha)
    if holds:
        flips = next(j for j in range(1, k + 1) if _binom_tail(k - j, n) > alpha)
        margin = flips / n
    else:
        need = next((j for j in range(1, n - k + 1) if _binom_tail(k + j, n) <= alpha), None)
        margin = -(need if need is not None else n + 1) / max(n, 1)
    return Check(f"sign test: ours {better} than other in {k}/{n} pairs, p={p:.3g} ≤ α",
                 [float(np.median(a)), float(np.median(b))], f"p={p:.3g}", float(alpha),
                 holds, margin, samples=n, min_samples=min_samples)


def monotone(values, *, increasing: bool = True) -> Check:
    """Every step of ``values`` moves strictly in one direction. Margin: the smallest step in
    that direction relative to the largest ``|value|`` (a step of rounding size is fragile)."""
    v = np.asarray(values, dtype=float).ravel()
    if v.size < 2:
        raise ValueError("monotone needs at least two values")
    if not np.all(np.isfinite(v)):
        return Check("strictly monotone", v, "qualitative", None, False, -1.0)
    steps = np.diff(v) if increasing else -np.diff(v)
    m = float(steps.min() / max(np.abs(v).max(), np.finfo(float).tiny))
    return Check("strictly increasing" if increasing else "strictly decreasing", v,
                 "qualitative", None, bool(m > 0), _clip(m))


def qualitative(holds: bool, *, ours: Any = None, margin: float | None = None,
                samples: int | None = None, min_samples: int | None = None,
                relation: str = "qualitative") -> Check:
    """A yes/no outcome. Give ``margin`` when a number decides it; ``margin=None`` marks a
    categorical outcome (a run converged, a status), never decided by rounding."""
    if margin is not None:
        margin = _clip(float(margin))
        if (margin > 0 and not holds) or (margin < 0 and holds):
            raise ValueError("the sign of margin must agree with holds")
    return Check(relation, ours, "qualitative", None, bool(holds), margin, samples, min_samples)


def all_of(*checks: Check, relation: str | None = None) -> Check:
    """Every check holds. Margin and samples: the smallest over the parts."""
    if not checks:
        raise ValueError("all_of needs at least one check")
    margins = [c.margin for c in checks if c.margin is not None]
    samples = [c.samples for c in checks if c.samples is not None]
    mins = [c.min_samples for c in checks if c.min_samples is not None]
    return Check(relation or " and ".join(c.relation for c in checks),
                 [c.ours for c in checks], [c.target for c in checks], None,
                 all(c.holds for c in checks), min(margins) if margins else None,
                 min(samples) if samples else None, max(mins) if mins else None)


# ----------------------------------------------------------------------------- claims
@dataclass(repr=False)
class Claim:
    """One checked statement, as stored in ``claims.json``.

    Build it with :func:`claim`; its verdict and margin come from a :class:`Check`.
    ``paper`` is the target the check compared against (the paper's value, a bound, or
    ``"qualitative"``); ``quote`` the paper's own wording (required for ``kind="paper"``).
    """

    id: str
    statement: str
    kind: str
    relation: str
    paper: Any
    ours: Any
    threshold: float | None
    holds: bool
    margin: float | None
    samples: int | None = None
    min_samples: int | None = None
    quote: str = ""
    expected: str = "holds"
    reason: str = ""
    exploratory: bool = False
    protocol: str = ""
    chapter: str = ""
    profile: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError("claim id must be a non-empty string")
        if not isinstance(self.statement, str) or not self.statement:
            raise ValueError(f"claim {self.id!r}: statement must be a non-empty string")
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id!r}: kind must be one of {KINDS}, got {self.kind!r}")
        if self.expected not in EXPECTATIONS:
            raise ValueError(f"claim {self.id!r}: expected must be one of {EXPECTATIONS}, "
                             f"got {self.expected!r}")
        if self.expected == "fails" and not self.reason:
            raise ValueError(f"claim {self.id!r}: a claim expected to fail needs a reason")
        if self.exploratory and not self.reason:
            raise ValueError(f"claim {self.id!r}: an exploratory claim needs a reason (what "
                             "changed after the run was seen)")
        if self.kind == "paper" and not self.quote:
            raise ValueError(f"claim {self.id!r}: a paper claim quotes the paper (quote=...)")
        if not isinstance(self.holds, (bool, np.bool_)):
            raise ValueError(f"claim {self.id!r}: holds must be a boolean, got {self.holds!r}")
        self.holds = bool(self.holds)
        if self.margin is not None:
            if isinstance(self.margin, bool) or not isinstance(self.margin, (int, float,
                                                                              np.floating)):
                raise ValueError(f"claim {self.id!r}: margin must be a number or None")
            self.margin = float(self.margin)
            if not math.isfinite(self.margin):
                raise ValueError(f"claim {self.id!r}: margin must be finite")
            if (self.margin > 0 and not self.holds) or (self.margin < 0 and self.holds):
                raise ValueError(f"claim {self.id!r}: margin {self.margin:g} disagrees with "
                                 f"holds={self.holds}")
        for name in ("samples", "min_samples"):
            v = getattr(self, name)
            if v is not None:
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                    raise ValueError(f"claim {self.id!r}: {name} must be a non-negative int")
                setattr(self, name, int(v))
        if self.threshold is not None:
            if isinstance(self.threshold, (bool, str)):
                raise ValueError(f"claim {self.id!r}: threshold must be a number or None")
            self.threshold = float(self.threshold)
        for name in ("relation", "quote", "reason", "protocol", "chapter", "profile"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"claim {self.id!r}: {name} must be a string")
        if not isinstance(self.exploratory, (bool, np.bool_)):
            raise ValueError(f"claim {self.id!r}: exploratory must be a boolean")
        self.exploratory = bool(self.exploratory)
        self.paper = to_jsonable(self.paper)
        self.ours = to_jsonable(self.ours)

    @property
    def as_expected(self) -> bool:
        """True when the outcome matches the expectation."""
        return self.holds == (self.expected == "holds")

    @property
    def fragile(self) -> bool:
        """Decided by rounding (``|margin| < MIN_MARGIN``) or by fewer samples than stated."""
        if self.margin is not None and abs(self.margin) < MIN_MARGIN:
            return True
        return (self.samples is not None and self.min_samples is not None
                and self.samples < self.min_samples)

    @property
    def verdict(self) -> str:
        """``reproduced``/``not reproduced`` (paper claims), ``holds``/``fails`` (extensions
        and checks), ``exploratory: …``, or ``UNEXPECTED: …``."""
        if not self.as_expected:
            return "UNEXPECTED: holds" if self.holds else "UNEXPECTED: fails"
        if self.exploratory:
            return "exploratory: " + ("holds" if self.holds else "fails")
        if self.kind == "paper":
            return "reproduced" if self.holds else "not reproduced"
        return "holds" if self.holds else "fails"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, item: Any) -> "Claim":
        """Validate one stored claim against the schema; raise :class:`LedgerError`."""
        if not isinstance(item, dict):
            raise LedgerError(f"a claim must be an object, got {type(item).__name__}")
        names = {f.name for f in fields(cls)}
        required = {f.name for f in fields(cls)
                    if f.default is MISSING and f.default_factory is MISSING}
        missing = sorted(required - set(item))
        unknown = sorted(set(item) - names)
        if missing or unknown:
            raise LedgerError(f"claim {item.get('id', '?')!r}: "
                              + (f"missing {missing} " if missing else "")
                              + (f"unknown {unknown}" if unknown else ""))
        try:
            return cls(**item)
        except (TypeError, ValueError) as exc:
            raise LedgerError(str(exc)) from None

    def __repr__(self) -> str:
        m = f", margin={self.margin:.3g}" if self.margin is not None else ""
        why = f" — {self.reason}" if self.reason else ""
        return (f"claim {self.id} [{self.kind}]: {self.verdict} (paper: {_short(self.paper)}; "
                f"ours: {_short(self.ours)}; {self.relation}{m}){why}")


def claim(id: str, statement: str, check: Check, *, kind: str, quote: str = "",
          expected: str = "holds", reason: str = "", exploratory: bool = False,
          protocol: str = "") -> Claim:
    """Make a :class:`Claim` from a :class:`Check` (its verdict and margin are the check's).

    Parameters
    ----------
    kind : {"paper", "extension", "check"}
    quote : str
        The paper's wording, equation or figure (required for ``kind="paper"``).
    expected : {"holds", "fails"}
        Fixed before the run; ``"fails"`` (with ``reason``) for a known non-reproduction.
    exploratory : bool
        The relation or tolerance was set after seeing a run (``reason`` says what changed).
    protocol : str
        Which protocol produced the outcome, where a chapter runs several.
    """
    if not isinstance(check, Check):
        raise TypeError(f"claim {id!r}: check must be a Check (close, at_most, ...), "
                        f"got {type(check).__name__}")
    return Claim(id=id, statement=statement, kind=kind, relation=check.relation,
                 paper=check.target, ours=check.ours, threshold=check.threshold,
                 holds=check.holds, margin=check.margin, samples=check.samples,
                 min_samples=check.min_samples, quote=quote, expected=expected,
                 reason=reason, exploratory=exploratory, protocol=protocol)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and one rename (mode 0644)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


_atomic_write_text = atomic_write_text  # backwards-compatible private name


@dataclass
class Ledger:
    """The claims of one chapter run, kept in ``<results dir>/claims.json``."""

    path: Path
    claims: dict[str, Claim] = field(default_factory=dict)

    def add(self, claim: Claim) -> Claim:
        if claim.id in self.claims:
            raise ValueError(f"claim {claim.id!r} recorded twice in one run")
        self.claims[claim.id] = claim
        atomic_write_text(self.path, json.dumps(
            [c.to_dict() for c in self.claims.values()], indent=2, allow_nan=False))
        return claim

    @classmethod
    def load(cls, path: Path) -> "Ledger":
        """Read and validate ``claims.json``; raise :class:`LedgerError` when it is missing,
        not JSON, not a non-empty list of valid claims, or has duplicate ids."""
        path = Path(path)
        ledger = cls(path=path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise LedgerError(f"{path}: missing") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerError(f"{path}: unreadable ({exc})") from None
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LedgerError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(items, list) or not items:
            raise LedgerError(f"{path}: must be a non-empty list of claims")
        for item in items:
            try:
                c = Claim.from_dict(item)
            except LedgerError as exc:
                raise LedgerError(f"{path}: {exc}") from None
            if c.id in ledger.claims:
                raise LedgerError(f"{path}: claim {c.id!r} appears twice")
            ledger.claims[c.id] = c
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
    """Counts for the ledger headline.

    ``reproduced`` / ``not_reproduced`` / ``unexpected`` count ``paper`` claims that are not
    exploratory; ``extensions`` and ``checks`` are counted apart; ``exploratory`` and
    ``fragile`` over all claims; ``total``/``held``/``failed`` over all claims."""
    claims = list(claims)
    paper = [c for c in claims if c.kind == "paper" and not c.exploratory]
    return {
        "total": len(claims),
        "held": sum(c.holds for c in claims),
        "failed": sum(not c.holds for c in claims),
        "unexpected": sum(not c.as_expected for c in claims),
        "paper": len(paper),
        "reproduced": sum(c.as_expected and c.holds for c in paper),
        "not_reproduced": sum(c.as_expected and not c.holds for c in paper),
        "paper_unexpected": sum(not c.as_expected for c in paper),
        "extensions": sum(c.kind == "extension" for c in claims),
        "checks": sum(c.kind == "check" for c in claims),
        "exploratory": sum(c.exploratory for c in claims),
        "fragile": sum(c.fragile for c in claims),
    }


def outcome_key(claims: Sequence[Claim]) -> dict[str, bool]:
    """``{"chapter:id": holds}`` -- what a second run under other numerics must reproduce."""
    return {f"{c.chapter}:{c.id}": c.holds for c in claims}
