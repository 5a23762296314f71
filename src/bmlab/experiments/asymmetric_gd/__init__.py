"""Part "Gradient descent for asymmetric factorization" (paper 002, Ye & Du).

One module per chapter of ``book/asymmetric-gd/`` (``global_convergence``, ``t_total_scaling``,
``two_stages``, ``auto_balancing``, ``gradient_flow``, ``lemmas``, ``modifications``), each with
``Params`` (``quick``/``paper`` presets), ``run(params, rng) -> Result`` and
``claims(result) -> list[Claim]``; shared helpers in :mod:`.common` and :mod:`.flow`, figures in
:mod:`.plots`.
"""
