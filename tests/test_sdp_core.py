import cvxpy as cp
import numpy as np
import pytest

from bmlab.factorizations.spectral import numerical_rank
from bmlab.sdp.core import relative_error, solve_sdp


def _projection_problem():
    Z = cp.Variable((3, 3), PSD=True)
    M = np.diag([1.0, -1.0, 2.0])
    return cp.Problem(cp.Minimize(cp.sum_squares(Z - M))), Z


@pytest.mark.parametrize("solver", ["CLARABEL", "SCS", "clarabel"])
def test_psd_projection(solver):
    prob, Z = _projection_problem()
    res = solve_sdp(prob, Z, solver=solver)
    assert res.ok and res.solver == solver.upper()
    assert relative_error(res.Z, np.diag([1.0, 0.0, 2.0])) < 1e-4
    assert numerical_rank(res.Z, rtol=1e-4) == 2
    assert res.wall_time > 0 and res.objective == pytest.approx(1.0, abs=1e-4)


def test_unknown_solver_is_a_clear_error():
    prob, Z = _projection_problem()
    with pytest.raises(ValueError, match="CLARABEL"):
        solve_sdp(prob, Z, solver="MOSEK")


def test_infeasible_is_a_status_not_a_crash():
    Z = cp.Variable((2, 2), PSD=True)
    prob = cp.Problem(cp.Minimize(cp.trace(Z)), [Z[0, 0] == -1])
    res = solve_sdp(prob, Z, solver="CLARABEL")
    assert not res.ok and "infeasible" in res.status


def test_optimal_inaccurate_is_shown_as_such_and_still_ok():
    from bmlab.sdp.core import SDPResult

    r = SDPResult(Z=None, objective=1.5, status="optimal_inaccurate", solver="SCS", wall_time=2.0,
                  num_iters=200_000)
    assert r.ok and r.inaccurate and r.status_label == "optimal (inaccurate)"
    assert r.as_row() == {"solver": "SCS", "status": "optimal (inaccurate)", "objective": 1.5,
                          "wall time [s]": 2.0, "iterations": 200_000}
    exact = SDPResult(Z=None, objective=1.0, status="optimal", solver="CLARABEL", wall_time=1.0)
    assert exact.ok and not exact.inaccurate and exact.status_label == "optimal"
    bad = SDPResult(Z=None, objective=float("nan"), status="infeasible_inaccurate", solver="SCS",
                    wall_time=1.0)
    assert not bad.ok and bad.status_label == "infeasible (inaccurate)"
