"""Experiments of the implicit-bias part (paper 001, the UDUᵀ factorization): one module per
chapter of ``book/implicit-bias/`` plus the shared completion sweeps (:mod:`.common`), the
phase-retrieval pair runner (:mod:`.pr_common`), the column-dynamics helpers
(:mod:`.dynamics`) and the figures (:mod:`.plots`)."""
