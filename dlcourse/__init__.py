"""Student package of the deep-learning training course.

It holds only what a learner should have: input validation used by the exercise
stubs (:mod:`dlcourse.validate`), visible checks with diagnostic feedback
(:mod:`dlcourse.checks`), offline-capable data loading (:mod:`dlcourse.data`),
plotting helpers (:mod:`dlcourse.plotting`) and environment detection
(:mod:`dlcourse.env`). It contains no reference solutions: the checks compare
against stored numbers, not against code that computes them.
"""

__version__ = "0.1.0"
