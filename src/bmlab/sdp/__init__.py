"""Convex (SDP) baselines of the factorized problems and dual certificates of optimality.

:mod:`bmlab.sdp.core` solves a CVXPY problem and records its status; :mod:`bmlab.sdp.completion`,
:mod:`bmlab.sdp.sensing`, :mod:`bmlab.sdp.phaselift` and :mod:`bmlab.sdp.penalty` build the
baselines; :mod:`bmlab.sdp.certificate` proves (or refutes) the global optimality of a
factorized point with one eigenvalue problem, no SDP solve.
"""
from .certificate import Certificate, certificate

__all__ = ["Certificate", "certificate"]
