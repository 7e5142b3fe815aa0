"""dlcourse.validate: the one set of input validators (stubs, notebook helpers and references use it)."""

import re

import numpy as np
import pytest

from dlcourse.validate import as_float_array, generator, real, whole_number


@pytest.mark.parametrize("value, minimum, expected", [(3, 1, 3), (3.0, 1, 3), (np.int64(2), 1, 2), (0, 0, 0)])
def test_whole_number_accepts_integers_at_or_above_the_minimum(value, minimum, expected):
    got = whole_number(value, "n", minimum)
    assert got == expected and type(got) is int


@pytest.mark.parametrize("value, minimum", [(0, 1), (2.5, 1), (True, 0), (-1, 0)])
def test_whole_number_names_the_argument_and_the_bound(value, minimum):
    with pytest.raises(ValueError, match=rf"^n must be an integer >= {minimum}, got {value!r}$"):
        whole_number(value, "n", minimum)


def test_whole_number_integral_refuses_integral_floats():
    assert whole_number(np.int64(3), "t", integral=True) == 3
    for bad in (3.0, np.float64(2.0), True, 0):
        with pytest.raises(ValueError, match=rf"^t must be an integer >= 1, got {re.escape(repr(bad))}$"):
            whole_number(bad, "t", integral=True)


@pytest.mark.parametrize("value, kwargs, expected", [(0.5, {}, 0.5), (2, {"minimum": 2}, 2.0),
                                                     (np.float32(1.5), {"minimum": 0, "strict": True}, 1.5)])
def test_real_accepts_finite_numbers_within_the_bound(value, kwargs, expected):
    got = real(value, "lr", **kwargs)
    assert got == expected and type(got) is float


@pytest.mark.parametrize("value, kwargs, message", [
    (True, {}, "must be a real number"), ("0.1", {}, "must be a real number"),
    (np.array(0.1), {}, "must be a real number"), (float("nan"), {}, "must be finite"),
    (float("inf"), {}, "must be finite"), (-0.1, {"minimum": 0}, r"must be >= 0, got -0\.1"),
    (0, {"minimum": 0, "strict": True}, "must be > 0, got 0"),
])
def test_real_rejects_what_is_not_a_finite_number_in_range(value, kwargs, message):
    with pytest.raises(ValueError, match=rf"^lr {message}"):
        real(value, "lr", **kwargs)


def test_generator_accepts_only_a_numpy_generator():
    rng = np.random.default_rng(0)
    assert generator(rng) is rng
    for bad in (0, np.random.RandomState(0), None):
        with pytest.raises(ValueError, match=r"^rng must be a numpy.random.Generator, e\.g\."):
            generator(bad)


def test_as_float_array_names_what_is_not_numeric():
    assert as_float_array([1, 2]).dtype == np.float64
    with pytest.raises(ValueError, match=r"^w must be numeric, got dict$"):
        as_float_array({"a": 1}, "w")
