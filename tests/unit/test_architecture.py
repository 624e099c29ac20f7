"""The dependency rule in .importlinter holds here and breaks on a tree that violates it."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / ".importlinter"
DOMAIN_PACKAGES = ("pledge", "loans", "chaincode")


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports from the project's environment in `cwd`, without a graph cache."""
    exe = Path(sys.executable).with_name("lint-imports")
    command = str(exe) if exe.exists() else shutil.which("lint-imports")
    assert command, "lint-imports is not installed in this environment"
    return subprocess.run(
        [command, "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return parser


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.strip().splitlines() if line.strip()]


def test_the_import_rules_hold_on_the_current_tree() -> None:
    result = _lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_wildcards_for_modules_still_to_come_reach_only_the_domain_packages() -> None:
    config = _config()
    roots = _lines(config["importlinter"]["root_packages"])
    graph = grimp.build_graph(*roots, include_external_packages=True, cache_dir=None)
    sources = _lines(config["importlinter:contract:pure-domain"]["source_modules"])
    for expression in (s for s in sources if "*" in s):
        outside = {
            m
            for m in graph.find_matching_modules(expression)
            if m.split(".")[0] not in DOMAIN_PACKAGES
        }
        assert not outside, f"{expression} also matches {sorted(outside)}: name them exactly"


# Each file breaks one rule; the line is what lint-imports must print for it.
VIOLATIONS = {
    "pledge/model.py": ("import sqlalchemy\n", "pledge.model is not allowed to import sqlalchemy"),
    "loans/money.py": ("import pydantic\n", "loans.money is not allowed to import pydantic"),
    "loans/lending.py": (
        "from services import db\n",
        "loans.lending is not allowed to import services",
    ),
    # Indirect: through an adapter module of the same package.
    "pledge/service.py": (
        "from pledge import tables\n",
        "pledge.service is not allowed to import sqlalchemy",
    ),
    "pledge/lienkeys.py": ("import loans\n", "pledge is not allowed to import loans"),
    "chaincode/contract.py": ("import pledge\n", "chaincode is not allowed to import pledge"),
    "chaincode/state.py": ("import fastapi\n", "chaincode is not allowed to import fastapi"),
}


ROOTS = ("pledge", "loans", "chaincode", "services", "vision", "dashboards")


def _write_tree(root: Path, files: dict[str, str]) -> None:
    """A miniature project with every root package, adapter modules and the real config."""
    shutil.copy(CONFIG, root / ".importlinter")
    for package in ("pledge", "loans", "chaincode", "services", "vision", "dashboards"):
        (root / package).mkdir()
        (root / package / "__init__.py").write_text("")
    base = {
        "pledge/errors.py": "",
        "pledge/parties.py": "from pledge import errors\n",
        "services/db.py": "import sqlalchemy\n",
        "pledge/tables.py": "import sqlalchemy\n",
        "loans/tables.py": "import sqlalchemy\nimport pledge\n",
        # An entrypoint reaching loans only through the composition root is fine.
        "services/uow.py": "from loans import tables\n",
        "pledge/api.py": "from services import uow\n",
        # The runtime glue is exempt from the framework rule.
        "chaincode/runtime.py": "import pydantic\nimport fastapi\n",
    }
    # Every module the contracts name exactly must exist, or lint-imports refuses the config.
    named = {f"{m.replace('.', '/')}.py": "" for m in _exact_modules() if "." in m}
    for name, source in {**named, **base, **files}.items():
        (root / name).write_text(source)


def _exact_modules() -> set[str]:
    """Modules the config names without wildcards."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    names: set[str] = set()
    for section in parser.sections():
        for key in ("source_modules", "forbidden_modules"):
            names.update(m.strip() for m in parser[section].get(key, "").split() if m.strip())
    return {m for m in names if "*" not in m and m.split(".")[0] in ROOTS}


def test_a_tree_that_keeps_the_rules_passes(tmp_path: Path) -> None:
    _write_tree(tmp_path, {"pledge/model.py": "from pledge import errors\n"})
    result = _lint_imports(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_import_rules_break_on_a_tree_that_violates_them(tmp_path: Path) -> None:
    _write_tree(tmp_path, {name: source for name, (source, _) in VIOLATIONS.items()})
    result = _lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 kept, 3 broken" in result.stdout, result.stdout + result.stderr
    missing = [line for _, line in VIOLATIONS.values() if line not in result.stdout]
    assert not missing, f"not reported: {missing}\n{result.stdout}"
