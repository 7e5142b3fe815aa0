"""What chapter 05's notebook claims, checked on what the notebook itself computes.

The solution notebook is executed once with a probe cell appended that reports the numbers
behind each claim. Two claims about other libraries (Keras's SGD weight decay, sklearn's
Ridge alpha) are checked against those libraries directly.
"""

import json

import numpy as np
import pytest

from autograder.chapters.ch05_regularization.reference import l2_penalty_grad, ridge_closed_form
from autograder.execute import execute_notebook, stream_text
from tests.submissions import solution_path

CHAPTER = "05_regularization"
pytestmark = pytest.mark.xdist_group("ch05-notebook")  # one worker executes the notebook once for the module

PROBE = r'''
import json as _json
import sys as _sys
def _mse(X, y, w, b):
    return float(np.mean((X @ w + b - y) ** 2))
_degree_val = {}
for _d in (1, 3, 9):
    _w, _b = least_squares(X_train[:, :_d], y_train)
    _degree_val[_d] = _mse(X_val[:, :_d], y_val, _w, _b)
print(_json.dumps({
    "degree_val": _degree_val,
    "gd_distance": {k: v[-1] for k, v in distances.items()},
    "lams": lams.tolist(), "train_err": train_err, "val_err": val_err, "best": best,
    "norms": [float(np.linalg.norm(w)) for w, _ in fits],
    "ridge_zeros": int(np.sum(w_ridge == 0)),
    "prox_zeros": int(np.sum(w_prox == 0)), "sub_zeros": int(np.sum(w_sub == 0)),
    "sub_min_abs": float(np.abs(w_sub).min()),
    "path_nonzero": nonzero,
    "sgd_l2_vs_decay": float(np.abs(w_l2 - w_wd).max()),
    "adam_l2_distance": float(np.linalg.norm(w_adam_l2 - w_exact)),
    "adamw_distance": float(np.linalg.norm(w_adamw - w_exact)),
    "es": {"best_val": best_gd["val"], "best_step": best_gd["step"], "stopped": stopped_at,
           "best_norm": float(np.linalg.norm(best_gd["w"])), "long_val": long_trace["val"][-1],
           "long_norm": long_trace["norm"][-1], "ridge_best_val": val_err[best]},
    "bias": {str(lam): [_mse(X_val, y_val, *ridge_closed_form(X_train, y_train, lam)),
                        _mse(X_val, y_val, *ridge_penalizing_the_bias(X_train, y_train, lam)),
                        ridge_closed_form(X_train, y_train, lam)[1], ridge_penalizing_the_bias(X_train, y_train, lam)[1]]
             for lam in (0.01, 0.3)},
    "y_mean": float(y_train.mean()),
    "tensorflow_loaded": "tensorflow" in _sys.modules,
}))
'''


@pytest.fixture(scope="module")
def claims():
    nb, _ = execute_notebook(solution_path(CHAPTER), extra_cells=[PROBE])
    return json.loads(stream_text(nb).strip().splitlines()[-1])


def test_the_executed_notebook_never_imported_tensorflow(claims):
    """The NumPy-chapter rule of tests/test_notebooks.py, checked on this execution (which stands in
    for that file's own execution of chapter 05 in the default run)."""
    assert claims["tensorflow_loaded"] is False


def test_degree_9_overfits_and_degree_1_underfits(claims):
    val = claims["degree_val"]
    assert val["9"] > 10 * val["3"] and val["1"] > 2 * val["3"]


def test_gradient_descent_converges_to_the_closed_form_faster_with_larger_lam(claims):
    dist = claims["gd_distance"]
    assert dist["lam = 0.01"] < 1e-3 and dist["lam = 0.1"] < 1e-12


def test_validation_error_against_lam_is_u_shaped_and_training_error_grows(claims):
    val, train, best = np.array(claims["val_err"]), np.array(claims["train_err"]), claims["best"]
    assert 0 < best < len(val) - 1
    assert val[0] > 10 * val[best] and val[-1] > 3 * val[best]
    assert np.all(np.diff(train) >= -1e-12)


def test_ridge_weights_shrink_without_becoming_zero(claims):
    norms = np.array(claims["norms"])
    assert np.all(np.diff(norms) <= 1e-9) and claims["ridge_zeros"] == 0


def test_proximal_lasso_gives_exact_zeros_and_the_subgradient_method_none(claims):
    assert claims["prox_zeros"] >= 3 and claims["sub_zeros"] == 0 and claims["sub_min_abs"] > 0
    nonzero = claims["path_nonzero"]
    assert nonzero[0] == 9 and nonzero[-1] <= 2


def test_sgd_with_l2_is_weight_decay_up_to_rounding(claims):
    assert claims["sgd_l2_vs_decay"] < 1e-12


def test_adam_with_l2_reaches_ridge_but_adamw_does_not(claims):
    assert claims["adam_l2_distance"] < 1e-8 and claims["adamw_distance"] > 0.1


def test_early_stopping_regularizes(claims):
    es = claims["es"]
    assert es["stopped"] < 20000 and es["best_step"] < es["stopped"]
    assert es["best_val"] < 0.5 * es["long_val"] and es["best_norm"] < 0.6 * es["long_norm"]
    assert es["best_val"] < 1.2 * es["ridge_best_val"]          # as good as the best ridge


def test_penalizing_the_bias_pulls_the_fit_toward_zero(claims):
    for lam, (_, _, b_free, b_penalized) in claims["bias"].items():
        assert b_penalized < b_free, lam
    val_free, val_penalized, _, _ = claims["bias"]["0.3"]
    assert val_penalized > 2 * val_free


def test_sklearn_ridge_alpha_is_n_times_lam():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    X, y, lam = rng.normal(size=(30, 4)), rng.normal(size=30) + 5.0, 0.07
    model = sklearn.Ridge(alpha=30 * lam).fit(X, y)
    w, b = ridge_closed_form(X, y, lam)
    np.testing.assert_allclose(model.coef_, w, rtol=1e-10)
    assert model.intercept_ == pytest.approx(b, rel=1e-10)


@pytest.mark.keras
def test_keras_sgd_weight_decay_of_2_lam_equals_the_l2_gradient_step():
    import os

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    keras = pytest.importorskip("keras")
    lam, lr = 0.01, 0.1
    w0, g = np.array([0.5, -1.0, 2.0]), np.array([0.3, 0.1, -0.2])
    var = keras.Variable(w0.astype("float64"), dtype="float64")
    keras.optimizers.SGD(learning_rate=lr, weight_decay=2 * lam).apply_gradients([(g, var)])
    expected = w0 - lr * (g + l2_penalty_grad(w0, lam))
    # Keras keeps the learning rate in a float32 variable (0.1 -> 0.100000001...): agreement to ~1e-9.
    np.testing.assert_allclose(np.asarray(var), expected, rtol=1e-7)
