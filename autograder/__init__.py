"""Instructor-side package: reference implementations, hidden tests and grading tools.

Nothing in here is shipped to students. The student release (``course/``) imports
only :mod:`dlcourse`; a test enforces that boundary.

Layout
------
chapters    one folder per chapter, ``chapters/ch<chapter id>/``: ``reference.py`` (the reference
            implementations), ``mistakes.py`` (plausible wrong implementations, named after the
            mistake, "summing instead of averaging", so that checks tell a learner *which* mistake
            their output matches), ``cases.py`` (visible and hidden check cases) and ``__init__.py``
            (the graded functions in notebook order); ``chapters/__init__.py`` is the registry.
checking    a check case and how its expected output and the mistakes' outputs are computed.
hidden      the hidden tests that nbgrader runs at grading time.
"""
