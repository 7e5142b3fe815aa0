"""Known wrong implementations, keyed by graded function name then by mistake.

Each chapter module defines ``MISTAKES: dict[str, dict[str, Callable]]``: for a graded
function, a mapping from a human description of the mistake (phrased to complete the
sentence "your output matches ... ") to a function with the same signature that makes it.
"""
