"""A throwaway nbgrader course directory driven with stock nbgrader commands.

Used by the tests and benchmarks to run the instructor's real cycle (generate,
submit, autograde, feedback, export) without touching the repository's own
gradebook::

    course = CourseDir(tmp_path)
    course.release("01_losses")
    course.submit("alice", "01_losses", "solutions/01_losses/01_losses.ipynb")
    course.autograde("01_losses")
    course.scores("01_losses")   # {"alice": {"test_mse": 1.0, ...}}
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.execute import ROOT, kernel_env


class NbgraderError(RuntimeError):
    """An nbgrader command exited non-zero."""


class CourseDir:
    """An nbgrader course rooted at ``root`` with the repository's configuration."""

    def __init__(self, root):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_url = f"sqlite:///{self.root / 'gradebook.db'}"

    def nbgrader(self, *args, check=True, timeout=None):
        """Run ``nbgrader <args>`` against this course; returns the CompletedProcess."""
        env = kernel_env()
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        cmd = [str(Path(sys.executable).with_name("nbgrader")), *args,
               f"--CourseDirectory.root={self.root}", f"--CourseDirectory.db_url={self.db_url}"]
        # Run from the repository root so that its nbgrader_config.py is loaded.
        result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise NbgraderError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr[-4000:]}")
        return result

    def release(self, chapter):
        """Copy the chapter's source into this course and ``nbgrader generate_assignment`` it."""
        target = self.root / "solutions" / chapter
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(ROOT / "solutions" / chapter, target)
        self.nbgrader("generate_assignment", chapter, "--force")
        return self.root / "course" / chapter / f"{chapter}.ipynb"

    def submission_dir(self, student, chapter):
        return self.root / "submitted" / student / chapter

    def submit(self, student, chapter, notebook=None, text=None, name=None):
        """Place a submission in nbgrader's submitted/ layout (a file copy or raw text)."""
        folder = self.submission_dir(student, chapter)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (name or f"{chapter}.ipynb")
        if text is not None:
            target.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        else:
            shutil.copyfile(notebook, target)
        return target

    def autograde(self, chapter, *extra, check=True):
        return self.nbgrader("autograde", chapter, "--create", "--force", *extra, check=check)

    def scores(self, chapter):
        """dict student -> {grade cell id: score} from the gradebook."""
        from nbgrader.api import Gradebook

        out = {}
        with Gradebook(self.db_url) as gb:
            assignment = gb.find_assignment(chapter)
            for submission in assignment.submissions:
                cells = {}
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        cells[grade.name] = grade.score
                out[submission.student.id] = cells
        return out

    def total(self, chapter, student):
        return sum(self.scores(chapter)[student].values())

    def max_scores(self, chapter):
        """dict grade cell id -> max points."""
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gb:
            notebook = gb.find_assignment(chapter).notebooks[0]
            return {cell.name: cell.max_score for cell in notebook.grade_cells}
