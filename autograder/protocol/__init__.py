"""Hidden tests as scripts of calls: the learner's code runs one place, the judging another.

- :mod:`.interpreter`: the generic interpreter sent (as source text) into the learner's kernel;
  it performs steps given as data and returns outcomes as data. No course code, no expected
  value, no checking logic.
- :mod:`.wire`: values as data both ways; the results are decoded defensively.
- :mod:`.session`: runs a hidden check in the grading process, turning its calls of the
  learner's code into steps, and judging what comes back.
"""
