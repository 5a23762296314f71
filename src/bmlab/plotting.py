"""One figure style for the whole book, and one colour per method."""
from __future__ import annotations

import zlib

import matplotlib as mpl

#: Colour of each method, used consistently across chapters.
METHOD_COLORS = {
    # penalty strategies (paper 000)
    "AMagd": "#D55E00",
    "AMadp": "#E69F00",
    "AMpca": "#CC79A7",
    "AMour": "#0072B2",
    "fixed": "#009E73",
    "nADMM": "#56B4E9",
    # factorizations
    "BM": "#D55E00",
    "UDU": "#0072B2",
    "UV": "#D55E00",
    "UDV": "#0072B2",
    "SDP": "#000000",
    "GD": "#009E73",
    # UDV-network variants (paper 001, App. B)
    "UDV-s": "#56B4E9",
    "UDV-v1": "#009E73",
    "UDV-v2": "#CC79A7",
    "UDV unconstrained": "#E69F00",
    "UFV": "#000000",
    "UV-ReLU": "#D55E00",
    "ReLU(constrained)": "#E69F00",
    "UDV-ReLU": "#CC79A7",
    "UDV-ReLU-s": "#009E73",
    "LoRA": "#D55E00",
    "LoRA-UDV": "#0072B2",
    # modifications of GD (paper 002)
    "GD + balancing": "#0072B2",
    "perturbed GD": "#D55E00",
}

#: Cycle for series without a method colour (Okabe–Ito, colour-blind safe).
CYCLE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=CYCLE),
    "axes.titlesize": "medium",
    "axes.labelsize": "medium",
    "legend.fontsize": "small",
    "legend.frameon": False,
    "lines.linewidth": 1.6,
}


def use_style() -> None:
    """Apply the book's matplotlib style (call once at the top of a chapter)."""
    mpl.rcParams.update(STYLE)


def color(method: str) -> str:
    """Colour of ``method``; a fixed fallback for unknown names."""
    return METHOD_COLORS.get(method, CYCLE[zlib.crc32(method.encode()) % len(CYCLE)])
