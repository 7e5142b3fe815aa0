"""Visible and hidden check cases for chapter 03 (optimizer steps).

Every step is a pure function of arrays, so every case is "same output as the reference".
What makes the cases discriminating:

* the visible cases are small vectors at the first step (zero state, where bias correction and
  epsilon matter most) and at a later step (where a state that is not decayed, or is the old one,
  shows), plus one case of tiny gradients where epsilon's placement decides the step;
* the hidden cases cover shapes (), (5,), (3, 4), (2, 3, 2), gradient scales 1e-8, 1e-3, 1, 1e4 and
  mixed per entry, zero gradient entries on a first step, several t (1, 2, 7, 100, 5000) with moment
  estimates of the size they have after t - 1 steps, and non-default hyperparameters. Parameters ``w``
  are drawn at the scale of one step, so that a wrong step cannot hide behind a large ``w`` (the
  comparison is relative, rtol 1e-6).
"""

import numpy as np

from autograder.checking import Case

CHAPTER = "03_optimizers"

_A = np.array
_W = _A([1.0, -2.0, 0.5])
_G = _A([0.1, -2.0, 30.0])

VISIBLE = {
    "sgd_step": [
        Case("w = [1, -2], g = [0.5, 4], lr = 0.1", {"w": _A([1.0, -2.0]), "g": _A([0.5, 4.0]), "lr": 0.1}),
        Case("a (2, 2) array, lr = 0.01", {"w": _A([[0.1, 0.2], [0.3, 0.4]]), "g": _A([[1.0, -1.0], [10.0, 0.0]]),
                                           "lr": 0.01}),
        Case("g of shape (2,) for w of shape (3,)", {"w": np.zeros(3), "g": np.ones(2), "lr": 0.1}, raises=ValueError),
    ],
    "momentum_step": [
        Case("first step (velocity 0), beta 0.9", {"w": _W, "g": _A([0.5, 2.0, -1.0]), "velocity": np.zeros(3),
                                                   "lr": 0.1, "beta": 0.9}),
        Case("a later step: velocity [1, -0.5, 2]", {"w": _W, "g": _A([0.5, 2.0, -1.0]),
                                                     "velocity": _A([1.0, -0.5, 2.0]), "lr": 0.1, "beta": 0.9}),
        Case("beta = 0.5 on a (2, 2) array", {"w": _A([[1.0, 0.0], [0.0, 1.0]]), "g": _A([[0.2, -0.4], [1.0, 0.0]]),
                                              "velocity": _A([[0.1, 0.1], [-1.0, 3.0]]), "lr": 0.05, "beta": 0.5}),
        Case("beta = 1 (the velocity would never forget)", {"w": _W, "g": _G, "velocity": np.zeros(3), "lr": 0.1,
                                                            "beta": 1.0}, raises=ValueError),
    ],
    "nesterov_step": [
        Case("first step (velocity 0), beta 0.9", {"w": _W, "g": _A([0.5, 2.0, -1.0]), "velocity": np.zeros(3),
                                                   "lr": 0.1, "beta": 0.9}),
        Case("a later step: velocity [1, -0.5, 2]", {"w": _W, "g": _A([0.5, 2.0, -1.0]),
                                                     "velocity": _A([1.0, -0.5, 2.0]), "lr": 0.1, "beta": 0.9}),
        Case("velocity of the wrong shape", {"w": _W, "g": _G, "velocity": np.zeros(2), "lr": 0.1}, raises=ValueError),
    ],
    "adagrad_step": [
        Case("first step (accumulator 0): each entry moves by about lr", {"w": _W, "g": _G, "accum": np.zeros(3),
                                                                          "lr": 0.1}),
        Case("article 002 §3.3: a zero gradient on the first step", {"w": _A([1.0, 1.0]), "g": _A([0.0, 0.5]),
                                                             "accum": np.zeros(2), "lr": 0.1}),
        Case("a later step: accumulator [4, 1, 0.25]", {"w": _W, "g": _A([1.0, -0.5, 0.2]),
                                                        "accum": _A([4.0, 1.0, 0.25]), "lr": 0.1}),
        Case("tiny gradients 1e-4 (epsilon's placement matters)", {"w": _A([0.0, 0.0]), "g": _A([1e-4, -3e-4]),
                                                                   "accum": np.zeros(2), "lr": 0.1}),
        Case("accumulator of the wrong shape", {"w": _W, "g": _G, "accum": np.zeros((3, 1)), "lr": 0.1},
             raises=ValueError),
    ],
    "rmsprop_step": [
        Case("first step (squared average 0), rho 0.9", {"w": _W, "g": _G, "sq_avg": np.zeros(3), "lr": 0.01}),
        Case("a later step: squared average [1, 0.25, 4]", {"w": _W, "g": _A([1.0, -0.5, 0.2]),
                                                            "sq_avg": _A([1.0, 0.25, 4.0]), "lr": 0.01}),
        Case("tiny gradients 1e-4, rho 0.99", {"w": _A([0.0, 0.0]), "g": _A([1e-4, -3e-4]), "sq_avg": _A([1e-8, 4e-8]),
                                               "lr": 0.01, "rho": 0.99}),
        Case("rho = 1", {"w": _W, "g": _G, "sq_avg": np.zeros(3), "lr": 0.01, "rho": 1.0}, raises=ValueError),
    ],
    "adam_step": [
        Case("t = 1 from zero moments: each entry moves by about lr", {"w": _W, "g": _G, "m": np.zeros(3),
                                                                       "v": np.zeros(3), "t": 1, "lr": 0.01}),
        Case("t = 10, moments from earlier steps", {"w": _W, "g": _A([0.2, -1.0, 5.0]), "m": _A([0.05, -0.5, 2.0]),
                                                    "v": _A([0.001, 0.01, 0.5]), "t": 10, "lr": 0.01}),
        Case("tiny gradients 1e-8 at t = 1 (epsilon's placement matters)",
             {"w": _A([0.0, 0.0]), "g": _A([1e-8, -2e-8]), "m": np.zeros(2), "v": np.zeros(2), "t": 1}),
        Case("t = 1000, beta2 = 0.99", {"w": _W, "g": _A([0.3, 0.3, -0.3]), "m": _A([0.2, 0.1, -0.3]),
                                        "v": _A([0.05, 0.1, 0.08]), "t": 1000, "lr": 0.001, "beta2": 0.99}),
        Case("t = 0 (t counts steps from 1)", {"w": _W, "g": _G, "m": np.zeros(3), "v": np.zeros(3), "t": 0},
             raises=ValueError),
    ],
    "adamw_step": [
        Case("t = 1 from zero moments, weight_decay 0.1", {"w": _W, "g": _A([0.1, 0.2, -0.3]), "m": np.zeros(3),
                                                           "v": np.zeros(3), "t": 1, "lr": 0.01,
                                                           "weight_decay": 0.1}),
        Case("t = 5, default weight_decay 0.004", {"w": _W, "g": _A([0.2, -1.0, 5.0]), "m": _A([0.05, -0.5, 2.0]),
                                                   "v": _A([0.001, 0.01, 0.5]), "t": 5, "lr": 0.01}),
        Case("weight_decay = 0 is Adam", {"w": _W, "g": _G, "m": np.zeros(3), "v": np.zeros(3), "t": 1, "lr": 0.01,
                                          "weight_decay": 0.0}),
        Case("a negative weight_decay", {"w": _W, "g": _G, "m": np.zeros(3), "v": np.zeros(3), "t": 1,
                                         "weight_decay": -0.1}, raises=ValueError),
    ],
}


# ----------------------------------------------------------------------------- hidden
SHAPES = [(), (5,), (3, 4), (2, 3, 2)]
SCALES = [1e-8, 1e-3, 1.0, 1e4, "mixed"]


def _gradient(rng, shape, scale):
    if scale == "mixed":
        return rng.normal(size=shape) * rng.choice([1e-8, 1.0, 1e4], size=shape)
    return scale * rng.normal(size=shape)


def _scale_name(scale):
    return "mixed scales 1e-8..1e4" if scale == "mixed" else f"scale {scale:g}"


def _grid(rng):
    """(shape, gradient scale, gradient) for every shape and scale."""
    return [(shape, scale, _gradient(rng, shape, scale)) for shape in SHAPES for scale in SCALES]


def _small_w(rng, shape, step):
    """Parameters of the size of one step, so the step decides the comparison."""
    return step * rng.normal(size=shape)


def _bad_shapes(rng, state_names, extra=None):
    w = rng.normal(size=4)
    base = {"w": w, "g": rng.normal(size=4), **{name: np.zeros(4) for name in state_names}, **(extra or {})}
    cases = [Case("g of another shape than w", {**base, "g": rng.normal(size=(4, 1))}, raises=ValueError)]
    for name in state_names:
        cases.append(Case(f"{name} of another shape than w", {**base, name: np.zeros(3)}, raises=ValueError))
    return cases


def _sgd_cases(rng):
    cases = []
    for shape, scale, g in _grid(rng):
        lr = float(rng.choice([1e-3, 0.1, 1.0]))
        w = _small_w(rng, shape, lr * np.max(np.abs(g), initial=1e-300)) if rng.random() < 0.5 else rng.normal(size=shape)
        cases.append(Case(f"shape {shape}, gradient {_scale_name(scale)}, lr {lr:g}", {"w": w, "g": g, "lr": lr}))
    cases.append(Case("lr = 0", {"w": rng.normal(size=3), "g": rng.normal(size=3), "lr": 0.0}))
    cases += _bad_shapes(rng, [], {"lr": 0.1})
    cases.append(Case("lr < 0", {"w": np.ones(2), "g": np.ones(2), "lr": -0.1}, raises=ValueError))
    return cases


def _velocity_cases(rng):
    cases = []
    for shape, scale, g in _grid(rng):
        for beta in (0.9, 0.5):
            lr = 0.01
            velocity = np.zeros(shape) if rng.random() < 0.3 else _gradient(rng, shape, scale) / (1 - beta)
            step = lr * (np.max(np.abs(g), initial=0.0) + np.max(np.abs(velocity), initial=0.0)) + 1e-300
            cases.append(Case(f"shape {shape}, gradient {_scale_name(scale)}, beta {beta}",
                              {"w": _small_w(rng, shape, step), "g": g, "velocity": velocity, "lr": lr, "beta": beta}))
    cases.append(Case("beta = 0 (plain SGD)", {"w": rng.normal(size=3), "g": rng.normal(size=3),
                                               "velocity": rng.normal(size=3), "lr": 0.1, "beta": 0.0}))
    cases += _bad_shapes(rng, ["velocity"], {"lr": 0.1})
    cases.append(Case("beta = 1", {"w": np.ones(2), "g": np.ones(2), "velocity": np.zeros(2), "lr": 0.1, "beta": 1.0},
                      raises=ValueError))
    cases.append(Case("beta < 0", {"w": np.ones(2), "g": np.ones(2), "velocity": np.zeros(2), "lr": 0.1, "beta": -0.1},
                      raises=ValueError))
    return cases


def _adagrad_cases(rng):
    cases = []
    for shape, scale, g in _grid(rng):
        lr = float(rng.choice([0.01, 0.1]))
        for when, accum in (("first step", np.zeros(shape)), ("later step", 5 * _gradient(rng, shape, scale) ** 2)):
            cases.append(Case(f"{when}, shape {shape}, gradient {_scale_name(scale)}, lr {lr:g}",
                              {"w": _small_w(rng, shape, lr), "g": g, "accum": accum, "lr": lr}))
    g = rng.normal(size=(3, 4))
    g[0, :] = 0.0
    cases.append(Case("a zero gradient row on the first step (article 002 §3.3)", {"w": rng.normal(size=(3, 4)), "g": g,
                                                                            "accum": np.zeros((3, 4)), "lr": 0.1}))
    cases.append(Case("eps = 1e-3", {"w": _small_w(rng, 5, 0.1), "g": 1e-3 * rng.normal(size=5), "accum": np.zeros(5),
                                     "lr": 0.1, "eps": 1e-3}))
    cases += _bad_shapes(rng, ["accum"], {"lr": 0.1})
    return cases


def _rmsprop_cases(rng):
    cases = []
    for shape, scale, g in _grid(rng):
        for rho in (0.9, 0.99):
            lr = 0.01
            sq_avg = np.zeros(shape) if rng.random() < 0.3 else _gradient(rng, shape, scale) ** 2
            cases.append(Case(f"shape {shape}, gradient {_scale_name(scale)}, rho {rho}",
                              {"w": _small_w(rng, shape, lr), "g": g, "sq_avg": sq_avg, "lr": lr, "rho": rho}))
    cases.append(Case("eps = 1e-4", {"w": _small_w(rng, 5, 0.01), "g": 1e-4 * rng.normal(size=5), "sq_avg": np.zeros(5),
                                     "lr": 0.01, "eps": 1e-4}))
    cases += _bad_shapes(rng, ["sq_avg"], {"lr": 0.1})
    cases.append(Case("rho = 1", {"w": np.ones(2), "g": np.ones(2), "sq_avg": np.zeros(2), "lr": 0.1, "rho": 1.0},
                      raises=ValueError))
    return cases


def _moments(rng, shape, scale, t, beta1, beta2):
    """First and second moment estimates of the size they have after t - 1 steps of gradients at ``scale``."""
    if t == 1:
        return np.zeros(shape), np.zeros(shape)
    m = (1 - beta1 ** (t - 1)) * _gradient(rng, shape, scale)
    v = (1 - beta2 ** (t - 1)) * _gradient(rng, shape, scale) ** 2 * rng.uniform(0.5, 2.0, size=shape)
    return m, v


def _adam_cases(rng, decay=False):
    cases = []
    settings = [(1, 0.9, 0.999), (2, 0.9, 0.999), (7, 0.8, 0.99), (100, 0.9, 0.999), (5000, 0.9, 0.999)]
    for shape, scale, g in _grid(rng):
        for t, beta1, beta2 in settings:
            lr = float(rng.choice([1e-3, 1e-2]))
            m, v = _moments(rng, shape, scale, t, beta1, beta2)
            inputs = {"w": _small_w(rng, shape, lr), "g": g, "m": m, "v": v, "t": t, "lr": lr, "beta1": beta1,
                      "beta2": beta2}
            name = f"t = {t}, shape {shape}, gradient {_scale_name(scale)}, lr {lr:g}"
            if decay:
                inputs["weight_decay"] = float(rng.choice([0.004, 0.1, 0.5]))
                inputs["w"] = rng.normal(size=shape) * 0.1  # the decay term must be visible next to the step
                name += f", weight_decay {inputs['weight_decay']:g}"
            cases.append(Case(name, inputs))
    cases.append(Case("eps = 1e-4", {"w": _small_w(rng, 5, 1e-3), "g": 1e-4 * rng.normal(size=5), "m": np.zeros(5),
                                     "v": np.zeros(5), "t": 1, "eps": 1e-4}))
    extra = {"t": 3}
    cases += _bad_shapes(rng, ["m", "v"], extra)
    for t in (0, -1, 1.5):
        cases.append(Case(f"t = {t}", {"w": np.ones(2), "g": np.ones(2), "m": np.zeros(2), "v": np.zeros(2), "t": t},
                          raises=ValueError))
    cases.append(Case("beta2 = 1", {"w": np.ones(2), "g": np.ones(2), "m": np.zeros(2), "v": np.zeros(2), "t": 1,
                                    "beta2": 1.0}, raises=ValueError))
    return cases


def _adamw_cases(rng):
    cases = _adam_cases(rng, decay=True)
    cases.append(Case("weight_decay = 0", {"w": rng.normal(size=4), "g": rng.normal(size=4), "m": np.zeros(4),
                                           "v": np.zeros(4), "t": 1, "weight_decay": 0.0}))
    cases.append(Case("weight_decay < 0", {"w": np.ones(2), "g": np.ones(2), "m": np.zeros(2), "v": np.zeros(2), "t": 1,
                                           "weight_decay": -1e-3}, raises=ValueError))
    return cases


HIDDEN = {
    "sgd_step": _sgd_cases,
    "momentum_step": _velocity_cases,
    "nesterov_step": _velocity_cases,
    "adagrad_step": _adagrad_cases,
    "rmsprop_step": _rmsprop_cases,
    "adam_step": _adam_cases,
    "adamw_step": _adamw_cases,
}
