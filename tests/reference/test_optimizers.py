"""Tests of the chapter 03 reference (optimizer steps) and its known mistakes.

The Keras tests (marked ``keras``) step each reference optimizer side by side with the
matching Keras 3 optimizer on one keras.Variable (float64), over the same 25 gradients
whose scales range from 1e-8 to 1e4, and compare parameters and state after every step.

Where the two conventions differ, the test converts one into the other exactly, so the
comparison can stay tight:
* Keras keeps its learning rate in a float32 variable, and Keras 3's ops.cast turns a
  Python float into a float32 tensor before casting it to the variable's float64
  (ops.cast(0.9, "float64") == 0.8999999761581421): momentum, Adam's beta powers and
  AdamW's weight decay are float32-rounded, while (1 - beta) in Adam's moment updates
  is exact. Every hyperparameter is therefore chosen float32-representable (f32(...))
  and both sides get the same number.
* momentum / Nesterov: Keras stores v_keras = beta v_keras - lr g = -lr v_course.
* Adagrad / RMSprop: Keras divides by sqrt(a + eps); the course by sqrt(a) + eps. The
  reference is called with the elementwise eps_eff = eps / (sqrt(a + eps) + sqrt(a)),
  for which sqrt(a) + eps_eff = sqrt(a + eps) exactly (a: the new accumulator).
  Keras's Adagrad also starts its accumulator at initial_accumulator_value (default
  0.1, not 0): the reference is simply started from the same value.
* Adam / AdamW: Keras uses "epsilon hat", w -= lr_t m / (sqrt(v) + eps) with
  lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t). Dividing through,
  lr m_hat / (sqrt(v_hat) + eps / sqrt(1 - beta2^t)): the reference is called with
  eps_t = eps / sqrt(1 - beta2^t). (With eps = 1e-7 unconverted, the two differ by a
  factor ~30 on a 1e-8 gradient: a test below shows it.)
* AdamW: Keras first applies w -= lr * weight_decay * w (the same lr variable) and then
  the Adam step, which is this course's decoupled form.

After conversion the only differences are float64 rounding in a different order of
operations, ~1e-16 relative per operation (the worst seen over 25 steps is ~6e-16 of
the largest entry). Parameters and state are compared with rtol 1e-10 and atol 1e-12
times the largest magnitude (cancellations make a plain relative tolerance
meaningless for entries near 0): tight enough that any convention slip (a float32
hyperparameter, eps on the wrong side of the sqrt, ~1e-8 or more) fails.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from autograder.chapters.ch03_optimizers.mistakes import MISTAKES
from autograder.chapters.ch03_optimizers.reference import (
    adagrad_step,
    adam_step,
    adamw_step,
    keras_momentum_step,
    momentum_step,
    nesterov_step,
    rmsprop_step,
    sgd_step,
)

SHAPE = (2, 3)
N_STEPS = 25


def gradient_sequence(seed=0, n=N_STEPS, shape=SHAPE):
    """n random gradients; each has its own scale in {1e-8, 1e-3, 1, 1e4}; the first is
    tiny (where epsilon matters most), one has mixed per-entry scales, one has a zero."""
    rng = np.random.default_rng(seed)
    scales = rng.choice([1e-8, 1e-3, 1.0, 1e4], size=n)
    scales[0], scales[1], scales[2] = 1e-8, 1e4, 1.0
    grads = [s * rng.normal(size=shape) for s in scales]
    grads[5] = rng.normal(size=shape) * np.array([[1e-8, 1.0, 1e4], [1e4, 1e-8, 1e-3]])
    grads[7] = grads[7].copy()
    grads[7][0, 0] = 0.0
    return grads


W0 = np.random.default_rng(42).normal(size=SHAPE)


def assert_close(got, expected, what, rtol=1e-10, atol_factor=1e-12):
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol_factor * scale, err_msg=what)


# --------------------------------------------------------------------------- pure NumPy checks
def test_sgd_step_formula():
    w, g = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    np.testing.assert_allclose(sgd_step(w, g, 0.1), [0.95, -2.4], rtol=1e-15)


def test_momentum_equals_keras_form_and_ema_form():
    """Same method, three parametrizations: v_keras = -lr v, and the EMA velocity
    v_ema = beta v_ema + (1 - beta) g with lr_ema = lr / (1 - beta)."""
    lr, beta = 0.01, 0.9
    w = w_k = w_e = W0.copy()
    v = v_k = v_e = np.zeros(SHAPE)
    for g in gradient_sequence(1):
        w, v = momentum_step(w, g, v, lr, beta)
        w_k, v_k = keras_momentum_step(w_k, g, v_k, lr, beta)
        v_e = beta * v_e + (1 - beta) * g
        w_e = w_e - lr / (1 - beta) * v_e
        assert_close(w_k, w, "Keras form")
        assert_close(v_k, -lr * v, "Keras velocity")
        assert_close(w_e, w, "EMA form")


def test_nesterov_equals_look_ahead_gradient_on_a_quadratic():
    """Sutskever's form u <- beta u - lr grad(theta + beta u), theta <- theta + u equals the
    reference in the shifted variable w = theta + beta u (with u = -lr v)."""
    A = np.array([[3.0, 0.4], [0.4, 0.5]])
    grad = lambda z: A @ z
    lr, beta = 0.05, 0.9
    theta, u = np.array([1.0, -2.0]), np.zeros(2)
    w, v = theta.copy(), np.zeros(2)
    for _ in range(30):
        u = beta * u - lr * grad(theta + beta * u)
        theta = theta + u
        w, v = nesterov_step(w, grad(w), v, lr, beta)
        np.testing.assert_allclose(w, theta + beta * u, rtol=1e-11, atol=1e-13)
        np.testing.assert_allclose(-lr * v, u, rtol=1e-11, atol=1e-13)


def test_adam_first_step_has_size_lr():
    """With bias correction m_hat = g and v_hat = g^2 at t = 1, so each entry moves by
    lr g / (|g| + eps) ~ lr, whatever the gradient's scale (articles 000 §3.2.3, 002 §3.4)."""
    g = np.array([1e-3, -2.0, 5e3])
    w1, m1, v1 = adam_step(np.zeros(3), g, np.zeros(3), np.zeros(3), 1, lr=0.01)
    np.testing.assert_allclose(w1, -0.01 * np.sign(g), rtol=1e-3)
    np.testing.assert_allclose(m1, 0.1 * g, rtol=1e-14)
    np.testing.assert_allclose(v1, 0.001 * g**2, rtol=1e-14)


def test_adamw_without_decay_is_adam():
    w, m, v = W0.copy(), np.zeros(SHAPE), np.zeros(SHAPE)
    w2, m2, v2 = w.copy(), m.copy(), v.copy()
    for t, g in enumerate(gradient_sequence(2), start=1):
        w, m, v = adam_step(w, g, m, v, t, lr=0.01)
        w2, m2, v2 = adamw_step(w2, g, m2, v2, t, lr=0.01, weight_decay=0.0)
        for a, b in ((w, w2), (m, m2), (v, v2)):
            np.testing.assert_array_equal(a, b)


def test_adamw_decay_is_decoupled_from_the_moments():
    w, g = np.array([2.0, -1.0]), np.array([0.3, 0.1])
    zeros = np.zeros(2)
    wa, ma, va = adam_step(w, g, zeros, zeros, 1, lr=0.1)
    ww, mw, vw = adamw_step(w, g, zeros, zeros, 1, lr=0.1, weight_decay=0.5)
    np.testing.assert_allclose(ww, wa - 0.1 * 0.5 * w, rtol=1e-14)
    np.testing.assert_array_equal(mw, ma)
    np.testing.assert_array_equal(vw, va)


def test_adagrad_zero_gradient_on_first_step_is_safe():
    w1, a1 = adagrad_step(np.ones(2), np.array([0.0, 1.0]), np.zeros(2), 0.1)
    assert np.all(np.isfinite(w1))
    assert w1[0] == 1.0
    np.testing.assert_allclose(a1, [0.0, 1.0])


STEP_CALLS = {
    "sgd_step": lambda w, g, s: sgd_step(w, g, 0.1),
    "momentum_step": lambda w, g, s: momentum_step(w, g, s[0], 0.1),
    "keras_momentum_step": lambda w, g, s: keras_momentum_step(w, g, s[0], 0.1, 0.9),
    "nesterov_step": lambda w, g, s: nesterov_step(w, g, s[0], 0.1),
    "adagrad_step": lambda w, g, s: adagrad_step(w, g, s[0], 0.1),
    "rmsprop_step": lambda w, g, s: rmsprop_step(w, g, s[0], 0.1),
    "adam_step": lambda w, g, s: adam_step(w, g, s[0], s[1], 3),
    "adamw_step": lambda w, g, s: adamw_step(w, g, s[0], s[1], 3),
}


@pytest.mark.parametrize("name", list(STEP_CALLS))
def test_steps_do_not_modify_inputs_and_return_new_arrays(name):
    rng = np.random.default_rng(3)
    w, g = rng.normal(size=SHAPE), rng.normal(size=SHAPE)
    state = [np.abs(rng.normal(size=SHAPE)) for _ in range(2)]
    before = [a.copy() for a in (w, g, *state)]
    out = STEP_CALLS[name](w, g, state)
    out = out if isinstance(out, tuple) else (out,)
    for a, b in zip(before, (w, g, *state), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=f"{name} modified an input")
    for o in out:
        assert o.shape == SHAPE and o.dtype == np.float64
        assert all(o is not a for a in (w, g, *state))


@pytest.mark.parametrize(
    "call, what",
    [
        (lambda: sgd_step(np.ones(3), np.ones(2), 0.1), "shape"),
        (lambda: sgd_step(np.ones(3), np.ones(3), -0.1), "lr"),
        (lambda: momentum_step(np.ones(3), np.ones(3), np.ones(2), 0.1), "velocity"),
        (lambda: momentum_step(np.ones(3), np.ones(3), np.ones(3), 0.1, beta=1.0), "beta"),
        (lambda: nesterov_step(np.ones(3), np.ones(3), np.ones(3), 0.1, beta=-0.1), "beta"),
        (lambda: adagrad_step(np.ones(3), np.ones(3), np.ones(3), 0.1, eps=-1.0), "eps"),
        (lambda: rmsprop_step(np.ones(3), np.ones(3), np.ones(3), 0.1, rho=1.5), "rho"),
        (lambda: adam_step(np.ones(3), np.ones(3), np.ones(3), np.ones(3), 0), "t must"),
        (lambda: adam_step(np.ones(3), np.ones(3), np.ones(3), np.ones(3), 1.5), "t must"),
        (lambda: adam_step(np.ones(3), np.ones(3), np.ones(3), np.ones(2), 1), "v must"),
        (lambda: adam_step(np.ones(3), np.ones(3), np.ones(3), np.ones(3), 1, beta2=1.0),
         "beta2"),
        (lambda: adamw_step(np.ones(3), np.ones(3), np.ones(3), np.ones(3), 1,
                            weight_decay=-0.1), "weight_decay"),
    ],
)
def test_steps_reject_bad_input(call, what):
    with pytest.raises(ValueError, match=what):
        call()


# --------------------------------------------------------------------------- Keras side by side
@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return pytest.importorskip("keras")


def f32(x):
    """x rounded to float32 (and back to a Python float): a value Keras keeps exactly."""
    return float(np.float32(x))


def keras_lr(opt):
    """The learning rate Keras actually uses: its float32 variable, as a float."""
    return float(np.asarray(opt.learning_rate))


def keras_run(keras, opt, grads, slots):
    """Apply grads one at a time to a float64 keras.Variable starting at W0.

    slots(opt) -> list of the optimizer's state variables for that variable.
    Yields (w, [state arrays]) after each step."""
    var = keras.Variable(W0.copy(), dtype="float64")
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), var)])
        yield np.asarray(var.numpy()), [np.asarray(s.numpy()) for s in slots(opt)]


def effective_eps(eps, a_new):
    """eps_eff with sqrt(a_new) + eps_eff == sqrt(a_new + eps): Keras's eps inside the sqrt."""
    return eps / (np.sqrt(a_new + eps) + np.sqrt(a_new))


@pytest.mark.keras
def test_sgd_matches_keras(keras):
    opt = keras.optimizers.SGD(learning_rate=0.01)
    lr = keras_lr(opt)
    w = W0.copy()
    for k, (g, (w_k, _)) in enumerate(zip(gradient_sequence(), keras_run(
            keras, opt, gradient_sequence(), lambda o: []), strict=True)):
        w = sgd_step(w, g, lr)
        assert_close(w_k, w, f"SGD step {k + 1}")


@pytest.mark.keras
@pytest.mark.parametrize("nesterov", [False, True], ids=["momentum", "nesterov"])
def test_momentum_matches_keras(keras, nesterov):
    beta = f32(0.9)
    opt = keras.optimizers.SGD(learning_rate=0.01, momentum=beta, nesterov=nesterov)
    lr = keras_lr(opt)
    step = nesterov_step if nesterov else momentum_step
    w, v = W0.copy(), np.zeros(SHAPE)
    w_h, v_h = W0.copy(), np.zeros(SHAPE)  # keras_momentum_step (plain momentum only)
    grads = gradient_sequence()
    for k, (g, (w_k, (v_k,))) in enumerate(zip(grads, keras_run(
            keras, opt, grads, lambda o: [o.momentums[0]]), strict=True)):
        w, v = step(w, g, v, lr, beta)
        assert_close(w_k, w, f"w, step {k + 1}")
        assert_close(v_k, -lr * v, f"Keras velocity = -lr * velocity, step {k + 1}")
        if not nesterov:
            w_h, v_h = keras_momentum_step(w_h, g, v_h, lr, beta)
            assert_close(w_k, w_h, f"keras_momentum_step w, step {k + 1}")
            assert_close(v_k, v_h, f"keras_momentum_step velocity, step {k + 1}")


@pytest.mark.keras
@pytest.mark.parametrize("initial", [0.0, 0.1], ids=["accumulator-0", "keras-default-0.1"])
def test_adagrad_matches_keras(keras, initial):
    eps, initial = 1e-7, f32(initial)
    opt = keras.optimizers.Adagrad(learning_rate=0.01, initial_accumulator_value=initial,
                                   epsilon=eps)
    lr = keras_lr(opt)
    w, a = W0.copy(), np.full(SHAPE, initial)
    grads = gradient_sequence()
    for k, (g, (w_k, (a_k,))) in enumerate(zip(grads, keras_run(
            keras, opt, grads, lambda o: [o._accumulators[0]]), strict=True)):
        w, a = adagrad_step(w, g, a, lr, eps=effective_eps(eps, a + g * g))
        assert_close(w_k, w, f"w, step {k + 1}")
        assert_close(a_k, a, f"accumulator, step {k + 1}")


@pytest.mark.keras
def test_rmsprop_matches_keras(keras):
    eps, rho = 1e-7, f32(0.9)
    opt = keras.optimizers.RMSprop(learning_rate=0.01, rho=rho, epsilon=eps)
    lr = keras_lr(opt)
    w, s = W0.copy(), np.zeros(SHAPE)
    grads = gradient_sequence()
    for k, (g, (w_k, (s_k,))) in enumerate(zip(grads, keras_run(
            keras, opt, grads, lambda o: [o._velocities[0]]), strict=True)):
        s_next = rho * s + (1 - rho) * g * g
        w, s = rmsprop_step(w, g, s, lr, rho=rho, eps=effective_eps(eps, s_next))
        assert_close(w_k, w, f"w, step {k + 1}")
        assert_close(s_k, s, f"squared average, step {k + 1}")


@pytest.mark.keras
@pytest.mark.parametrize("decoupled", [False, True], ids=["Adam", "AdamW"])
def test_adam_and_adamw_match_keras(keras, decoupled):
    eps, b1, b2, wd = 1e-7, f32(0.9), f32(0.999), f32(0.05)
    if decoupled:
        opt = keras.optimizers.AdamW(learning_rate=0.01, weight_decay=wd, beta_1=b1,
                                     beta_2=b2, epsilon=eps)
    else:
        opt = keras.optimizers.Adam(learning_rate=0.01, beta_1=b1, beta_2=b2, epsilon=eps)
    lr = keras_lr(opt)
    w, m, v = W0.copy(), np.zeros(SHAPE), np.zeros(SHAPE)
    grads = gradient_sequence()
    for t, (g, (w_k, (m_k, v_k))) in enumerate(zip(grads, keras_run(
            keras, opt, grads, lambda o: [o._momentums[0], o._velocities[0]]), strict=True),
            start=1):
        eps_t = eps / np.sqrt(1 - b2**t)  # Keras's epsilon hat, in this course's form
        if decoupled:
            w, m, v = adamw_step(w, g, m, v, t, lr, b1, b2, eps_t, weight_decay=wd)
        else:
            w, m, v = adam_step(w, g, m, v, t, lr, b1, b2, eps_t)
        assert_close(w_k, w, f"w, step {t}")
        assert_close(m_k, m, f"m, step {t}")
        assert_close(v_k, v, f"v, step {t}")


@pytest.mark.keras
def test_adam_matches_keras_with_negligible_eps(keras):
    """No conversion at all when eps is negligible against sqrt(v) (gradients >= 1e-8)."""
    eps, b1, b2 = 1e-30, f32(0.9), f32(0.999)
    opt = keras.optimizers.Adam(learning_rate=0.01, beta_1=b1, beta_2=b2, epsilon=eps)
    lr = keras_lr(opt)
    w, m, v = W0.copy(), np.zeros(SHAPE), np.zeros(SHAPE)
    grads = gradient_sequence()
    for t, (g, (w_k, _)) in enumerate(zip(grads, keras_run(keras, opt, grads, lambda o: []), strict=True),
                                      start=1):
        w, m, v = adam_step(w, g, m, v, t, lr=lr, beta1=b1, beta2=b2, eps=eps)
        assert_close(w_k, w, f"w, step {t}")


@pytest.mark.keras
def test_keras_adam_epsilon_hat_is_not_the_course_epsilon(keras):
    """Unconverted, the default eps = 1e-7 gives very different first steps on a 1e-8
    gradient: Keras's effective eps is 1e-7 / sqrt(1 - 0.999) ~ 3.2e-6 at t = 1."""
    g = np.full(SHAPE, 1e-8)
    b1, b2 = f32(0.9), f32(0.999)
    opt = keras.optimizers.Adam(learning_rate=0.01, beta_1=b1, beta_2=b2)
    (w_k, _), = keras_run(keras, opt, [g], lambda o: [])
    z = np.zeros(SHAPE)
    w, _, _ = adam_step(W0, g, z, z, 1, lr=keras_lr(opt), beta1=b1, beta2=b2)
    ratio = (W0 - w) / (W0 - w_k)  # = (|g| + eps / sqrt(1 - beta2)) / (|g| + eps)
    np.testing.assert_allclose(ratio, (1e-8 + 1e-7 / np.sqrt(1 - b2)) / (1e-8 + 1e-7),
                               rtol=1e-8)
    assert np.all(ratio > 20)


# --------------------------------------------------------------------------- mistakes
def _generic_inputs(seed=11):
    """Gradients ~1e-4 and matching moments, so that eps = 1e-7 matters as it does early
    in training; lr and weight decay large enough that decay-order mistakes show."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=4)
    g = 1e-4 * rng.normal(size=4)
    m = 1e-4 * rng.normal(size=4)
    v = 1e-8 * rng.uniform(0.5, 2.0, size=4)
    return w, g, m, v


def _generic_call(name, impl):
    """Run impl on a generic input; return (w_new - w, *new_state): comparing the step
    rather than w_new keeps a mistake from hiding behind a large w."""
    w, g, m, v = _generic_inputs()
    if name == "sgd_step":
        out = (impl(w, g, 0.1),)
    elif name in ("momentum_step", "nesterov_step"):
        out = impl(w, 1e4 * g, 1e4 * m, 0.1, 0.9)  # gradient and velocity both O(1)
    elif name == "adagrad_step":
        g0 = g.copy()
        g0[0] = 0.0  # article 002 §3.3: a zero gradient on the first step
        out = impl(w, g0, np.zeros(4), 0.1, 1e-7)
    elif name == "rmsprop_step":
        out = impl(w, g, v, 0.01, 0.9, 1e-7)
    elif name == "adam_step":
        out = impl(w, g, m, v, 3, 1e-3, 0.9, 0.999, 1e-7)
    elif name == "adamw_step":
        out = impl(w, g, m, v, 3, 0.05, 0.9, 0.999, 1e-7, 0.1)
    else:
        raise KeyError(name)
    return (out[0] - w, *out[1:])


def same_output(a, b, rtol=1e-6, atol=1e-12):
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(same_output(x, y, rtol, atol) for x, y in zip(a, b, strict=True)))
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


REFERENCE = {
    "sgd_step": sgd_step,
    "momentum_step": momentum_step,
    "nesterov_step": nesterov_step,
    "adagrad_step": adagrad_step,
    "rmsprop_step": rmsprop_step,
    "adam_step": adam_step,
    "adamw_step": adamw_step,
}
MISTAKE_CASES = [(name, desc) for name, table in MISTAKES.items() for desc in table]


def test_every_graded_step_has_mistakes():
    assert set(MISTAKES) == set(REFERENCE)
    for name, table in MISTAKES.items():
        assert 2 <= len(table) <= 6, name


@pytest.mark.parametrize("name, desc", MISTAKE_CASES, ids=[f"{n}: {d}" for n, d in MISTAKE_CASES])
def test_mistake_differs_from_reference(name, desc):
    expected = _generic_call(name, REFERENCE[name])
    got = _generic_call(name, MISTAKES[name][desc])
    # rtol 1e-4 (not just 1e-6): a mistake must not be a near miss that a check with a
    # loose tolerance would accept.
    assert not same_output(got, expected, rtol=1e-4), (
        f"{name}: '{desc}' gives the reference output (step and state within 1e-4)")
