"""Numerical rank: the one implementation every part of the book uses."""
from __future__ import annotations

import numpy as np

from ..validation import check_array, check_bool, check_real

__all__ = ["numerical_rank"]


def numerical_rank(Z: np.ndarray, rtol: float = 1e-6, *, spectrum: bool = False) -> int:
    r"""Number of singular values above ``rtol`` times the largest.

    Parameters
    ----------
    Z : numpy.ndarray
        A matrix (0-, 1- or 2-D; a vector counts as a :math:`1\times n` matrix), or, with
        ``spectrum=True``, its singular values (1-D, any order, e.g.
        :func:`bmlab.factorizations.udu.spectrum`).
    rtol : float
        Relative threshold, :math:`\ge 0`.
    spectrum : bool
        ``Z`` already holds the singular values. A spectrum with a NaN (a diverged run) or
        without a positive entry has rank 0.
    """
    check_bool("spectrum", spectrum)
    if spectrum:
        rtol = check_real("rtol", rtol, lo=0)
        s = np.asarray(Z, dtype=float)
        if s.ndim != 1:
            raise ValueError(f"a spectrum must be a 1-D array of singular values, got shape {s.shape}")
        top = s.max() if s.size else 0.0
        return int(np.sum(s > rtol * top)) if top > 0 else 0
    Z = check_array("Z", Z, ndim=(0, 1, 2), dtype=None)
    rtol = check_real("rtol", rtol, lo=0)
    s = np.linalg.svd(np.atleast_2d(Z), compute_uv=False)
    return int(np.sum(s > rtol * s[0])) if s.size and s[0] > 0 else 0
