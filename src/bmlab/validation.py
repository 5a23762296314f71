"""One small helper for validating the inputs of public functions (at the boundary, once).

Every check raises :class:`ValueError` (wrong value) or :class:`TypeError` (wrong type) with a
message that names the argument and the accepted range, and returns the validated value
(converted to ``float``/``int``/``float64`` array), so a function can write::

    eta = check_real("eta", eta, lo=0, lo_open=True)
    A = check_array("A", A, ndim=2, square=True)
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import numpy as np

__all__ = ["check_real", "check_int", "check_bool", "check_choice", "check_array",
           "check_symmetric", "check_psd", "check_same_shape", "check_callable",
           "check_array_in", "check_rng", "check_attrs"]


def _range_text(lo, hi, lo_open, hi_open) -> str:
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    a = "-inf" if lo is None else f"{lo:g}"
    b = "inf" if hi is None else f"{hi:g}"
    if lo is None and hi is None:
        return "a finite number"
    return f"a number in {left}{a}, {b}{right}"


def check_real(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False, allow_inf: bool = False) -> float:
    """A real number (not bool), finite unless ``allow_inf``, within ``[lo, hi]`` (ends
    excluded when ``lo_open``/``hi_open``). Returns it as ``float``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    rng = _range_text(lo, hi, lo_open, hi_open)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise ValueError(f"{name} must be {rng}, got {v!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ValueError(f"{name} must be {rng}, got {v!r}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise ValueError(f"{name} must be {rng}, got {v!r}")
    return v


def check_int(name: str, value: Any, *, lo: int | None = None, hi: int | None = None) -> int:
    """An integer (not bool; a float is refused) within ``[lo, hi]``. Returns ``int``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        a = "-inf" if lo is None else lo
        b = "inf" if hi is None else hi
        raise ValueError(f"{name} must be an integer in [{a}, {b}], got {v}")
    return v


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_array(name: str, value: Any, *, ndim: int | tuple[int, ...] | None = None,
                shape: tuple[int | None, ...] | None = None, square: bool = False,
                finite: bool = True, dtype: Any = np.float64, nonneg: bool = False,
                min_size: int = 1) -> np.ndarray:
    """An array of ``dtype`` (float64 by default; ``complex`` allowed with ``dtype=complex``)
    with the given ``ndim``/``shape`` (``None`` entries are free), finite entries, optionally
    square or non-negative. Returns a new (or the same, if already right) ndarray."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - ragged input
        raise TypeError(f"{name} must be array-like: {exc}") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    if dtype is not None:
        if np.dtype(dtype).kind == "f" and arr.dtype.kind == "c":
            raise TypeError(f"{name} must be real, got a complex array")
        arr = arr.astype(dtype, copy=False)
    if ndim is not None:
        ndims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in ndims:
            raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimension(s), "
                             f"got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a
                                         for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if square and (arr.ndim != 2 or arr.shape[0] != arr.shape[1]):
        raise ValueError(f"{name} must be a square matrix, got shape {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} entries, got shape {arr.shape}")
    if finite and arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must have finite entries (no NaN or inf)")
    if nonneg and np.any(arr < 0):
        raise ValueError(f"{name} must be entrywise non-negative")
    return arr


def check_symmetric(name: str, value: Any, *, rtol: float = 1e-10) -> np.ndarray:
    """A finite square float64 matrix equal to its transpose up to ``rtol`` (relative)."""
    M = check_array(name, value, square=True)
    scale = max(float(np.abs(M).max(initial=0.0)), 1.0)
    if np.abs(M - M.T).max(initial=0.0) > rtol * scale:
        raise ValueError(f"{name} must be symmetric (|M - Mᵀ| ≤ {rtol:g}·scale)")
    return M


def check_psd(name: str, value: Any, *, rtol: float = 1e-10) -> np.ndarray:
    """A symmetric positive semidefinite matrix (smallest eigenvalue ≥ −rtol·scale)."""
    M = check_symmetric(name, value, rtol=rtol)
    scale = max(float(np.abs(M).max(initial=0.0)), 1.0)
    lmin = float(np.linalg.eigvalsh((M + M.T) / 2)[0]) if M.size else 0.0
    if lmin < -rtol * scale * max(M.shape[0], 1):
        raise ValueError(f"{name} must be positive semidefinite, smallest eigenvalue {lmin:.3g}")
    return M


def check_same_shape(names: tuple[str, str], a: np.ndarray, b: np.ndarray) -> None:
    if np.shape(a) != np.shape(b):
        raise ValueError(f"{names[0]} and {names[1]} must have the same shape, got "
                         f"{np.shape(a)} and {np.shape(b)}")


def check_callable(name: str, value: Any) -> Any:
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value


def check_array_in(name: str, value: Any, *, lo: float | None = None, hi: float | None = None,
                   lo_open: bool = False, hi_open: bool = False, **array_kw) -> np.ndarray:
    """:func:`check_array` (``array_kw`` passed on) plus every entry within ``[lo, hi]`` (ends
    excluded when ``lo_open``/``hi_open``); for vectorised scalar arguments."""
    arr = check_array(name, value, **array_kw)
    bad = np.zeros(arr.shape, dtype=bool)
    if lo is not None:
        bad |= (arr <= lo) if lo_open else (arr < lo)
    if hi is not None:
        bad |= (arr >= hi) if hi_open else (arr > hi)
    if np.any(bad):
        first = float(arr[bad].ravel()[0])
        rng = _range_text(lo, hi, lo_open, hi_open or hi is None).replace("a number in ", "")
        raise ValueError(f"{name} must have every entry in {rng}, got {first!r}")
    return arr


def check_rng(name: str, value: Any, *, optional: bool = False) -> np.random.Generator | None:
    """A :class:`numpy.random.Generator` (``None`` too when ``optional``)."""
    if value is None and optional:
        return None
    if not isinstance(value, np.random.Generator):
        raise TypeError(f"{name} must be a numpy.random.Generator, got {type(value).__name__}")
    return value


def check_attrs(name: str, value: Any, attrs: Iterable[str]) -> Any:
    """An object providing every attribute/method in ``attrs`` (duck-typed problems)."""
    missing = [a for a in attrs if not hasattr(value, a)]
    if missing:
        raise TypeError(f"{name} must provide {', '.join(attrs)}; {type(value).__name__} "
                        f"lacks {', '.join(missing)}")
    return value
