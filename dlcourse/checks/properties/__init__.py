"""Property-based visible checks, one module per chapter, each exporting PROPERTY_CHECKS.

Used for functions whose exact output depends on how a random generator is used
(shuffling, dropout masks, initializers), that take callables, or that are classes:
they check what every correct implementation satisfies, never one exact stream.
A property check takes the learner's function, raises CheckFailure on a problem and
returns the number of checks it ran.
"""
