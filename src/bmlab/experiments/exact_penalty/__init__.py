"""Part "Exact penalties" (paper 000, Hu et al.): one module per chapter of
``book/exact-penalty/`` (``Params``, ``run(params, rng) -> Result``, ``claims(result)``), shared
helpers in :mod:`.common` and :mod:`.toys`, figures in :mod:`.plots`, per-chapter run times in
:mod:`.benchmark`."""
