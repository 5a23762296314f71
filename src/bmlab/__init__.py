"""bmlab: the package behind the companion book on Burer–Monteiro factorization.

All math, algorithms and experiment drivers of the book live here; chapters only call them.
"""
__version__ = "0.1.0"
