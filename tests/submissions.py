"""Submissions for the tests: the builders of :mod:`autograder.submissions` (one home, shared with the
grading corpus) under the names the tests use, and the tests' own named-mistake submission."""

from autograder.notebook_cells import graded_points, solution_ids as solution_cells, stub_solution as stub_out
from autograder.release import solution_path
from autograder.submissions import dumps, load_solution, with_cell_edited

__all__ = ["dumps", "graded_points", "load_solution", "solution_cells", "solution_path", "stub_out",
           "with_cell_edited", "with_summed_mse"]


def with_summed_mse(nb):
    """Chapter 01's notebook with ``mse`` summing instead of averaging (the catalogue's named mistake)."""
    return with_cell_edited(nb, "mse", lambda s: s.replace("np.mean((y_pred", "np.sum((y_pred"))
