"""What chapter 03 (optimizers) claims, checked with the reference steps; and the chapter's checks accept
other correct ways of writing each step. (The side-by-side comparison with Keras's optimizers is in
tests/reference/test_optimizers.py; here Keras's Adam formula is written in NumPy, as in the notebook.)"""

import json
from pathlib import Path

import numpy as np
import pytest

from autograder.chapters import chapter
from autograder.chapters.ch03_optimizers.reference import (
    adagrad_step,
    adam_step,
    adamw_step,
    momentum_step,
    nesterov_step,
    rmsprop_step,
    sgd_step,
)
from autograder.hidden import check_hidden, hidden_cases
from dlcourse.checks import check
from dlcourse.checks.encoding import dumps, loads

NOTEBOOK = Path(__file__).resolve().parent.parent / "solutions" / "03_optimizers" / "03_optimizers.ipynb"
STATE = {"sgd_step": 0, "momentum_step": 1, "nesterov_step": 1, "adagrad_step": 1, "rmsprop_step": 1, "adam_step": 2,
         "adamw_step": 2}
A = np.diag([1.0, 50.0])
W_START = np.array([-4.0, 1.5])


def _markdown(cell_id):
    """The text of one markdown cell of the chapter's source notebook."""
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return "".join(next(c["source"] for c in cells if c.get("id") == cell_id))


def optimize(step, grad_fn, w0, n_steps, **hyper):
    """The notebook's runner, for the reference steps."""
    n_state = STATE[step.__name__]
    w = np.array(w0, dtype=np.float64)
    state = [np.zeros_like(w) for _ in range(n_state)]
    path = [w]
    for t in range(1, n_steps + 1):
        extra = {"t": t} if n_state == 2 else {}
        out = step(w, grad_fn(w), *state, **extra, **hyper)
        w, state = (out[0], list(out[1:])) if n_state else (out, [])
        path.append(w)
    return np.array(path)


# ----------------------------------------------------------------------------- momentum forms
def test_three_momentum_forms_give_the_same_iterates_and_the_ema_trap_is_slower():
    lr, beta, n = 0.01, 0.9, 150
    ours = optimize(momentum_step, lambda w: A @ w, W_START, n, lr=lr, beta=beta)
    keras_form, ema, ema_same = [W_START], [W_START], [W_START]
    u = m = m2 = np.zeros(2)
    for _ in range(n):
        u = beta * u - lr * A @ keras_form[-1]
        keras_form.append(keras_form[-1] + u)
        m = beta * m + (1 - beta) * A @ ema[-1]
        ema.append(ema[-1] - lr / (1 - beta) * m)
        m2 = beta * m2 + (1 - beta) * A @ ema_same[-1]
        ema_same.append(ema_same[-1] - lr * m2)
    np.testing.assert_allclose(np.array(keras_form), ours, atol=1e-13)
    np.testing.assert_allclose(np.array(ema), ours, atol=1e-13)
    loss = lambda w: 0.5 * w @ A @ w
    assert loss(ema_same[-1]) > 1e4 * loss(ours[-1])


def test_nesterov_is_the_look_ahead_form_on_the_valley():
    lr, beta = 0.01, 0.9
    theta, u, w, v = W_START.copy(), np.zeros(2), W_START.copy(), np.zeros(2)
    for _ in range(100):
        u = beta * u - lr * A @ (theta + beta * u)
        theta = theta + u
        w, v = nesterov_step(w, A @ w, v, lr, beta)
        np.testing.assert_allclose(w, theta + beta * u, atol=1e-13)


# ----------------------------------------------------------------------------- momentum's rate, derived
def _fitted_contraction(path, first=100):
    """The notebook's fit: exp of the least-squares slope of ln ||w_k|| over steps first..end."""
    k = np.arange(first, len(path))
    return float(np.exp(np.polyfit(k, np.log(np.linalg.norm(path[first:], axis=1)), 1)[0]))


def _rates(kappa):
    """(GD formula, GD measured, momentum formula, momentum measured) on diag(1, kappa) from the start point."""
    matrix = np.diag([1.0, kappa])
    root = np.sqrt(kappa)
    gd = optimize(sgd_step, lambda w: matrix @ w, W_START, 200, lr=2 / (1 + kappa))
    hb = optimize(momentum_step, lambda w: matrix @ w, W_START, 200, lr=4 / (root + 1) ** 2,
                  beta=((root - 1) / (root + 1)) ** 2)
    return (kappa - 1) / (kappa + 1), _fitted_contraction(gd), (root - 1) / (root + 1), _fitted_contraction(hb)


@pytest.mark.parametrize("kappa", [10.0, 50.0, 250.0])
def test_measured_contractions_match_the_two_formulas(kappa):
    """GD at 2/(mu + L) contracts by exactly (kappa - 1)/(kappa + 1); the heavy ball at (lr*, beta*) within 1% of
    (sqrt kappa - 1)/(sqrt kappa + 1), about 0.7% above it (the double root's factor k over steps 100-200)."""
    gd_theory, gd_measured, hb_theory, hb_measured = _rates(kappa)
    assert gd_measured == pytest.approx(gd_theory, rel=1e-10)
    assert hb_theory < hb_measured < 1.01 * hb_theory
    assert round(100 * (hb_measured / hb_theory - 1), 1) == 0.7


def test_heavy_ball_is_the_momentum_step_and_the_roots_have_modulus_sqrt_beta():
    kappa = 50.0
    lr, beta = 4 / (np.sqrt(kappa) + 1) ** 2, ((np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)) ** 2
    path = optimize(momentum_step, lambda w: A @ w, W_START, 60, lr=lr, beta=beta)
    heavy_ball = [W_START, W_START - lr * A @ W_START]
    for _ in range(59):
        w = heavy_ball[-1]
        heavy_ball.append(w - lr * A @ w + beta * (w - heavy_ball[-2]))
    np.testing.assert_allclose(np.array(heavy_ball), path, rtol=1e-12, atol=1e-300)
    for lam in np.linspace(1.0, kappa, 7):  # every eigenvalue in [mu, L]: complex (or double) roots of modulus sqrt(beta)
        roots = np.roots([1.0, -(1 + beta - lr * lam), beta])
        np.testing.assert_allclose(np.abs(roots), np.sqrt(beta), rtol=1e-6)
    # at the ends the discriminant is zero: a double root
    for lam in (1.0, kappa):
        assert (1 + beta - lr * lam) ** 2 - 4 * beta == pytest.approx(0.0, abs=1e-12)


def test_stated_numbers_of_the_valley():
    kappa = 50.0
    gd_theory, _, hb_theory, _ = _rates(kappa)
    lr_star = 4 / (np.sqrt(kappa) + 1) ** 2
    steps_gd, steps_hb = np.log(1e-6) / np.log(gd_theory), np.log(1e-6) / np.log(hb_theory)
    text = _markdown("c055")
    assert f"\\rho_{{\\text{{GD}}}} = 49/51 = {gd_theory:.3f}" in text
    assert f"\\rho_{{\\text{{HB}}}} = {hb_theory:.3f}" in text
    assert f"takes {round(steps_gd)} steps against {round(steps_hb)}" in text
    assert f"\\eta^\\star = {lr_star:.3f}$ is above" in text and "limit $2/L = 0.04$" in text
    assert round(steps_gd / steps_hb) == round(np.sqrt(kappa)) == 7
    assert "about $\\sqrt{50} \\approx 7$ times fewer steps" in _markdown("c058")
    # stable while lr L < 2 (1 + beta), beyond gradient descent's 2 / L
    beta = hb_theory**2
    for factor, converges in ((0.99, True), (1.01, False)):
        w = optimize(momentum_step, lambda z: A @ z, W_START, 3000, lr=factor * 2 * (1 + beta) / kappa, beta=beta)[-1]
        assert (np.linalg.norm(w) < 1e-3) == converges, factor


# ----------------------------------------------------------------------------- Adagrad, RMSprop
def test_adagrad_without_eps_gives_nan_and_with_eps_leaves_the_entry_alone():
    g0 = np.array([0.0, 0.5])
    with np.errstate(invalid="ignore", divide="ignore"):
        article = np.ones(2) - 0.1 / np.sqrt(g0**2) * g0
    assert np.isnan(article[0]) and np.isfinite(article[1])
    w, _ = adagrad_step(np.ones(2), g0, np.zeros(2), 0.1)
    assert w[0] == 1.0


def test_constant_gradient_step_lengths():
    """Adagrad ~ 1/sqrt(t); RMSprop starts at 1/sqrt(1 - rho) and settles at 1."""
    ones = lambda w: np.ones_like(w)
    ada = np.abs(np.diff(optimize(adagrad_step, ones, np.zeros(1), 300, lr=1.0)[:, 0]))
    rms = np.abs(np.diff(optimize(rmsprop_step, ones, np.zeros(1), 300, lr=1.0)[:, 0]))
    np.testing.assert_allclose(ada, 1 / np.sqrt(np.arange(1, 301)), rtol=1e-6)
    assert rms[0] == pytest.approx(1 / np.sqrt(0.1), rel=1e-6)
    assert rms[-1] == pytest.approx(1.0, rel=1e-6)


# ----------------------------------------------------------------------------- Adam
def test_first_moment_bias_is_exactly_one_minus_beta_power_for_a_constant_gradient():
    m = v = np.zeros(1)
    for t in range(1, 50):
        _, m, v = adam_step(np.zeros(1), np.array([2.0]), m, v, t)
        assert m[0] == pytest.approx((1 - 0.9**t) * 2.0, rel=1e-12)
        assert v[0] == pytest.approx((1 - 0.999**t) * 4.0, rel=1e-12)


def test_the_bias_demo_averages_follow_the_formula():
    rng = np.random.default_rng(0)
    runs = 2000
    w, m, v = np.zeros(runs), np.zeros(runs), np.zeros(runs)
    for t in range(1, 201):
        w, m, v = adam_step(w, 1.0 + 2.0 * rng.standard_normal(runs), m, v, t)
        if t in (1, 10, 200):
            assert m.mean() == pytest.approx(1 - 0.9**t, abs=0.06)
            assert v.mean() / 5.0 == pytest.approx(1 - 0.999**t, rel=0.1)


def _step_lengths(t_of, T=3000):
    m = v = np.zeros(1)
    out = []
    for t in range(1, T + 1):
        w, m, v = adam_step(np.zeros(1), np.ones(1), m, v, t_of(t), lr=1.0)
        out.append(abs(w[0]))
    return np.array(out)


def test_adam_mistakes_on_a_constant_gradient():
    correct = _step_lengths(lambda t: t)
    np.testing.assert_allclose(correct, 1.0, rtol=1e-6)
    no_bc = _step_lengths(lambda t: 10**9)
    t = np.arange(1, 3001)
    np.testing.assert_allclose(no_bc, (1 - 0.9**t) / (np.sqrt(1 - 0.999**t) + 1e-7), rtol=1e-6)
    assert no_bc[0] == pytest.approx(3.16, abs=0.01)
    assert no_bc[9] == pytest.approx(6.5, abs=0.05)
    assert f"the twelfth (the worst) about {no_bc.max():.1f} times" in _markdown("c034")
    assert f"still {no_bc[999]:.2f} times" in _markdown("c034")
    assert int(np.argmax(no_bc)) + 1 == 12 and no_bc.max() == pytest.approx(6.57, abs=0.01)
    assert no_bc[999] == pytest.approx(1.26, abs=0.01)
    assert np.all(no_bc[:2000] > 1.0), "with the default betas the uncorrected steps are too long"
    twice = _step_lengths(lambda t: 2 * t)
    assert twice[0] == pytest.approx(0.1 / 0.19 / np.sqrt(0.001 / (1 - 0.999**2)), rel=1e-6) and twice[0] < 1
    # t incremented twice: too short only for the first 8 steps (the first by a quarter), then too long
    short = np.flatnonzero(twice < 1.0) + 1
    assert list(short) == list(range(1, 9)) and round(1 - twice[0], 2) == 0.26
    text = _markdown("c034")
    assert f"only the first {short[-1]} steps are too short" in text and f"from $t = {short[-1] + 1}$ on" in text
    assert f"by up to {round(100 * (twice.max() - 1))}% (near $t = {int(np.argmax(twice)) + 1}$)" in text
    m_only_first = 0.1 / (1 - 0.9) / np.sqrt(0.001)
    assert m_only_first == pytest.approx(31.6, abs=0.05)
    with pytest.raises(ValueError, match="t"):
        adam_step(np.zeros(1), np.ones(1), np.zeros(1), np.zeros(1), 0)


def test_adam_step_is_scale_free_and_the_garbled_version_is_not():
    for scale in (1e-6, 1e-3, 1.0, 1e3):
        w, _, _ = adam_step(np.zeros(1), np.array([scale]), np.zeros(1), np.zeros(1), 1, lr=1.0)
        assert abs(w[0]) == pytest.approx(scale / (scale + 1e-7), rel=1e-9)
        assert abs(w[0]) > 0.9


def keras_adam_update(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
    m = m + (g - m) * (1 - beta1)
    v = v + (g * g - v) * (1 - beta2)
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return w - lr_t * m / (np.sqrt(v) + eps), m, v


def test_keras_epsilon_hat_is_the_course_form_with_eps_over_sqrt_one_minus_beta2_power():
    rng = np.random.default_rng(3)
    w_k = w_a = w_c = rng.normal(size=6)
    m_k = v_k = m_a = v_a = m_c = v_c = np.zeros(6)
    gap_same, gap_converted = 0.0, 0.0
    for t in range(1, 31):
        g = rng.normal(size=6) * rng.choice([1e-8, 1e-4, 1.0], size=6)
        w_k, m_k, v_k = keras_adam_update(w_k, g, m_k, v_k, t)
        w_a, m_a, v_a = adam_step(w_a, g, m_a, v_a, t)
        w_c, m_c, v_c = adam_step(w_c, g, m_c, v_c, t, eps=1e-7 / np.sqrt(1 - 0.999**t))
        gap_same = max(gap_same, np.max(np.abs(w_k - w_a)))
        gap_converted = max(gap_converted, np.max(np.abs(w_k - w_c)))
    assert gap_converted < 1e-14
    assert gap_same > 1e-6


def test_epsilon_placement_thresholds():
    """eps = 1e-7 outside the sqrt damps gradients below ~1e-7; inside, below ~3e-4."""
    for g, outside, inside in [(1e-7, 0.5, 3.2e-4), (3e-4, 1.0, 0.69)]:
        w, _, _ = adam_step(np.zeros(1), np.array([g]), np.zeros(1), np.zeros(1), 1, lr=1.0)
        assert abs(w[0]) == pytest.approx(outside, abs=0.01)
        assert g / np.sqrt(g * g + 1e-7) == pytest.approx(inside, rel=0.02)


# ----------------------------------------------------------------------------- AdamW
def test_l2_in_adam_versus_adamw_demo():
    rng = np.random.default_rng(0)
    lam, lr, T = 0.1, 0.01, 600
    w_l2 = w_dw = np.ones(2)
    m_l2 = v_l2 = m_dw = v_dw = np.zeros(2)
    reached_zero = None
    for t in range(1, T + 1):
        g = np.array([10.0 * rng.standard_normal(), 0.0])
        w_l2, m_l2, v_l2 = adam_step(w_l2, g + lam * w_l2, m_l2, v_l2, t, lr=lr)
        w_dw, m_dw, v_dw = adamw_step(w_dw, g, m_dw, v_dw, t, lr=lr, weight_decay=lam)
        if reached_zero is None and abs(w_l2[1]) < 0.01:
            reached_zero = t
        assert w_dw[1] == pytest.approx((1 - lr * lam) ** t, rel=1e-12)
    assert reached_zero is not None and reached_zero < 300
    assert abs(w_l2[0] - 1.0) < 0.2, "the busy weight is barely decayed under L2"
    assert w_dw[0] < 0.8


# ----------------------------------------------------------------------------- the race
GRID = [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0]
RACE = [sgd_step, momentum_step, nesterov_step, adagrad_step, rmsprop_step, adam_step]


ROTATION = np.array([[np.cos(np.deg2rad(30)), -np.sin(np.deg2rad(30))], [np.sin(np.deg2rad(30)), np.cos(np.deg2rad(30))]])


def _best(step, matrix, start=W_START):
    losses = []
    with np.errstate(all="ignore"):
        for lr in GRID:
            w = optimize(step, lambda z: matrix @ z, start, 200, lr=lr)[-1]
            losses.append(0.5 * w @ matrix @ w)
    return np.nanmin(losses), losses


def test_valley_table_claims():
    """The notebook turns the start point with the valley (R A R^T from R w_start)."""
    rotated = ROTATION @ A @ ROTATION.T
    runs = {s.__name__: (_best(s, A), _best(s, rotated, ROTATION @ W_START)) for s in RACE}
    best = {name: (a[0], r[0]) for name, (a, r) in runs.items()}
    for name in ("sgd_step", "momentum_step", "nesterov_step"):
        # "exactly equally well in both orientations": the same losses at every rate of the grid
        np.testing.assert_allclose(runs[name][1][1], runs[name][0][1], rtol=1e-9, atol=1e-300, err_msg=name)
    assert min(best, key=lambda k: best[k][0]) == "adagrad_step", "Adagrad wins on the axis-aligned valley"
    assert best["adagrad_step"][1] > 1e-3 and best["adagrad_step"][1] > best["sgd_step"][1]
    for name in ("momentum_step", "nesterov_step"):
        assert best[name][0] < 1e-6 and best[name][1] < 1e-6
    assert best["rmsprop_step"][0] > 1e-4 and best["rmsprop_step"][1] > 1e-4
    assert _best(adam_step, A)[1][0] > best["sgd_step"][0], "Adam at lr 1e-3 loses to tuned SGD"


def _rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def _rosenbrock_grad(p):
    return np.array([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)])


ROSENBROCK_LR = {"sgd_step": 2e-3, "momentum_step": 2e-3, "nesterov_step": 1e-3, "adagrad_step": 1.0,
                 "rmsprop_step": 2e-3, "adam_step": 0.05}
ROSENBROCK_GRID = [1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 0.1, 0.2, 0.5, 1.0]


def test_the_best_rates_span_1e_3_to_1():
    """Summary: 'the best values span three orders of magnitude (from 10^-3 to 1)' (Rosenbrock's best rates,
    each pinned to its grid by the test below)."""
    low, high = min(ROSENBROCK_LR.values()), max(ROSENBROCK_LR.values())
    assert (low, high) == (1e-3, 1.0)
    assert f"(from $10^{{{int(np.log10(low))}}}$ to {high:g})" in _markdown("c054")


@pytest.mark.parametrize("step", RACE, ids=lambda s: s.__name__)
def test_rosenbrock_learning_rates_are_the_best_of_the_stated_grid(step):
    finals = []
    with np.errstate(all="ignore"):
        for lr in ROSENBROCK_GRID:
            finals.append(_rosenbrock(optimize(step, _rosenbrock_grad, np.array([-1.2, 1.0]), 3000, lr=lr)[-1]))
    assert ROSENBROCK_GRID[int(np.nanargmin(finals))] == ROSENBROCK_LR[step.__name__]


def test_digits_every_optimizer_reaches_about_the_same_accuracy():
    from dlcourse.data import load_digits

    d = load_digits()
    X, y, Xv, yv = d["X_train"], d["y_train"], d["X_val"], d["y_val"]
    k = 10

    def grad(theta, Xb, yb):
        W, b = theta[:64 * k].reshape(64, k), theta[64 * k:]
        z = Xb @ W + b
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(yb)), yb] -= 1.0
        p /= len(yb)
        return np.concatenate([(Xb.T @ p).ravel(), p.sum(axis=0)])

    settings = [(sgd_step, {"lr": 1.0}), (momentum_step, {"lr": 0.1}), (nesterov_step, {"lr": 0.1}),
                (adagrad_step, {"lr": 0.3}), (rmsprop_step, {"lr": 0.01}), (adam_step, {"lr": 0.03}),
                (adamw_step, {"lr": 0.03, "weight_decay": 0.004})]
    for step, hyper in settings:
        n_state = STATE[step.__name__]
        theta = np.zeros(64 * k + k)
        state, t, rng = [np.zeros_like(theta) for _ in range(n_state)], 0, np.random.default_rng(0)
        for _ in range(15):
            order = rng.permutation(len(y))
            for s in range(0, len(y), 64):
                batch = order[s:s + 64]
                t += 1
                out = step(theta, grad(theta, X[batch], y[batch]), *state, **({"t": t} if n_state == 2 else {}), **hyper)
                theta, state = (out[0], list(out[1:])) if n_state else (out, [])
        W, b = theta[:64 * k].reshape(64, k), theta[64 * k:]
        accuracy = np.mean(np.argmax(Xv @ W + b, axis=1) == yv)
        assert 0.94 <= accuracy <= 0.98, (step.__name__, accuracy)


# ----------------------------------------------------------------------------- other correct implementations
def _adam_alpha_t(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
    """The paper's efficient form with eps converted to this course's convention."""
    if int(t) != t or t < 1 or np.shape(w) != np.shape(g) or np.shape(m) != np.shape(w) or np.shape(v) != np.shape(w):
        raise ValueError("bad input")
    if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
        raise ValueError("bad beta")
    m = beta1 * np.asarray(m, float) + (1 - beta1) * np.asarray(g, float)
    v = beta2 * np.asarray(v, float) + (1 - beta2) * np.square(g)
    alpha_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    return np.asarray(w, float) - alpha_t * m / (np.sqrt(v) + eps * np.sqrt(1 - beta2**t)), m, v


def _adamw_keras_order(w, g, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=0.004):
    """Keras's order: decay first, then the Adam step."""
    if weight_decay < 0:
        raise ValueError("bad weight_decay")
    w = np.asarray(w, float)
    decayed = w - lr * weight_decay * w
    return _adam_alpha_t(decayed, g, m, v, t, lr, beta1, beta2, eps)


def _rmsprop_incremental(w, g, sq_avg, lr, rho=0.9, eps=1e-7):
    if np.shape(w) != np.shape(g) or np.shape(sq_avg) != np.shape(w) or not 0 <= rho < 1:
        raise ValueError("bad input")
    s = np.asarray(sq_avg, float)
    s = s + (1 - rho) * (np.square(g) - s)
    return np.asarray(w, float) - lr * np.asarray(g, float) / (np.sqrt(s) + eps), s


def _nesterov_expanded(w, g, velocity, lr, beta=0.9):
    if np.shape(w) != np.shape(g) or np.shape(velocity) != np.shape(w) or not 0 <= beta < 1:
        raise ValueError("bad input")
    v = beta * np.asarray(velocity, float) + g
    return np.asarray(w, float) - lr * np.asarray(g, float) - lr * beta * v, v


def _momentum_inline(w, g, velocity, lr, beta=0.9):
    if np.shape(w) != np.shape(g) or np.shape(velocity) != np.shape(w) or not 0 <= beta < 1:
        raise ValueError("bad input")
    return np.asarray(w, float) - lr * (beta * np.asarray(velocity, float) + g), beta * np.asarray(velocity, float) + g


def _adagrad_power(w, g, accum, lr, eps=1e-7):
    if np.shape(w) != np.shape(g) or np.shape(accum) != np.shape(w):
        raise ValueError("bad input")
    a = np.asarray(accum, float) + np.power(g, 2)
    return np.asarray(w, float) - lr * np.asarray(g, float) / (a**0.5 + eps), a


@pytest.mark.parametrize("name, impl", [("adam_step", _adam_alpha_t), ("adamw_step", _adamw_keras_order),
                                        ("rmsprop_step", _rmsprop_incremental), ("nesterov_step", _nesterov_expanded),
                                        ("momentum_step", _momentum_inline), ("adagrad_step", _adagrad_power)])
def test_other_correct_ways_of_writing_a_step_pass(name, impl):
    check(impl, name)
    check_hidden(impl, name)


# ----------------------------------------------------------------------------- grading transport
@pytest.mark.parametrize("chapter_id", ["02_gradient_descent", "03_optimizers"])
def test_hidden_inputs_of_chapters_02_and_03_travel_as_data(chapter_id):
    """At grading time hidden inputs are sent to the learner's kernel as JSON: they must round-trip exactly."""
    module = chapter(chapter_id).module("cases")
    for name in module.HIDDEN:
        for case in hidden_cases(name):
            back = loads(dumps(case.inputs))
            assert back.keys() == case.inputs.keys(), (name, case.name)
            for key, value in case.inputs.items():
                if callable(value):
                    assert back[key] is value
                else:
                    np.testing.assert_array_equal(np.asarray(back[key]), np.asarray(value), err_msg=f"{name}: {case.name}")
