"""Instructor-side package: reference implementations, hidden tests and grading tools.

Nothing in here is shipped to students. The student release (``course/``) imports
only :mod:`dlcourse`; a test enforces that boundary.

Subpackages
-----------
reference   the reference NumPy implementations of every graded function, one module
            per chapter (``losses``, ``gradient_descent``, ``optimizers``, ...).
mistakes    plausible wrong implementations of the same functions, named after the
            mistake ("summing instead of averaging"). Hidden tests and visible checks
            use them to tell a learner *which* mistake their output matches.
hidden      the hidden tests that nbgrader runs at grading time.
"""
