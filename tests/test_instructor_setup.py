"""nbgrader_config.py as formgrader and the grader load it: serializable, exchange ready, same grading."""

import json
import os
from pathlib import Path

from traitlets.config.loader import PyFileConfigLoader

ROOT = Path(__file__).resolve().parent.parent


def _load(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()


def test_config_is_json_serializable_for_formgrader(monkeypatch):
    config = _load(monkeypatch)
    json.dumps(config)  # formgrader logs "not serializable" otherwise
    assert config.FormgradeExtension.debug is False


def test_preprocessors_are_import_paths_of_the_grading_classes(monkeypatch):
    from nbconvert.preprocessors import Preprocessor
    from traitlets.utils.importstring import import_item

    from autograder.restore_cells import RestoreStructure
    from autograder.trusted_execute import TrustedExecute

    config = _load(monkeypatch)
    sanitize, grade = config.Autograde.sanitize_preprocessors, config.Autograde.autograde_preprocessors
    assert all(isinstance(p, str) for p in sanitize + grade)
    sanitize, grade = [import_item(p) for p in sanitize], [import_item(p) for p in grade]
    assert all(issubclass(c, Preprocessor) for c in sanitize + grade)
    assert RestoreStructure in sanitize and grade[0] is TrustedExecute
    assert {"OverwriteCells", "CheckCellMetadata"} <= {c.__name__ for c in sanitize}
    assert {"SaveAutoGrades", "LimitOutput", "ClearMetadataPreprocessor"} <= {c.__name__ for c in grade}


def test_exchange_is_inside_the_course_unless_a_hub_names_one(monkeypatch, tmp_path):
    monkeypatch.delenv("NBGRADER_EXCHANGE", raising=False)
    config = _load(monkeypatch)
    assert config.Exchange.root == os.path.join(str(ROOT), "exchange")
    assert os.path.isdir(config.Exchange.root)
    assert os.stat(config.Exchange.root).st_mode & 0o777 == 0o777  # as nbgrader wants it, so it need not warn
    shared = tmp_path / "srv" / "exchange"
    assert _load(monkeypatch, NBGRADER_EXCHANGE=str(shared)).Exchange.root == str(shared)
    assert not shared.exists()  # a hub's exchange is the hub's to create
