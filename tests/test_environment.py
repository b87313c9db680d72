"""pip (pyproject.toml) and conda (environment.yml) users must get the same packages."""

import re
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent

# conda-forge names that differ from the PyPI ones (conda name -> pip name).
PIP_NAME = {"python-duckdb": "duckdb"}


def _split(requirement: str) -> tuple[str, str]:
    """(pip name, version spec) of a pip or conda requirement."""
    name, spec = re.match(r"^\s*([A-Za-z0-9_.-]+)\s*(.*)$", requirement).groups()
    return PIP_NAME.get(name.lower(), name.lower()), spec.replace(" ", "")


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        reqs += extra
    return dict(_split(r) for r in reqs)


def conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python=", "pip")):
            name, spec = _split(dep)
            out[name] = spec
    return out


def test_same_packages_with_the_same_lower_bounds():
    assert conda_requirements() == pyproject_requirements()


def test_conda_installs_the_package_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip_section


def test_every_requirement_is_pinned_in_the_lock():
    pinned = {
        line.split("==")[0].lower().replace("_", "-")
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line
    }
    missing = {name for name in pyproject_requirements() if name.replace("_", "-") not in pinned}
    assert not missing, f"constraints.txt pins no version for {sorted(missing)}: run `make lock`"
