"""Small plotting helpers shared by the chapters (Matplotlib, no global state changed)."""

import numpy as np


def new_axes(ncols=1, width=5.0, height=3.6, **kwargs):
    """A figure with ``ncols`` side-by-side axes; returns (fig, list of axes)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False, **kwargs)
    return fig, list(axes[0])


def plot_curves(ax, x, curves, *, xlabel="", ylabel="", title="", logy=False, styles=None):
    """Plot several named curves ``{label: y}`` against the same ``x`` on ``ax``."""
    styles = styles or {}
    for label, y in curves.items():
        ax.plot(x, y, label=label, **styles.get(label, {}))
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def contour(ax, f, xlim, ylim, levels=30, resolution=200, log_levels=True):
    """Contour lines of a scalar function ``f(point) -> float`` of 2-D points on ``ax``."""
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution)
    xx, yy = np.meshgrid(xs, ys)
    zz = np.array([[f(np.array([x, y])) for x, y in zip(row_x, row_y)] for row_x, row_y in zip(xx, yy)])
    if log_levels:
        low = max(np.min(zz), 1e-12)
        level_values = np.geomspace(low + 1e-12, np.max(zz), levels) if np.max(zz) > low else levels
    else:
        level_values = levels
    ax.contour(xx, yy, zz, levels=level_values, cmap="viridis", linewidths=0.7)
    ax.set(xlim=xlim, ylim=ylim)
    return ax


def trajectory(ax, points, label, **kwargs):
    """Draw an optimization trajectory (array (steps, 2)) with markers on ``ax``."""
    points = np.asarray(points)
    ax.plot(points[:, 0], points[:, 1], marker="o", markersize=2.5, linewidth=1, label=label, **kwargs)
    return ax


def show(fig):
    """Tidy and display a figure (works in notebooks and headless runs)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    plt.show()
