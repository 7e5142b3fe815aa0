"""The pip route (requirements.txt) and the conda route (environment.yml) stay equivalent."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _names(lines):
    names = set()
    for line in lines:
        line = line.split("#")[0].strip().lstrip("-").strip()
        if not line or line.startswith(("-r", "-e", ".", "pip:", "python")) or line.endswith(":"):
            continue
        names.add(re.split(r"[<>=!~\[ ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_environment_yml_lists_the_same_packages_as_requirements_txt():
    pip = _names((ROOT / "requirements.txt").read_text().splitlines())
    text = (ROOT / "environment.yml").read_text()
    body = text.split("dependencies:", 1)[1]
    conda = _names(line for line in body.splitlines() if line.strip().startswith("-") or line.startswith("      "))
    conda.discard("pip")
    assert pip == conda, f"only in requirements.txt: {sorted(pip - conda)}; only in environment.yml: {sorted(conda - pip)}"


def test_tensorflow_comes_from_pip_in_the_conda_environment():
    text = (ROOT / "environment.yml").read_text()
    pip_section = text.split("- pip:", 1)[1]
    assert "tensorflow" in pip_section


def test_both_routes_drop_the_slow_optional_import():
    """./course.sh setup and Binder's postBuild both remove rfc3987-syntax (about 1 s of import in every
    nbgrader, Jupyter and test process, for a string format nothing here checks)."""
    assert "drop_slow_optional_import \"$VENV/bin/python\"" in (ROOT / "course.sh").read_text()
    assert "pip uninstall --quiet --yes rfc3987-syntax" in (ROOT / "postBuild").read_text()


def test_nbgrader_loads_without_the_grammar_package():
    """In the environment the set-up made, loading nbgrader does not import rfc3987_syntax."""
    import subprocess
    import sys

    code = "import sys, nbgrader.apps.api; print('rfc3987_syntax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", "rfc3987-syntax is installed: run ./course.sh setup"


def test_the_tests_collected_first_still_exist():
    """tests/conftest.py's HEAVY_FIRST names tests by id: a renamed test would silently lose its place."""
    from tests.conftest import HEAVY_FIRST

    for nodeid in HEAVY_FIRST:
        path, _, name = nodeid.partition("::")
        function = name.split("[")[0]
        assert f"def {function}(" in (ROOT / path).read_text(), f"{nodeid}: no such test"
