"""Where the notebook runs (Colab, Binder, a laptop) and what that means for the learner."""

import os
import platform
import sys

from dlcourse.i18n import tr

REPOSITORY = "https://github.com/dl-training-course/dl-training-course"
"""The course's public repository: Colab installs the student package from it."""


def in_colab():
    """True inside Google Colab."""
    return "google.colab" in sys.modules


def in_binder():
    """True on mybinder.org (repo2docker sets BINDER_SERVICE_HOST or BINDER_LAUNCH_HOST)."""
    return any(k in os.environ for k in ("BINDER_SERVICE_HOST", "BINDER_LAUNCH_HOST", "BINDER_REQUEST"))


def where():
    """A short name for the environment: 'Colab', 'Binder' or 'local'."""
    return "Colab" if in_colab() else "Binder" if in_binder() else "local"


def describe_setup(chapter):
    """Print a one-line summary of the environment and library versions for ``chapter``."""
    import numpy as np

    parts = [f"{chapter}", f"running on {where()}", f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    if "matplotlib" in sys.modules or _importable("matplotlib"):
        import matplotlib

        parts.append(f"Matplotlib {matplotlib.__version__}")
    print(" | ".join(tr(part) for part in parts))


def _importable(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None
