"""The package's shape (CONVENTIONS §1 and §5): recipes apart from lab code, one set of contracts.

These tests read the package's source (ast) and its public objects; they fail on the first module that
breaks a rule, naming it.
"""

import ast
import importlib
import importlib.metadata
import inspect
import pkgutil
import re
import sys
from pathlib import Path

import pytest

import mlsys_course

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mlsys_course"
SOURCES = sorted(PACKAGE.rglob("*.py"))
#: Concept modules: the recipes a practitioner copies (not private, not lab, not course plumbing).
COURSE = {"exercises", "plotting"}
CONCEPTS = sorted(
    p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_") and p.stem not in COURSE
)
#: Private modules whose public names are the package's shared internals.
SHARED_PRIVATE = {"_validation", "_processes"}
#: Names of experiment drivers (issue: "*_comparison, *_benchmark, *_demo, leak_*, the zoo").
DRIVER_NAME = re.compile(r"^leak_|_zoo$|_comparison$|_benchmark$|_demo$")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = _module_name(path).split(".")[: -node.level]
    return ".".join(base + ([node.module] if node.module else []))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: _module_name(p))
def test_no_module_imports_another_modules_private_names(path):
    tree = _tree(path)
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(path, node)
            if not source.startswith("mlsys_course"):
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    pytest.fail(f"{_module_name(path)} imports the private name {alias.name} from {source}")
                if ROOT.joinpath(*source.split("."), f"{alias.name}.py").exists():  # a module, not a name
                    aliases[alias.asname or alias.name] = f"{source}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mlsys_course"):
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if isinstance(node.value, ast.Name) and node.value.id in aliases:
                module = aliases[node.value.id]
                if module.rsplit(".", 1)[-1] not in SHARED_PRIVATE:
                    pytest.fail(f"{_module_name(path)} uses the private name {module}.{node.attr}")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: _module_name(p))
def test_plain_top_level_definitions(path):
    """No module __getattr__ and no class built inside a function (class factories)."""
    tree = _tree(path)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__":
            pytest.fail(f"{_module_name(path)} defines a module __getattr__")
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ClassDef):
                    pytest.fail(f"{_module_name(path)} builds class {inner.name} inside function {node.name}")


@pytest.mark.parametrize("name", CONCEPTS)
def test_recipes_never_import_lab_code(name):
    path = PACKAGE / f"{name}.py"
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(path, node)
            names = [f"{source}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for imported in names:
            assert not imported.startswith("mlsys_course.lab"), f"recipe module {name} imports lab code {imported}"


@pytest.mark.parametrize("name", CONCEPTS)
def test_concept_modules_hold_recipes_not_experiment_drivers(name):
    module = importlib.import_module(f"mlsys_course.{name}")
    drivers = [n for n in getattr(module, "__all__", []) if DRIVER_NAME.search(n)]
    assert not drivers, f"mlsys_course.{name} exports experiment drivers {drivers}: move them to mlsys_course.lab"


def _public_callables(name):
    module = importlib.import_module(f"mlsys_course.{name}")
    for attr in getattr(module, "__all__", []):
        obj = getattr(module, attr)
        if inspect.isclass(obj):
            yield f"{name}.{attr}", obj.__init__
        elif inspect.isfunction(obj):
            yield f"{name}.{attr}", obj


@pytest.mark.parametrize("name", CONCEPTS)
def test_recipes_default_random_state_to_none(name):
    """scikit-learn's meaning: no seed unless the caller gives one."""
    for qualname, fn in _public_callables(name):
        parameter = inspect.signature(fn).parameters.get("random_state")
        if parameter is not None:
            assert parameter.default is None, f"{qualname} has random_state={parameter.default!r}; recipes default to None"


SIDE_EFFECTS = re.compile(r"threadpool_limits\(|os\.environ\[[^]]+\]\s*=|os\.environ\.(update|pop|setdefault)\(|\.setLevel\(|os\.putenv\(")


@pytest.mark.parametrize("name", CONCEPTS)
def test_recipes_change_no_process_wide_state(name):
    """Thread limits, environment variables and logging levels are the notebook's or the lab's to set."""
    source = (PACKAGE / f"{name}.py").read_text()
    found = [m.group(0) for m in SIDE_EFFECTS.finditer(source)]
    assert not found, f"mlsys_course.{name} changes process-wide state: {found}"


def _declared_distributions() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in ("tracking",):
        declared += project["optional-dependencies"].get(extra, [])
    return {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower().replace("_", "-") for d in declared}


def test_every_imported_package_is_declared():
    distributions = importlib.metadata.packages_distributions()
    declared = _declared_distributions()
    stdlib = sys.stdlib_module_names
    missing = {}
    for path in SOURCES:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Import):
                tops = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                tops = [(node.module or "").split(".")[0]]
            else:
                continue
            for top in tops:
                if top in stdlib or top in ("mlsys_course", "__future__", ""):
                    continue
                dists = {d.lower().replace("_", "-") for d in distributions.get(top, [top])}
                if not dists & declared:
                    missing.setdefault(top, set()).add(_module_name(path))
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_version_and_typed_marker():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert mlsys_course.__version__ == project["version"]
    assert (PACKAGE / "py.typed").exists()


def test_lab_modules_are_named_after_chapters():
    import mlsys_course.lab

    names = [m.name for m in pkgutil.iter_modules(mlsys_course.lab.__path__)]
    assert names, "mlsys_course.lab has no modules"
    for name in names:
        assert re.fullmatch(r"ch\d\d[a-c]?|timing", name), f"lab module {name}: one module per chapter part (chNN, chNNa)"


def _estimator_classes():
    from sklearn.base import BaseEstimator

    found = []
    for name in CONCEPTS:
        module = importlib.import_module(f"mlsys_course.{name}")
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found.append(obj)
    return found


def test_every_estimator_is_run_through_scikit_learns_checks():
    """Each estimator, transformer and sampler appears in a parametrize_with_checks call of the tests."""
    checked = " ".join(
        p.read_text() for p in (ROOT / "tests").glob("test_*.py") if "parametrize_with_checks(" in p.read_text()
    )
    classes = _estimator_classes()
    assert classes, "no estimator found: the search is broken"
    missing = [c.__name__ for c in classes if not re.search(rf"\b{c.__name__}\(", checked)]
    assert not missing, f"estimators not run through parametrize_with_checks: {missing}"
