"""Numbers chapter 10 (GPU lab) states in its text, computed; and its code follows its own rule."""

import numpy as np

from tests.submissions import load_solution

CHAPTER = "10_gpu_keras_lab"


def _source(cell_id):
    return "".join(next(c["source"] for c in load_solution(CHAPTER)["cells"] if c.get("id") == cell_id))


def test_float16_exp_overflows_above_about_11_1():
    threshold = np.log(float(np.finfo(np.float16).max))
    with np.errstate(over="ignore"):
        assert np.isfinite(np.exp(np.float16(11.0))) and np.isinf(np.exp(np.float16(11.1)))
    assert f"once $z$ exceeds about {threshold:.1f} ($\\ln {np.finfo(np.float16).max:.0f}$)" in _source("c014")


def test_the_multi_device_cell_scales_adams_rate_as_the_text_says():
    """Section 6 recommends about sqrt(k) for Adam; the data-parallel cell uses it for both backends."""
    assert "roughly $\\sqrt{k}$" in _source("c026")
    code = _source("c027")
    assert code.count("keras.optimizers.Adam(1e-3 * replicas ** 0.5)") == 2 and "1e-3 * replicas)" not in code
