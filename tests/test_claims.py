import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmlab.claims import (MIN_MARGIN, Check, Claim, Ledger, LedgerError, all_of, at_least,
                          at_most, between, claim, close, compare, fraction, load_claims,
                          monotone, outcome_key, qualitative, summarize, to_jsonable)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
positive = st.floats(min_value=1e-6, max_value=1e6)


def _paper(check, **kw):
    return claim("a.b", "s", check, kind="paper", quote="the paper says so", **kw)


# ----------------------------------------------------------------------------- checks
def test_close_verdict_and_margin():
    c = close(1.0005, 1.0, tol=1e-3)
    assert c.holds and math.isclose(c.margin, 0.5)
    c = close(1.002, 1.0, tol=1e-3)
    assert not c.holds and math.isclose(c.margin, -1.0)
    c = close([1.0, 1.0 + 5e-4], [1.0, 1.0], tol=1e-3)  # worst entry decides
    assert c.holds and math.isclose(c.margin, 0.5)
    assert close(110.0, 100.0, tol=0.2, relative=True).holds
    assert not close(float("nan"), 1.0, tol=1.0).holds
    with pytest.raises(ValueError, match="tol"):
        close(1.0, 1.0, tol=0.0)


@given(finite, finite, positive)
def test_close_margin_sign_agrees_with_verdict(ours, target, tol):
    c = close(ours, target, tol)
    assert c.holds == (abs(ours - target) <= tol)
    assert (c.margin >= 0) == c.holds


@given(finite, finite)
def test_bounds_margin_sign_agrees_with_verdict(x, b):
    hi, lo = at_most(x, b), at_least(x, b)
    assert hi.holds == (x <= b) and lo.holds == (x >= b)
    assert (hi.margin >= 0) == hi.holds and (lo.margin >= 0) == lo.holds


def test_at_most_at_least_arrays_and_scale():
    assert at_most([0.1, 0.9], 1.0).holds and not at_most([0.1, 1.1], 1.0).holds
    assert math.isclose(at_most(-9e-11, -2e-3, scale=2e-3).margin, (-2e-3 + 9e-11) / 2e-3)
    assert at_least([2.0, 3.0], 1.0).holds
    assert at_least(-9e-11, -2e-3).holds
    # ours == bound exactly: holds with margin 0, i.e. fragile
    c = _paper(at_most(1.0, 1.0))
    assert c.holds and c.fragile


def test_between():
    assert between([2.0, 3.0], 1.0, 4.0).holds
    assert not between([0.5, 3.0], 1.0, 4.0).holds
    with pytest.raises(ValueError):
        between(1.0, 2.0, 1.0)


def test_fraction_margin_counts_samples_to_flip():
    c = fraction(100, 100, at_least=1.0)
    assert c.holds and c.margin == pytest.approx(0.01) and c.samples == 100
    c = fraction(94, 100, at_least=0.95)
    assert not c.holds and c.margin == pytest.approx(-0.01)
    assert _paper(fraction(3, 3, at_least=1.0, min_samples=10)).fragile
    with pytest.raises(ValueError):
        fraction(5, 4, at_least=0.5)


def test_compare_sign_test():
    rng = np.random.default_rng(0)
    a = rng.normal(size=12)
    better = compare(a, a + 1.0)  # ours lower in every pair
    assert better.holds and better.samples == 12 and better.margin > 0
    # 12/12: p = 2.4e-4; flipping 2 pairs still gives 10/12 (p = 0.019), 3 give 9/12 (0.073)
    assert better.margin == pytest.approx(3 / 12)
    six = compare(np.zeros(6), np.ones(6))  # 6/6: p = 1/64; one flip gives 5/6, p = 7/64
    assert six.holds and six.margin == pytest.approx(1 / 6)
    five = compare(np.r_[np.zeros(5), 2.0], np.ones(6))  # 5/6 fails; one more win passes
    assert not five.holds and five.margin == pytest.approx(-1 / 6)
    two = compare([0.0, 0.0], [1.0, 1.0])  # no number of wins out of 2 reaches 0.05
    assert not two.holds and two.margin == pytest.approx(-3 / 2)
    assert not compare(a + 1.0, a).holds
    one = _paper(compare([0.0], [1.0]))  # one sample can never be a robust comparison
    assert not one.holds and one.fragile
    ties = compare([1.0, 1.0], [1.0, 1.0])
    assert ties.samples == 0 and not ties.holds


def test_monotone_flags_rounding_steps():
    assert monotone([1.0, 2.0, 3.0]).holds
    assert not monotone([1.0, 3.0, 2.0]).holds
    assert monotone([3.0, 2.0], increasing=False).holds
    tiny = _paper(monotone([1.0, 2.0, 2.0 + 1e-13]))
    assert tiny.holds and tiny.fragile  # the hessian-spectra defect: decided by rounding


def test_qualitative_and_all_of():
    assert qualitative(True).margin is None
    with pytest.raises(ValueError, match="sign"):
        qualitative(False, margin=0.5)
    c = all_of(close(1.0, 1.0, tol=1.0), at_most(0.5, 1.0), fraction(9, 10, at_least=0.5))
    assert c.holds and c.margin == pytest.approx(0.5) and c.samples == 10
    assert not all_of(at_most(2.0, 1.0), at_least(2.0, 1.0)).holds


# ----------------------------------------------------------------------------- claims
def test_claim_verdicts_by_kind_and_expectation():
    ok = _paper(close(1.0, 1.0, tol=0.1))
    assert ok.as_expected and ok.verdict == "reproduced"
    known = _paper(close(2.0, 1.0, tol=0.1), expected="fails", reason="why")
    assert known.as_expected and known.verdict == "not reproduced"
    surprise = _paper(close(2.0, 1.0, tol=0.1))
    assert not surprise.as_expected and surprise.verdict.startswith("UNEXPECTED")
    ext = claim("e", "s", at_most(1.0, 2.0), kind="extension")
    assert ext.verdict == "holds"
    expl = claim("x", "s", at_most(1.0, 2.0), kind="paper", quote="q", exploratory=True,
                 reason="tolerance chosen after a run")
    assert expl.verdict.startswith("exploratory")
    s = summarize([ok, known, surprise, ext, expl])
    assert s["paper"] == 3 and s["reproduced"] == 1 and s["not_reproduced"] == 1
    assert s["paper_unexpected"] == 1 and s["extensions"] == 1 and s["exploratory"] == 1
    assert s["unexpected"] == 1 and s["total"] == 5
    ext.chapter = "part/ch"
    assert outcome_key([ok, ext]) == {":a.b": True, "part/ch:e": True}


def test_claim_validation():
    chk = close(1.0, 1.0, tol=1.0)
    with pytest.raises(ValueError, match="reason"):
        claim("x", "s", chk, kind="extension", expected="fails")
    with pytest.raises(ValueError, match="expected"):
        claim("x", "s", chk, kind="extension", expected="maybe")
    with pytest.raises(ValueError, match="id"):
        claim("", "s", chk, kind="extension")
    with pytest.raises(ValueError, match="quote"):
        claim("x", "s", chk, kind="paper")
    with pytest.raises(ValueError, match="kind"):
        claim("x", "s", chk, kind="opinion")
    with pytest.raises(ValueError, match="exploratory"):
        claim("x", "s", chk, kind="extension", exploratory=True)
    with pytest.raises(TypeError, match="Check"):
        claim("x", "s", True, kind="extension")


def test_fragile_by_margin():
    assert _paper(close(1.0 + 1e-3 * (1 - 1e-9), 1.0, tol=1e-3)).fragile
    assert not _paper(close(1.0005, 1.0, tol=1e-3)).fragile
    assert MIN_MARGIN == 1e-6


def test_jsonable_handles_numpy_and_nonfinite():
    value = to_jsonable({"a": np.float64(1.5), "b": np.arange(3), "c": np.inf,
                         "d": (np.bool_(True), np.int64(2))})
    assert value == {"a": 1.5, "b": [0, 1, 2], "c": "inf", "d": [True, 2]}
    json.dumps(value, allow_nan=False)


# ----------------------------------------------------------------------------- ledger
def test_ledger_roundtrip_and_duplicates(tmp_path):
    path = tmp_path / "ch" / "claims.json"
    ledger = Ledger(path)
    ledger.add(_paper(close(np.float32(0.5), 1.0, tol=0.1), expected="fails", reason="r"))
    with pytest.raises(ValueError, match="twice"):
        ledger.add(_paper(close(1.0, 1.0, tol=0.1)))
    loaded = Ledger.load(path)
    assert list(loaded.claims) == ["a.b"] and not loaded.claims["a.b"].holds
    assert loaded.claims["a.b"].to_dict() == ledger.claims["a.b"].to_dict()
    assert (path.stat().st_mode & 0o777) == 0o644
    (tmp_path / ".tmp" / "x").mkdir(parents=True)
    Ledger(tmp_path / ".tmp" / "x" / "claims.json").add(
        claim("t", "s", at_most(0, 1), kind="check"))
    assert [c.id for c in load_claims(tmp_path)] == ["a.b"]  # temporary folders are skipped


def _good(tmp_path):
    path = tmp_path / "claims.json"
    Ledger(path).add(_paper(close(1.0, 1.0, tol=0.1)))
    return path, json.loads(path.read_text())


@pytest.mark.parametrize("mutate, match", [
    (lambda items: {}, "non-empty list"),
    (lambda items: [], "non-empty list"),
    (lambda items: [1, 2], "object"),
    (lambda items: [{**items[0], "holds": "false"}], "boolean"),
    (lambda items: [{**items[0], "holds": 0}], "boolean"),
    (lambda items: [{**items[0], "margin": "0.5"}], "margin"),
    (lambda items: [{**items[0], "margin": -0.5}], "disagrees"),
    (lambda items: [{**items[0], "kind": "rumour"}], "kind"),
    (lambda items: [{**items[0], "quote": ""}], "quote"),
    (lambda items: [{**items[0], "expected": "fails"}], "reason"),
    (lambda items: [{k: v for k, v in items[0].items() if k != "holds"}], "missing"),
    (lambda items: [{**items[0], "extra": 1}], "unknown"),
    (lambda items: items + items, "twice"),
    (lambda items: [{**items[0], "samples": -1}], "samples"),
    (lambda items: [{**items[0], "id": ""}], "id"),
])
def test_ledger_load_rejects_damage(tmp_path, mutate, match):
    path, items = _good(tmp_path)
    path.write_text(json.dumps(mutate(items)))
    with pytest.raises(LedgerError, match=match):
        Ledger.load(path)


@pytest.mark.parametrize("text", ["", "{", "nul", "\x00\x01", "[{]"])
def test_ledger_load_rejects_garbage(tmp_path, text):
    path = tmp_path / "claims.json"
    path.write_text(text)
    with pytest.raises(LedgerError):
        Ledger.load(path)


def test_ledger_load_missing(tmp_path):
    with pytest.raises(LedgerError, match="missing"):
        Ledger.load(tmp_path / "claims.json")


@settings(max_examples=50)
@given(finite, finite, positive, st.sampled_from(["paper", "extension", "check"]))
def test_roundtrip_property(ours, target, tol, kind):
    c = claim("p.q", "s", close(ours, target, tol), kind=kind, quote="q",
              expected="holds" if abs(ours - target) <= tol else "fails", reason="r")
    again = Claim.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again.to_dict() == c.to_dict() and again.verdict == c.verdict


def test_check_is_frozen():
    with pytest.raises(Exception):
        close(1.0, 1.0, tol=1.0).holds = False  # type: ignore[misc]
    assert isinstance(close(1.0, 1.0, tol=1.0), Check)
