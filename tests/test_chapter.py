import numpy as np
import pytest

from bmlab.chapter import Chapter, by_profile, check_profile


def test_output_dir_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("BMLAB_OUTPUT_DIR", str(tmp_path / "out"))
    ch = Chapter("part/name", profile="quick", seed=3)
    assert ch.out_dir == tmp_path / "out" and ch.out_dir.is_dir()
    from bmlab.claims import Ledger, claim, close

    c = ch.claim("p.c", "statement", close(1.0, 1.0, tol=1e-3), kind="paper", quote="q")
    assert c.chapter == "part/name" and c.profile == "quick" and c.holds
    (d,) = ch.add_claims([claim("p.d", "s", close(2.0, 1.0, tol=0.5), kind="extension",
                                expected="fails", reason="r")])
    assert d.chapter == "part/name" and not d.holds
    assert list(Ledger.load(tmp_path / "out" / "claims.json").claims) == ["p.c", "p.d"]
    assert not hasattr(ch, "record"), "hand-written verdicts are gone"
    with pytest.raises(TypeError):
        ch.add_claims([{"id": "x"}])


def test_default_output_dir_is_results_root(tmp_path, monkeypatch):
    monkeypatch.delenv("BMLAB_OUTPUT_DIR", raising=False)
    monkeypatch.setenv("BMLAB_RESULTS_ROOT", str(tmp_path))
    assert Chapter("a/b", profile="paper", seed=0).out_dir == tmp_path / "a" / "b"


def test_rng_is_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("BMLAB_OUTPUT_DIR", str(tmp_path))
    a = Chapter("x", profile="quick", seed=7)
    b = Chapter("x", profile="quick", seed=7)
    assert np.array_equal(a.rng(1).normal(size=3), b.rng(1).normal(size=3))
    assert not np.array_equal(a.rng(1).normal(size=3), a.rng(2).normal(size=3))
    assert not np.array_equal(a.rng().normal(size=3), a.rng().normal(size=3))


def test_savefig_and_table(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    import pandas as pd

    monkeypatch.setenv("BMLAB_OUTPUT_DIR", str(tmp_path))
    ch = Chapter("x", profile="quick", seed=0)
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    assert ch.savefig(fig, "fig-a").exists() and (tmp_path / "fig-a.pdf").exists()
    plt.close(fig)
    assert ch.save_table(pd.DataFrame({"a": [1]}), "tab").read_text().startswith("a")
    assert ch.glue("k", 1.5) == 1.5
    value = ch.glue("k2", np.float64(0.25))
    assert type(value) is float and repr(value) == "0.25"


@pytest.mark.parametrize("bad", ["fast", "", None])
def test_bad_profile(bad, tmp_path, monkeypatch):
    monkeypatch.setenv("BMLAB_OUTPUT_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="profile"):
        Chapter("x", profile=bad, seed=0)
    with pytest.raises(ValueError):
        check_profile(bad)


def test_bad_seed(tmp_path, monkeypatch):
    monkeypatch.setenv("BMLAB_OUTPUT_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="seed"):
        Chapter("x", profile="quick", seed=-1)


def test_by_profile():
    assert by_profile("quick", quick=1, paper=2) == 1
    assert by_profile("paper", quick=1, paper=2) == 2
