"""Training throughput of chapter 10's convnet per configuration: precision x XLA x batch size.

    python -m benchmarks.gpu_lab                       # the CPU grid, or the full grid on a GPU
    KERAS_BACKEND=jax python -m benchmarks.gpu_lab     # the same on JAX (TensorFlow is never imported)
    python -m benchmarks.gpu_lab --batch-sizes 64,256 --steps 20 --precisions float32,mixed_float16 --xla off,on

Random images of the chosen size (throughput does not depend on the pixel values), the
reference ``build_cnn``, ``make_dataset`` and ``measure_throughput`` of chapter 10, a fresh
model per configuration. Prints a Markdown table: examples/second, achieved TFLOP/s (training
FLOPs counted analytically, 3x the forward pass), and the fraction of the GPU's datasheet peak
when ``dlcourse.accelerator.PEAK_TFLOPS`` knows the GPU. docs/gpu_lab.md records figures.

On JAX, "XLA off" (``jit_compile=False``) runs the step op by op, without jax.jit; on PyTorch,
"XLA on" means ``torch.compile``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time


def _ints(text):
    return tuple(int(v) for v in text.split(",") if v)


def _words(text):
    return tuple(v.strip() for v in text.split(",") if v.strip())


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np

    from autograder.chapters.ch10_gpu_keras_lab.reference import build_cnn, make_dataset, measure_throughput
    from dlcourse.accelerator import detect, forward_flops_per_example, peak_flops

    acc = detect()
    gpu = acc.kind != "cpu"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", type=_ints, default=(64, 256, 1024, 4096) if gpu else (16, 64, 256))
    parser.add_argument("--precisions", type=_words, default=("float32", "mixed_float16" if gpu else "mixed_bfloat16"))
    parser.add_argument("--xla", type=_words, default=("off", "on"), help="off, on or both (comma-separated)")
    parser.add_argument("--steps", type=int, default=50 if gpu else 5, help="timed steps per configuration")
    parser.add_argument("--image", type=_ints, default=(32, 32, 3) if gpu else (16, 16, 3), help="height,width,channels")
    parser.add_argument("--classes", type=int, default=10)
    args = parser.parse_args(argv)

    shape = tuple(args.image)
    n = max(args.batch_sizes) * 4
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(n, *shape)).astype(np.float32)
    y = rng.integers(0, args.classes, size=n)
    flops = 3 * forward_flops_per_example(build_cnn(shape, args.classes))

    print(f"Keras {keras.__version__}, {acc.backend} backend, {acc.count} x {acc.name} ({acc.kind}); "
          f"Python {platform.python_version()}; images {shape}; {flops / 1e6:.1f} training MFLOPs per example; "
          f"{args.steps} timed steps after 1 warm-up step")
    print("| precision | XLA | batch | examples/s | TFLOP/s | % of peak | s with warm-up |")
    print("|---|---|---|---|---|---|---|")
    for precision in args.precisions:
        for xla in args.xla:
            for batch_size in args.batch_sizes:
                keras.mixed_precision.set_global_policy(precision)
                try:
                    model = build_cnn(shape, args.classes)
                    model.compile(optimizer=keras.optimizers.Adam(1e-3), jit_compile=xla == "on",
                                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
                    start = time.perf_counter()
                    rate = measure_throughput(model, make_dataset(x, y, batch_size, training=True), args.steps)
                    total = time.perf_counter() - start
                except Exception as err:  # noqa: BLE001 - report the configuration and go on
                    print(f"| {precision} | {xla} | {batch_size} | failed: {type(err).__name__}: {str(err)[:80]} | | | |")
                    continue
                finally:
                    keras.mixed_precision.set_global_policy("float32")
                peak = peak_flops(acc.name, precision != "float32") if acc.kind == "gpu" else None
                share = f"{100 * rate * flops / peak:.2f}" if peak else "-"
                print(f"| {precision} | {xla} | {batch_size} | {rate:.0f} | {rate * flops / 1e12:.4f} | {share} |"
                      f" {total:.1f} |", flush=True)
    if acc.kind == "cpu":
        print("% of peak: not computed on a CPU.")
    elif peak_flops(acc.name, False) is None:
        print(f"% of peak: {acc.name} is not in dlcourse.accelerator.PEAK_TFLOPS.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
