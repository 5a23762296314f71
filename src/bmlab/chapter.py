"""What a chapter notebook uses to save figures and tables and to record claims.

A chapter starts with::

    from bmlab.chapter import Chapter
    ch = Chapter("exact-penalty/toy-tight-bound", profile=profile, seed=seed)

``ch.out_dir`` is where its files go. Under the runner this is a temporary folder that is
moved into ``data/results/<chapter>/`` only when the whole notebook succeeded; run by hand in
Jupyter it is ``data/results/<chapter>/`` directly.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from . import paths
from .claims import Check, Claim, Ledger, claim as make_claim, qualitative

PROFILES = ("quick", "paper")


def check_profile(profile: str) -> str:
    """Validate a profile name."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    return profile


def by_profile(profile: str, *, quick: Any, paper: Any) -> Any:
    """Pick the value of a knob for ``profile`` (``quick``: CI size, ``paper``: paper scale)."""
    return {"quick": quick, "paper": paper}[check_profile(profile)]


class Chapter:
    """Output folder, seeded generator and claims ledger of one chapter run.

    Parameters
    ----------
    name : str
        The chapter id, its path under ``book/`` without suffix.
    profile : {"quick", "paper"}
    seed : int
        Root seed; :meth:`rng` derives independent generators from it.
    """

    def __init__(self, name: str, *, profile: str, seed: int) -> None:
        self.name = name
        self.profile = check_profile(profile)
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        env = os.environ.get("BMLAB_OUTPUT_DIR")
        self.out_dir = Path(env) if env else paths.results_root() / name
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger(self.out_dir / "claims.json")
        self._rng_count = 0

    def rng(self, *keys: int) -> np.random.Generator:
        """A generator seeded from ``(seed, *keys)``; with no keys, a fresh stream each call."""
        if not keys:
            self._rng_count += 1
            keys = (10_000 + self._rng_count,)
        return np.random.default_rng([self.seed, *keys])

    def claim(self, id: str, statement: str, check: Check, *, kind: str, quote: str = "",
              expected: str = "holds", reason: str = "", exploratory: bool = False,
              protocol: str = "") -> Claim:
        """Record a claim built from ``check`` (see :func:`bmlab.claims.claim`)."""
        return self.add_claims([make_claim(id, statement, check, kind=kind, quote=quote,
                                           expected=expected, reason=reason,
                                           exploratory=exploratory, protocol=protocol)])[0]

    def add_claims(self, claims) -> list[Claim]:
        """Record claims made by an experiment module's ``claims(result)``; returns them."""
        out = []
        for c in claims:
            if not isinstance(c, Claim):
                raise TypeError(f"expected a Claim, got {type(c).__name__}")
            c.chapter, c.profile = self.name, self.profile
            out.append(self.ledger.add(c))
        return out

    def record(self, id: str, statement: str, *, paper: Any, ours: Any, holds: bool,
               tol: float | None = None, expected: str = "holds", reason: str = "") -> Claim:
        """LEGACY (being removed): a hand-written verdict. Use :meth:`claim`."""
        c = make_claim(id, statement, qualitative(bool(holds), ours=ours), kind="paper",
                       quote="(legacy claim, not yet converted)", expected=expected,
                       reason=reason)
        c.paper = paper
        return self.add_claims([c])[0]

    def record_timing(self, key: str, seconds: float) -> float:
        """Keep a wall time out of the result tables: it goes to ``timings.json`` in the
        output folder, which the runner moves into the manifest (so result files stay
        byte-identical across reruns)."""
        import json

        from .claims import atomic_write_text

        path = self.out_dir / "timings.json"
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        data[str(key)] = float(seconds)
        atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True))
        return float(seconds)

    def savefig(self, fig, name: str, *, glue_key: str | None = None, close: bool = True):
        """Save ``fig`` as ``<out_dir>/<name>.png`` and ``.pdf``; glue it under ``glue_key``
        (default ``name``) so the page shows it as a numbered ``{glue:figure}``; then close
        it (so it is not shown a second time at the end of the cell)."""
        fig.savefig(self.out_dir / f"{name}.png", dpi=150, bbox_inches="tight")
        # No creation date in the PDF: two identical runs give identical files.
        fig.savefig(self.out_dir / f"{name}.pdf", bbox_inches="tight",
                    metadata={"CreationDate": None, "ModDate": None})
        _glue(glue_key or name, fig, display=False)
        if close:
            import matplotlib.pyplot as plt

            plt.close(fig)
        return self.out_dir / f"{name}.png"

    def save_table(self, df, name: str, *, glue_key: str | None = None):
        """Save a pandas DataFrame as ``<out_dir>/<name>.csv`` and glue it."""
        df.to_csv(self.out_dir / f"{name}.csv", index=False)
        _glue(glue_key or name, df, display=False)
        return self.out_dir / f"{name}.csv"

    def glue(self, key: str, value: Any) -> Any:
        """Glue a number or string for ``{glue:text}`` in the prose; returns ``value``.

        numpy scalars are converted to Python numbers first: under numpy 2 their text form is
        ``np.float64(0.5)``, which ``{glue:text}`` cannot format."""
        if isinstance(value, np.generic):
            value = value.item()
        _glue(key, value, display=False)
        return value


def _glue(key: str, value: Any, display: bool = False) -> None:
    try:
        from myst_nb import glue
    except ImportError:  # pragma: no cover - myst_nb is a pinned dependency
        return
    glue(key, value, display=display)
