import json

import numpy as np
import pytest

from bmlab.claims import Claim, Ledger, load_claims, summarize, to_jsonable


def test_claim_verdicts():
    ok = Claim("a.b", "s", paper=1.0, ours=1.0, holds=True)
    assert ok.as_expected and ok.verdict == "reproduced"
    known = Claim("a.c", "s", paper=1.0, ours=2.0, holds=False, expected="fails", reason="why")
    assert known.as_expected and known.verdict == "not reproduced"
    surprise = Claim("a.d", "s", paper=1.0, ours=2.0, holds=False)
    assert not surprise.as_expected and surprise.verdict.startswith("UNEXPECTED")
    assert summarize([ok, known, surprise]) == {"total": 3, "held": 1, "failed": 2,
                                                "unexpected": 1}


def test_claim_validation():
    with pytest.raises(ValueError, match="reason"):
        Claim("x", "s", paper=1, ours=1, holds=False, expected="fails")
    with pytest.raises(ValueError, match="expected"):
        Claim("x", "s", paper=1, ours=1, holds=True, expected="maybe")
    with pytest.raises(ValueError, match="id"):
        Claim("", "s", paper=1, ours=1, holds=True)


def test_jsonable_handles_numpy_and_nonfinite():
    value = to_jsonable({"a": np.float64(1.5), "b": np.arange(3), "c": np.inf,
                         "d": (np.bool_(True), np.int64(2))})
    assert value == {"a": 1.5, "b": [0, 1, 2], "c": "inf", "d": [True, 2]}
    json.dumps(value, allow_nan=False)


def test_ledger_roundtrip_and_overwrite(tmp_path):
    ledger = Ledger(tmp_path / "ch" / "claims.json")
    ledger.add(Claim("k", "s", paper=1, ours=np.float32(0.5), holds=False, expected="fails",
                     reason="r"))
    ledger.add(Claim("k", "s", paper=1, ours=1.0, holds=True))  # same id replaces
    loaded = Ledger.load(tmp_path / "ch" / "claims.json")
    assert list(loaded.claims) == ["k"] and loaded.claims["k"].holds
    (tmp_path / ".tmp" / "x").mkdir(parents=True)
    Ledger(tmp_path / ".tmp" / "x" / "claims.json").add(Claim("t", "s", paper=0, ours=0,
                                                              holds=True))
    assert [c.id for c in load_claims(tmp_path)] == ["k"]  # temporary folders are skipped
