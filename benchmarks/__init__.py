"""Benchmarks that print figures (no timed assertions): ``./course.sh bench``."""
