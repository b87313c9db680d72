"""pip (pyproject.toml) and conda (environment.yml) users must get the same packages."""

import os
import re
import shutil
import subprocess
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


# --- make setup: uv when it is on PATH or pip can fetch it, pip otherwise; same pins and extras either way ---
# The setup rule runs against stub programs that only log their arguments: no install, a fraction of a second.

MAKE = shutil.which("make")
needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")
LOCK = ["-c", "constraints.txt"] if sys.version_info >= (3, 11) else []
EXTRAS = ["-e", ".[course,test,tracking]"]

LOGGER = """#!/bin/sh
# Logs its call; `-c` (the Makefile's own Python one-liners) runs on the real interpreter.
[ "$1" = -c ] && exec {real} "$@"
echo "{name} $*" >> {log}
case "$1 $2 $3" in
  "-m venv "*) mkdir -p "$3/bin" && cp {stubs}/venv-python "$3/bin/python" ;;
  "-m pip install")
    case "$*" in *"--target "*)
      [ -n "$BOOTSTRAP_FAILS" ] && exit 1
      target=$(echo "$*" | sed 's/.*--target \\([^ ]*\\).*/\\1/'); mkdir -p "$target/bin" && cp {stubs}/uv "$target/bin/uv" ;;
    esac ;;
  "venv "*) for dir; do :; done; mkdir -p "$dir/bin" && cp {stubs}/venv-python "$dir/bin/python" ;;
  "--version  ") echo "uv 0.0 (stub)" ;;
esac
exit 0
"""


def _make_setup(tmp_path, *, uv_on_path, installer=None, bootstrap_fails=False):
    """Run `make setup` with stub python3/uv; return (exit code, output, [logged calls as word lists])."""
    stubs, onpath, log = tmp_path / "stubs", tmp_path / "path", tmp_path / "calls.log"
    stubs.mkdir(parents=True)
    onpath.mkdir()
    for name in ("python3", "venv-python", "uv"):
        script = stubs / name
        script.write_text(LOGGER.format(real=sys.executable, name=name, log=log, stubs=stubs))
        script.chmod(0o755)
    if uv_on_path:
        (onpath / "uv").symlink_to(stubs / "uv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "MAKE", "MFLAGS"))}
    env.update(
        PATH=f"{onpath}:/usr/bin:/bin",
        PIP_CONFIG_FILE=os.devnull,  # pip's configuration: only the two variables below
        PIP_INDEX_URL="https://mirror.example/simple",
        PIP_EXTRA_INDEX_URL="file:///a/simple file:///b/simple",
    )
    if bootstrap_fails:
        env["BOOTSTRAP_FAILS"] = "1"
    args = [MAKE, "-C", str(ROOT), "setup", f"PYTHON={stubs / 'python3'}", f"VENV={tmp_path / 'venv'}",
            f"UV_HOME={tmp_path / 'uvhome'}"] + ([f"INSTALLER={installer}"] if installer else [])
    run = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
    calls = [line.split() for line in log.read_text().splitlines()] if log.exists() else []
    calls = [c for c in calls if c[1:] != ["--version"]]
    return run.returncode, run.stdout + run.stderr, calls


def _installs(calls):
    """The package arguments of every install of the course (from -c or -e on)."""
    out = []
    for call in calls:
        if "install" in call and "-e" in call:
            start = call.index("-c") if LOCK else call.index("-e")
            out.append(call[start:])
    return out


@needs_make
@pytest.mark.skipif(shutil.which("uv", path="/usr/bin:/bin"), reason="a system uv would be found on PATH")
def test_setup_uses_uv_on_path_with_pips_sources_and_a_seeded_venv(tmp_path):
    code, output, calls = _make_setup(tmp_path, uv_on_path=True)
    assert code == 0, output
    venv = str(tmp_path / "venv")
    assert ["uv", "venv", "--quiet", "--seed", "--python", str(tmp_path / "stubs" / "python3"), venv] in calls
    (install,) = [c for c in calls if c[:3] == ["uv", "pip", "install"]]
    assert install[install.index("--python") + 1] == f"{venv}/bin/python"
    # uv does not read pip's configuration: the Makefile passes it on
    assert "--index-url https://mirror.example/simple" in " ".join(install)
    assert "--extra-index-url file:///a/simple --extra-index-url file:///b/simple" in " ".join(install)
    assert "--index-strategy unsafe-best-match" in " ".join(install)
    assert _installs(calls) == [LOCK + EXTRAS]
    assert not [c for c in calls if c[0] != "uv"], "pip installed something although uv was there"
    assert (tmp_path / "venv" / ".installed-stamp").exists()


@needs_make
def test_installer_pip_forces_pip_with_the_same_pins_and_extras(tmp_path):
    code, output, calls = _make_setup(tmp_path, uv_on_path=True, installer="pip")
    assert code == 0, output
    assert calls[0] == ["python3", "-m", "venv", str(tmp_path / "venv")], output
    assert ["venv-python", "-m", "pip", "install", "--quiet", "--upgrade", "pip"] in calls
    assert _installs(calls) == [LOCK + EXTRAS]
    assert not [c for c in calls if c[0] == "uv"]


@needs_make
@pytest.mark.skipif(shutil.which("uv", path="/usr/bin:/bin"), reason="a system uv would be found on PATH")
def test_without_uv_on_path_pip_fetches_it_into_uv_home(tmp_path):
    code, output, calls = _make_setup(tmp_path, uv_on_path=False)
    assert code == 0, output
    uvhome = str(tmp_path / "uvhome")
    assert calls[0] == ["python3", "-m", "pip", "install", "--quiet", "--target", uvhome, "uv"]
    assert [c[:3] for c in calls[1:]] == [["uv", "venv", "--quiet"], ["uv", "pip", "install"]]
    assert f"{uvhome}/bin/uv" in output
    assert _installs(calls) == [LOCK + EXTRAS]


@needs_make
@pytest.mark.skipif(shutil.which("uv", path="/usr/bin:/bin"), reason="a system uv would be found on PATH")
def test_when_uv_cannot_be_fetched_setup_falls_back_to_pip_unless_uv_is_required(tmp_path):
    code, output, calls = _make_setup(tmp_path / "auto", uv_on_path=False, bootstrap_fails=True)
    assert code == 0, output
    assert "installing with pip" in output
    assert not [c for c in calls if c[0] == "uv"]
    assert _installs(calls) == [LOCK + EXTRAS]
    code, output, calls = _make_setup(tmp_path / "uv", uv_on_path=False, installer="uv", bootstrap_fails=True)
    assert code != 0 and "INSTALLER=uv" in output
    assert not _installs(calls)
