"""The pins: constraints.txt pins everything, environment.yml mirrors it, torch stays CPU."""
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    out = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        assert "==" in line, f"unpinned requirement {line!r}"
        name, version = line.split("==", 1)
        out[name.lower().replace("_", "-")] = version
    return out


def test_environment_yml_mirrors_constraints():
    constraints = _pins((ROOT / "constraints.txt").read_text().splitlines())
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _pins(pip_section) == constraints
    assert "python=3.11" in env["dependencies"]


def test_key_pins():
    constraints = _pins((ROOT / "constraints.txt").read_text().splitlines())
    assert constraints["torch"] == "2.13.0"
    assert constraints["jupyter-book"] == "1.0.4.post1"
    for name in ("cvxpy", "scs", "clarabel", "papermill", "jupytext", "sphinx-proof",
                 "sphinxcontrib-bibtex", "tqdm", "hypothesis", "pytest", "numpy"):
        assert name in constraints, name


def test_every_direct_requirement_is_pinned():
    constraints = _pins((ROOT / "constraints.txt").read_text().splitlines())
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name = line.split("==")[0].lower().replace("_", "-")
            assert name in constraints, f"{name} is not pinned in constraints.txt"
    text = (ROOT / "requirements.in").read_text() + (ROOT / "pyproject.toml").read_text()
    assert "torch==2.13.0" in text and "torch>" not in text and '"torch"' not in text


def test_reader_experience_pins():
    """Offline MathJax, and the `make lab` extra (requirements-lab.in), are pinned too."""
    constraints = _pins((ROOT / "constraints.txt").read_text().splitlines())
    assert "sphinx-mathjax-offline" in constraints
    assert "sphinx-mathjax-offline" in (ROOT / "requirements.in").read_text()
    for line in (ROOT / "requirements-lab.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name = line.split("==")[0].lower().replace("_", "-")
            assert name in constraints, f"{name} (make lab) is not pinned in constraints.txt"
    assert "jupyterlab" in constraints and "jupytext" in constraints
