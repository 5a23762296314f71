r"""Phase retrieval as PSD matrix sensing (paper 001, §2.2.2 and A.2; spec 001 §3).

Quadratic measurements :math:`y_i = |\langle a_i, x\rangle|^2 = \langle a_ia_i^{\mathsf H}, X\rangle`
of :math:`X = xx^{\mathsf H}` (PhaseLift lifting, Candès et al. 2013), with
:math:`f(X) = \tfrac12\|\mathcal A(X) - y\|^2` and gradient
:math:`G = \sum_i r_i a_ia_i^{\mathsf H}`, :math:`r_i = a_i^{\mathsf H}Xa_i - y_i` (DERIVED).

Two operators implement the measurement protocol of :mod:`bmlab.factorizations.udu`
(``b``, ``forward_factored``, ``sym_adjoint_apply``):

* :class:`GaussianPR` — real Gaussian sensing vectors, the synthetic test bed of A.2.1
  (FOUND-code ``ImageRecovery.m``: :math:`A\in\mathbb R^{n\times m}` Gaussian with unit-norm
  rows, :math:`m = \lceil 2n\rceil`, :math:`x` the image scaled to :math:`[-1, 1]` and normalised);
* :class:`FourierPtychography` — a simulated Fourier-ptychography system (complex object,
  circular pupil, tilted plane-wave illuminations shifting the spectrum, intensity images).
  The real blood-cell data of §2.2.2 cannot be downloaded here; :func:`load_fp_dataset`
  documents the format of a real data set.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import paths
from ..validation import check_array, check_bool, check_int, check_real, check_rng
from .base import MeasurementProblem

__all__ = ["GaussianPR", "FourierPtychography", "load_image", "image_signal", "recover_signal",
           "signal_error", "fp_object", "load_fp_dataset", "IMAGE_FILE"]

IMAGE_FILE = "implicit-bias/mushroom16.csv"


def load_image(path: str | Path | None = None) -> np.ndarray:
    """The 16×16 grey image shipped in ``data/inputs/implicit-bias/`` (values 0–255; see the
    README there)."""
    path = Path(path) if path is not None else paths.inputs_dir() / IMAGE_FILE
    img = np.loadtxt(path, delimiter=",")
    if img.ndim != 2:
        raise ValueError(f"{path} must hold a 2-D array")
    return img


def image_signal(img: np.ndarray, factor: int = 1) -> np.ndarray:
    r"""Signal of A.2.1: the image (optionally averaged down by ``factor``) scaled to
    :math:`[-1, 1]`, vectorised column-major (as MATLAB's ``(:)``), normalised to
    :math:`\|x\|_2 = 1` (FOUND-code)."""
    img = check_array("img", img, ndim=2)
    factor = check_int("factor", factor, lo=1, hi=min(img.shape))
    if factor > 1:
        h, w = img.shape
        img = img[: h // factor * factor, : w // factor * factor]
        img = img.reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))
    lo, hi = img.min(), img.max()
    z = 2 * (img - lo) / (hi - lo) - 1 if hi > lo else np.zeros_like(img)
    x = z.ravel(order="F")
    return x / np.linalg.norm(x)


def recover_signal(U: np.ndarray, d: np.ndarray | None = None, x_true: np.ndarray | None = None):
    r"""Top singular vector of :math:`X = UDU^{\mathsf H}` (computed from the factor), with the
    global phase (sign) matched to ``x_true`` when given (FOUND-code)."""
    U = check_array("U", U, ndim=2, dtype=None)
    if d is not None:
        d = check_array("d", d, shape=(U.shape[1],))
    if x_true is not None:
        x_true = check_array("x_true", x_true, shape=(U.shape[0],), dtype=None)
    Ut = U if d is None else U * np.sqrt(np.maximum(d, 0))
    Q, s, _ = np.linalg.svd(Ut, full_matrices=False)
    v = Q[:, 0]
    if x_true is not None:
        z = np.vdot(v, x_true)
        if abs(z) > 0:
            v = v * (z / abs(z))
    return v


def signal_error(v: np.ndarray, x_true: np.ndarray) -> float:
    r""":math:`\min_{|c|=1}\|c\,v - x\|_2/\|x\|_2` for unit vectors (global phase removed)."""
    v = check_array("v", v, ndim=1, dtype=None)
    x_true = check_array("x_true", x_true, shape=v.shape, dtype=None)
    if not np.any(v) or not np.any(x_true):
        raise ValueError("v and x_true must be non-zero vectors")
    z = np.vdot(v, x_true)
    c = z / abs(z) if abs(z) > 0 else 1.0
    return float(np.linalg.norm(c * v / np.linalg.norm(v) * np.linalg.norm(x_true) - x_true)
                 / np.linalg.norm(x_true))


@dataclass
class GaussianPR(MeasurementProblem):
    r"""Real Gaussian phase retrieval :math:`y_i = (a_i^\top x)^2`, :math:`A = [a_1,\dots,a_m]`."""

    A: np.ndarray            # n x m
    b: np.ndarray            # measurements y
    x_true: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.A = check_array("A", self.A, ndim=2)
        self.b = check_array("b", self.b, shape=(self.A.shape[1],))
        if self.x_true is not None:
            self.x_true = check_array("x_true", self.x_true, shape=(self.A.shape[0],))

    @classmethod
    def make(cls, x: np.ndarray, m: int | None = None, *, rng: np.random.Generator,
             normalize_rows: bool = True) -> "GaussianPR":
        """A.2.1 (FOUND-code): :math:`m = \\lceil 2n \\rceil`, Gaussian :math:`A`, each row of the
        :math:`n\\times m` matrix scaled to unit norm."""
        x = check_array("x", x, ndim=1)
        n = x.size
        m = int(np.ceil(2 * n)) if m is None else check_int("m", m, lo=1)
        check_rng("rng", rng)
        check_bool("normalize_rows", normalize_rows)
        A = rng.standard_normal((n, m))
        if normalize_rows:
            A /= np.linalg.norm(A, axis=1, keepdims=True)
        return cls(A=A, b=(A.T @ x) ** 2, x_true=x)

    @property
    def n(self) -> int:
        return self.A.shape[0]

    @property
    def m(self) -> int:
        return self.A.shape[1]

    def lipschitz(self) -> float:
        """:math:`L = \\|AA^\\top\\|_2` (the authors' step is :math:`1/L`, FOUND-code)."""
        return float(np.linalg.norm(self.A @ self.A.T, 2))

    def apply(self, X: np.ndarray) -> np.ndarray:
        return np.einsum("ji,jk,ki->i", self.A, X, self.A)

    def forward_factored(self, U: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
        Z = (self.A.T @ U) ** 2
        return Z.sum(axis=1) if d is None else Z @ d

    def sym_adjoint_apply(self, res: np.ndarray, U: np.ndarray) -> np.ndarray:
        return self.A @ (res[:, None] * (self.A.T @ U))

    def adjoint_dense(self, res: np.ndarray) -> np.ndarray:
        return (self.A * res) @ self.A.T


def fp_object(img: np.ndarray, upsample: int = 2, phase_max: float = np.pi / 2) -> np.ndarray:
    r"""A complex test object: amplitude from the image (rescaled to [0.2, 1]), phase a smooth
    bump of height ``phase_max`` plus the transposed image, both upsampled by ``upsample``."""
    img = check_array("img", img, square=True)
    upsample = check_int("upsample", upsample, lo=1)
    phase_max = check_real("phase_max", phase_max)
    a = np.kron(img, np.ones((upsample, upsample)))
    a = 0.2 + 0.8 * (a - a.min()) / max(a.max() - a.min(), 1e-12)
    N = a.shape[0]
    t = np.linspace(-1, 1, N)
    bump = np.exp(-3 * (t[:, None] ** 2 + t[None, :] ** 2))
    ph = phase_max * (0.6 * bump + 0.4 * (a.T - a.min()) / max(a.max() - a.min(), 1e-12))
    return a * np.exp(1j * ph)


@dataclass
class FourierPtychography(MeasurementProblem):
    r"""Simulated Fourier ptychography (§2.2.2 substitute).

    The object :math:`x\in\mathbb C^{N\times N}` (vectorised, :math:`n = N^2`) is seen through a
    circular pupil :math:`P` of radius ``pupil_radius`` (in frequency pixels of the
    :math:`M\times M` low-resolution grid); illumination :math:`k` shifts the object spectrum by
    ``shifts[k]``. The low-resolution field is
    :math:`B_kx = \mathcal F_M^{-1}\big(P\odot \mathrm{crop}_k(\mathcal F_N x)\big)` (unitary FFTs)
    and the camera records :math:`y_k = |B_kx|^2 + \text{noise}`. The lifted operator is
    :math:`\mathcal A(X)_{k,p} = e_p^{\mathsf H}B_kXB_k^{\mathsf H}e_p`.
    """

    N: int
    M: int
    shifts: np.ndarray               # K x 2 integer spectrum shifts
    pupil: np.ndarray                # M x M (real)
    b: np.ndarray = field(default=None)
    x_true: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.N = check_int("N", self.N, lo=2)
        self.M = check_int("M", self.M, lo=2, hi=self.N)
        sh = check_array("shifts", self.shifts, shape=(None, 2), dtype=None)
        if sh.dtype.kind not in "iu":
            raise TypeError(f"shifts must be an integer array, got dtype {sh.dtype}")
        self.shifts = sh
        self.pupil = check_array("pupil", self.pupil, shape=(self.M, self.M))
        if self.b is not None:
            self.b = check_array("b", self.b, shape=(len(sh) * self.M * self.M,))
        if self.x_true is not None:
            self.x_true = check_array("x_true", self.x_true, shape=(self.N * self.N,), dtype=None)

    @classmethod
    def make(cls, obj: np.ndarray, *, M: int, grid: int = 3, pupil_radius: float | None = None,
             overlap: float = 0.6, noise: float = 0.01, rng: np.random.Generator,
             normalize: bool = True) -> "FourierPtychography":
        """Build a system with a ``grid × grid`` square array of illuminations whose spectrum
        shifts overlap by ``overlap`` of the pupil diameter, and simulate noisy intensities
        (Gaussian, std ``noise`` times the mean intensity)."""
        obj = check_array("obj", obj, ndim=2, dtype=None)
        M = check_int("M", M, lo=2)
        grid = check_int("grid", grid, lo=1)
        if pupil_radius is not None:
            pupil_radius = check_real("pupil_radius", pupil_radius, lo=0, lo_open=True)
        overlap = check_real("overlap", overlap, lo=0, hi=1, hi_open=True)
        noise = check_real("noise", noise, lo=0)
        check_rng("rng", rng)
        N = obj.shape[0]
        if obj.shape != (N, N) or not 2 <= M <= N:
            raise ValueError(f"obj must be square N x N with 2 <= M <= N, got {obj.shape}, M={M}")
        R = pupil_radius if pupil_radius is not None else M / 4
        step = max(1, int(round(2 * R * (1 - overlap))))
        half = (grid - 1) // 2
        sh = np.array([(i * step, j * step) for i in range(-half, grid - half)
                       for j in range(-half, grid - half)])
        if np.abs(sh).max() + M // 2 > N // 2:
            raise ValueError("illumination shifts leave the object spectrum; reduce grid or overlap")
        f = np.fft.fftfreq(M) * M
        P = ((f[:, None] ** 2 + f[None, :] ** 2) <= R ** 2).astype(float)
        x = obj.ravel()
        if normalize:
            x = x / np.linalg.norm(x)
        sys = cls(N=N, M=M, shifts=sh, pupil=P, b=np.zeros(len(sh) * M * M), x_true=x)
        y = sys.forward_factored(x[:, None])
        if noise:
            y = y + noise * y.mean() * rng.standard_normal(y.shape)
        sys.b = y
        return sys

    @property
    def n(self) -> int:
        return self.N * self.N

    @property
    def K(self) -> int:
        return len(self.shifts)

    def _idx(self, k: int):
        f = (np.fft.fftfreq(self.M) * self.M).astype(int)
        rows = (f + self.shifts[k][0]) % self.N
        cols = (f + self.shifts[k][1]) % self.N
        return np.ix_(rows, cols)

    @property
    def _crop(self):
        """Sparse 0/1 matrix (K·M² × N²) stacking the K spectrum windows."""
        if getattr(self, "_C", None) is None:
            import scipy.sparse as sp

            base = np.arange(self.N * self.N).reshape(self.N, self.N)
            idx = np.concatenate([base[self._idx(k)].ravel() for k in range(self.K)])
            self._C = sp.csr_matrix((np.ones(idx.size), (np.arange(idx.size), idx)),
                                    shape=(idx.size, self.N * self.N))
        return self._C

    def fields(self, U: np.ndarray) -> np.ndarray:
        """:math:`B_kU` for every k: array K x M x M x r."""
        r = U.shape[1]
        S = np.fft.fft2(U.reshape(self.N, self.N, r), axes=(0, 1), norm="ortho")
        W = (self._crop @ S.reshape(self.N * self.N, r)).reshape(self.K, self.M, self.M, r)
        return np.fft.ifft2(W * self.pupil[None, :, :, None], axes=(1, 2), norm="ortho")

    def forward_factored(self, U: np.ndarray, d: np.ndarray | None = None) -> np.ndarray:
        I = np.abs(self.fields(U)) ** 2
        I = I.sum(axis=-1) if d is None else I @ d
        return I.reshape(-1)

    def sym_adjoint_apply(self, res: np.ndarray, U: np.ndarray) -> np.ndarray:
        r""":math:`GU = \sum_k B_k^{\mathsf H}(r_k\odot B_kU)` (G is Hermitian)."""
        r = U.shape[1]
        Z = self.fields(U) * res.reshape(self.K, self.M, self.M)[..., None]
        Zf = np.fft.fft2(Z, axes=(1, 2), norm="ortho") * self.pupil[None, :, :, None]
        S = (self._crop.T @ Zf.reshape(-1, r)).reshape(self.N, self.N, r)
        return np.fft.ifft2(S, axes=(0, 1), norm="ortho").reshape(self.n, r)

    def _matrix(self) -> np.ndarray:
        """The dense operator :math:`B` (K·M² × n) stacking every :math:`B_k` (cached; small
        instances only: it has :math:`K M^2 n` complex entries)."""
        if getattr(self, "_B", None) is None:
            self._B = self.fields(np.eye(self.n)).reshape(-1, self.n)
        return self._B

    def apply(self, X: np.ndarray) -> np.ndarray:
        r""":math:`\mathcal A(X)_{k,p} = e_p^{\mathsf H}B_kXB_k^{\mathsf H}e_p` (dense; tests and
        small checks)."""
        B = self._matrix()
        return np.einsum("qi,qi->q", B @ X, B.conj()).real

    def adjoint_dense(self, res: np.ndarray) -> np.ndarray:
        r""":math:`\mathcal A^*(res) = \sum_{k,p} res_{k,p}\,B_k^{\mathsf H}e_pe_p^{\mathsf H}B_k`
        (dense, Hermitian)."""
        B = self._matrix()
        return B.conj().T @ (res[:, None] * B)

    def lipschitz(self) -> float:
        r""":math:`\max_i\|b_i\|^2\cdot\lambda_{\max}(\sum_k B_k^{\mathsf H}B_k)`, a bound on
        :math:`\|\mathcal A\|^2` (the FP step size is UNKNOWN; we use its inverse)."""
        cover = np.zeros((self.N, self.N))
        for k in range(self.K):
            cover[self._idx(k)] += self.pupil ** 2
        row = self.pupil.sum() / (self.M * self.M)   # ||b_i||^2 with unitary FFTs
        return float(cover.max() * row)


def load_fp_dataset(path: str | Path):
    """Load real FP data (e.g. the blood-cell set of Horstmeyer et al. 2015) saved as ``.npz``
    with arrays ``images`` (K x M x M intensities), ``shifts`` (K x 2 integer spectrum shifts in
    pixels of the N x N object spectrum), ``pupil`` (M x M) and scalar ``N``. Returns a
    :class:`FourierPtychography` whose ``b`` is the flattened images (normalised to unit mean).
    The original MATLAB files must be converted to this layout first; nothing is downloaded."""
    data = np.load(path)
    images = np.asarray(data["images"], dtype=float)
    K, M, _ = images.shape
    sys = FourierPtychography(N=int(data["N"]), M=M, shifts=np.asarray(data["shifts"], dtype=int),
                              pupil=np.asarray(data["pupil"], dtype=float), b=images.reshape(-1))
    sys.b = sys.b / sys.b.mean()
    return sys
