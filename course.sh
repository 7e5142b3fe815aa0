#!/usr/bin/env bash
# One entry point for learners, instructors and CI.
#
#   ./course.sh            set up (first time only) and open JupyterLab on the course index
#   ./course.sh instructor set up and open JupyterLab at the repository root (solutions/ included),
#                          with formgrader (Nbgrader menu) and the exchange exchange/ ready
#   ./course.sh test       set up (first time only) and run the test suite
#   ./course.sh run        set up and execute every student notebook headless (a smoke run)
#   ./course.sh setup      only create/update the virtual environment .venv
#   ./course.sh system     install the OS packages grading and the full test suite use (Debian/Ubuntu,
#                          as root): bubblewrap (grading sandbox), chromium (browser tests),
#                          postgresql (multi-host gradebook tests). Optional for learners.
#   ./course.sh release    regenerate course/ from solutions/ (instructors)
#   ./course.sh bench      print the benchmark figures (docs/benchmarks.md records them)
#   ./course.sh screenshots  regenerate docs/screenshots/ from the browser journeys (needs chromium)
#
# Needs Python 3.11-3.13 with venv and pip (PYTHON=python3.12 ./course.sh to choose one).
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-python3}"
VENV=".venv"
STAMP="$VENV/.installed"

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        echo "Creating the virtual environment $VENV with $($PYTHON --version)..."
        "$PYTHON" -m venv "$VENV"
    fi
    # Reinstall only when the requirements changed since the last install.
    local want
    want="$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
    if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
        echo "Installing the course's packages into $VENV (a few minutes the first time)..."
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -r requirements.txt
        "$VENV/bin/python" -m pip install --quiet --no-deps -e .
        echo "$want" > "$STAMP"
    fi
    drop_slow_optional_import "$VENV/bin/python"
    export PATH="$PWD/$VENV/bin:$PATH"
    export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
}

# jsonschema imports the optional rfc3987-syntax (pulled in by jupyter-events through
# jsonschema[format-nongpl], only to check the "iri" string format) whenever it is installed, and
# that package builds a grammar at import: about 1 s of CPU in every nbgrader, Jupyter, grading
# and test process. Nothing here checks that format, so it is removed after installing.
drop_slow_optional_import() {
    if "$1" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('rfc3987_syntax') is None)"; then
        "$1" -m pip uninstall --quiet --yes rfc3987-syntax
    fi
}

SYSTEM_PACKAGES="bubblewrap chromium postgresql"

system() {
    if ! command -v apt-get >/dev/null; then
        echo "No apt-get here: install these with your system's package manager: $SYSTEM_PACKAGES"
        return 0
    fi
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $SYSTEM_PACKAGES >/dev/null
    echo "Installed: $SYSTEM_PACKAGES"
}

cmd="${1:-lab}"
[ $# -gt 0 ] && shift
case "$cmd" in
    setup)   setup ;;
    system)  system ;;
    lab)     setup; echo "Instructors: ./course.sh instructor opens the lab at the repository root with formgrader."
             exec jupyter lab course/index.ipynb "$@" ;;
    instructor)
             setup; mkdir -p exchange
             echo "Formgrader: Nbgrader menu > Formgrader, or the lab's address with /formgrader instead of /lab."
             exec jupyter lab --ServerApp.root_dir="$PWD" "$@" ;;
    screenshots) setup; exec python -m tests.browser.screenshots "$@" ;;
    test)    setup; exec python -m pytest "$@" ;;
    run)     setup; exec python -m autograder.smoke "$@" ;;
    release) setup; python -m autograder.build_checks; exec python -m autograder.release "$@" ;;
    bench)   setup; exec python -m benchmarks.run "$@" ;;
    *)       sed -n '2,18p' "$0"; exit 2 ;;
esac
