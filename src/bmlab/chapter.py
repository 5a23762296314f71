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
from .claims import Check, Claim, Ledger, claim as make_claim

PROFILES = ("quick", "paper")


def check_profile(profile: str) -> str:
    """Validate a profile name."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    return profile


def chapter_rng(seed: int, *keys: int) -> np.random.Generator:
    """The generator :meth:`Chapter.rng` gives for root ``seed`` and ``keys`` (usable without a
    :class:`Chapter`, which creates an output folder)."""
    return np.random.default_rng([int(seed), *map(int, keys)])


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
        #: run by hand (JupyterLab, ``make lab``) rather than by the runner
        self.interactive = not env
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger(self.out_dir / "claims.json")
        self._rng_count = 0
        self._started = None
        if self.interactive:
            self._start_interactive()

    def rng(self, *keys: int) -> np.random.Generator:
        """A generator seeded from ``(seed, *keys)``; with no keys, a fresh stream each call."""
        if not keys:
            self._rng_count += 1
            keys = (10_000 + self._rng_count,)
        return chapter_rng(self.seed, *keys)

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
        self._update_manifest()
        return out

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
        self._update_manifest()
        if close:
            import matplotlib.pyplot as plt

            plt.close(fig)
        return self.out_dir / f"{name}.png"

    def save_table(self, df, name: str, *, glue_key: str | None = None, digits: int = 4):
        """Save a pandas DataFrame as ``<out_dir>/<name>.csv`` (full precision) and glue a
        display version under ``glue_key`` (default ``name``): no index column, numbers
        rounded to ``digits`` significant digits for reading, the table in a box that
        scrolls when it is wider than the page, and a link to the CSV beside it. Shown with
        a ``{glue:figure}`` block, the book numbers it as a table ("Table N.M")."""
        path = self.out_dir / f"{name}.csv"
        df.to_csv(path, index=False)
        _glue(glue_key or name, DisplayTable(df, csv=path.name, digits=digits), display=False)
        self._update_manifest()
        return path

    def glue(self, key: str, value: Any) -> Any:
        """Glue a number or string for ``{glue:text}`` in the prose; returns ``value``.

        numpy scalars are converted to Python numbers first: under numpy 2 their text form is
        ``np.float64(0.5)``, which ``{glue:text}`` cannot format."""
        if isinstance(value, np.generic):
            value = value.item()
        _glue(key, value, display=False)
        return value


    # ----------------------------------------------------------------- interactive runs
    def _start_interactive(self) -> None:
        """A run by hand writes into ``data/results/<chapter>/`` directly: the files of an
        earlier run there (its executed notebook, claims, figures) no longer describe this
        run, so they are removed, and a manifest with the runner's keys and
        ``"interactive": true`` is written (and kept up to date as the notebook saves)."""
        import time
        from datetime import datetime, timezone

        for stale in ("chapter.ipynb", "claims.json", "manifest.json", "timings.json"):
            (self.out_dir / stale).unlink(missing_ok=True)
        self.ledger = Ledger(self.out_dir / "claims.json")
        self._started = (datetime.now(timezone.utc).isoformat(timespec="seconds"),
                         time.perf_counter())
        self._update_manifest()

    def _update_manifest(self) -> None:
        if not self.interactive or self._started is None:
            return
        import json
        import time

        from .claims import atomic_write_text, summarize
        from .runner import git_commit, package_versions, source_hash

        if not hasattr(self, "_provenance"):
            self._provenance = {"source_hash": source_hash(), "git_commit": git_commit(),
                                "versions": package_versions()}
        title = self.name
        src = paths.book_dir() / f"{self.name}.md"
        if src.exists():
            title = next((line[2:].strip() for line in src.read_text(encoding="utf-8")
                          .splitlines() if line.startswith("# ")), self.name)
        manifest = {
            "chapter": self.name,
            "title": title,
            "parameters": {"profile": self.profile, "seed": self.seed},
            "cache_key": None,
            "source_hash": self._provenance["source_hash"],
            "started": self._started[0],
            "seconds": round(time.perf_counter() - self._started[1], 2),
            "git_commit": self._provenance["git_commit"],
            "versions": self._provenance["versions"],
            "claims": summarize(self.ledger.claims.values()),
            "interactive": True,
        }
        atomic_write_text(self.out_dir / "manifest.json",
                          json.dumps(manifest, indent=2, default=str))


def _fmt_number(x: Any, digits: int) -> str:
    """A number rounded for reading: integers as they are, others to ``digits`` significant
    digits (scientific notation outside [1e-3, 1e5)), without trailing zeros."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    x = float(x)
    if not np.isfinite(x):
        return "–" if np.isnan(x) else ("∞" if x > 0 else "−∞")
    if x == 0:
        return "0"
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    if 1e-3 <= abs(x) < 1e5:
        decimals = max(0, digits - 1 - int(np.floor(np.log10(abs(x)))))
        text = f"{x:.{decimals}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, exponent = f"{x:.{max(digits - 1, 0)}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{exponent}"


class DisplayTable:
    """What :meth:`Chapter.save_table` glues: a DataFrame shown for reading (no index,
    rounded numbers, scrolling box, link to the full-precision CSV)."""

    def __init__(self, df, *, csv: str, digits: int = 4) -> None:
        self.df, self.csv, self.digits = df, csv, digits

    def rounded(self):
        import pandas as pd

        out = self.df.copy()
        for col in out.columns:
            series = out[col]
            if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
                out[col] = [_fmt_number(v, self.digits) if v is not None else "–"
                            for v in series.tolist()]
        return out

    def _repr_html_(self) -> str:
        import html

        table = self.rounded().to_html(index=False, border=0, na_rep="–",
                                       classes=["bmlab-table"])
        return ('<div class="bmlab-table-scroll">' + table + "</div>"
                f'<p class="bmlab-table-csv">Full precision: <a class="bmlab-csv" '
                f'href="{html.escape(self.csv)}">{html.escape(self.csv)}</a></p>')

    def __repr__(self) -> str:
        return self.rounded().to_string(index=False)


def _glue(key: str, value: Any, display: bool = False) -> None:
    try:
        from myst_nb import glue
    except ImportError:  # pragma: no cover - myst_nb is a pinned dependency
        return
    glue(key, value, display=display)
