"""What every chapter experiment module shares (issue: claims as package code).

A chapter ``book/<part>/<chapter>.md`` has its experiment in
``bmlab/experiments/<part>/<chapter>.py`` with

* a parameters dataclass derived from :class:`ExperimentParams`, whose ``PRESETS`` give the
  ``quick`` (CI) and ``paper`` sizes, built with ``Params.for_profile(profile, **overrides)``;
* ``run(params, rng) -> Result`` (the computation; a diverged run is an outcome in the
  result, never an exception);
* ``claims(result) -> list[Claim]`` (the pre-registered checks, see :mod:`bmlab.claims`).

The notebook calls these three, displays the result and records the claims with
``ch.add_claims(claims(result))``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

PROFILES = ("quick", "paper")


@dataclass(frozen=True)
class ExperimentParams:
    """Base of every chapter's parameters dataclass.

    Subclasses add fields (with defaults) and set ``PRESETS = {"quick": {...}, "paper":
    {...}}``. :meth:`for_profile` fills the profile's values, then the overrides that are not
    ``None``; ``validate`` (override it) raises ``ValueError`` naming a bad parameter.
    """

    profile: str = "quick"
    PRESETS: ClassVar[dict[str, dict[str, Any]]] = {}

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {self.profile!r}")
        self.validate()

    def validate(self) -> None:
        """Check the parameters (override; call the checks of :mod:`bmlab.validation`)."""

    @classmethod
    def for_profile(cls, profile: str, **overrides: Any):
        """The parameters of ``profile`` with ``overrides`` (``None`` values are ignored)."""
        if profile not in PROFILES:
            raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - names)
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown} for {cls.__name__}; "
                             f"valid: {sorted(names - {'profile'})}")
        values = dict(cls.PRESETS.get(profile, {}))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(profile=profile, **values)
