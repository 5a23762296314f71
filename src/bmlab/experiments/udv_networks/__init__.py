"""Part "UDV networks" (paper 001, Hou, Sra & Yurtsever: §3 and App. B).

One module per chapter of ``book/udv-networks/`` (``regression``, ``classification``,
``variants``, ``bias``, ``lora_udv``), each with ``Params`` (``quick``/``paper`` presets),
``run(params, rng) -> Result`` and ``claims(result) -> list[Claim]``; the shared training
driver and claim helpers in :mod:`.common`, figures and tables in :mod:`.plots`.
"""
