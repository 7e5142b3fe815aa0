"""A small progress display for training loops, without dependencies.

In a notebook (Jupyter, JupyterLab, Colab, VS Code) it shows one line that is updated in
place; in a terminal it rewrites one line with a carriage return; elsewhere (a log file,
a CI job) it prints a line now and then and a last one at the end. Example::

    from dlcourse.progress import ProgressBar

    bar = ProgressBar(epochs, desc="training")
    for epoch in range(epochs):
        ...
        bar.update(loss=train_loss, val_acc=acc, lr=lr)   # one step of the bar, with metrics
    bar.close()

which shows, for instance::

    training  12/30 [#########-------------]  40% | loss 0.1234 | val_acc 0.9611 | lr 8.20e-04 | 1.2 s < 1.8 s

(elapsed < estimated time left). ``ProgressBar(..., enabled=False)`` shows nothing and costs
nothing, so a function can take a ``verbose`` flag and always call ``update``. For a loop
over an iterable, :func:`track` wraps it: ``for batch in track(batches, desc="epoch 1")``.
"""

import html
import math
import sys
import time

__all__ = ["ProgressBar", "format_metric", "format_seconds", "track"]

MODES = ("notebook", "terminal", "plain")


def format_metric(value):
    """A short text for a metric value: 4 decimals, scientific notation for tiny or huge numbers."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return str(int(value))
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x != 0.0 and (abs(x) < 1e-2 or abs(x) >= 1e4):
        return f"{x:.2e}"
    return f"{x:.4f}"


def format_seconds(seconds):
    """'0.4 s', '12.3 s', '2 min 05 s', '1 h 02 min'."""
    if seconds is None or not math.isfinite(seconds):
        return "?"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _in_notebook():
    """True inside a Jupyter-style kernel that can update an output in place."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # noqa: BLE001 - any failure means: not a notebook
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


class ProgressBar:
    """A progress bar over ``total`` steps (epochs, trials...) with the latest metrics.

    total: number of steps expected (an int >= 0; None when unknown: no bar, no estimate).
    desc: a label shown first. width: characters of the bar.
    enabled: False shows nothing at all (``update`` and ``close`` do nothing).
    mode: None (choose: 'notebook' in a Jupyter kernel, 'terminal' when ``file`` is a
        terminal, else 'plain'), or one of 'notebook', 'terminal', 'plain'.
    min_interval: at most one redraw per this many seconds (the last step is always drawn);
        in 'plain' mode a line is printed at most every ``log_interval`` seconds.
    file: where text goes (default sys.stdout). clock: a function returning seconds.

    ``update(n=1, **metrics)`` advances by n steps and records the metrics (shown in the
    order they were first given); ``close()`` draws the final state. The bar is also a
    context manager that closes itself. ``elapsed`` and ``count`` are public attributes.
    """

    def __init__(self, total, desc="", width=24, enabled=True, mode=None, min_interval=0.1,
                 log_interval=10.0, file=None, clock=time.perf_counter):
        if total is not None and (int(total) != total or total < 0):
            raise ValueError(f"total must be an integer >= 0 or None, got {total!r}")
        if mode is not None and mode not in MODES:
            raise ValueError(f"mode must be one of {MODES} or None, got {mode!r}")
        self.total = None if total is None else int(total)
        self.desc = str(desc)
        self.width = int(width)
        self.enabled = bool(enabled)
        self.min_interval = float(min_interval)
        self.log_interval = float(log_interval)
        self.file = file
        self.clock = clock
        self.count = 0
        self.metrics = {}
        self.closed = False
        self._start = clock()
        self._last_draw = None
        self._last_len = 0
        self._handle = None
        self.mode = None
        if self.enabled:
            out = self._out()
            self.mode = mode or ("notebook" if _in_notebook() else
                                 "terminal" if getattr(out, "isatty", lambda: False)() else "plain")

    # ------------------------------------------------------------------ state
    def _out(self):
        return self.file if self.file is not None else sys.stdout

    @property
    def elapsed(self):
        """Seconds since the bar was created."""
        return self.clock() - self._start

    def eta(self):
        """Estimated seconds left (None when unknown)."""
        if not self.total or self.count <= 0:
            return None
        if self.count >= self.total:
            return 0.0
        return self.elapsed / self.count * (self.total - self.count)

    def text(self):
        """The current line, e.g. 'train  3/10 [#####-----]  30% | loss 0.5000 | 1.2 s < 2.8 s'."""
        parts = [self.desc] if self.desc else []
        if self.total:
            done = min(self.count, self.total)
            filled = int(round(self.width * done / self.total))
            digits = len(str(self.total))
            parts.append(f"{done:>{digits}}/{self.total} [{'#' * filled}{'-' * (self.width - filled)}] "
                         f"{100 * done / self.total:3.0f}%")
        else:
            parts.append(f"{self.count} done")
        line = "  ".join(parts)
        for name, value in self.metrics.items():
            line += f" | {name} {format_metric(value)}"
        remaining = self.eta()
        timing = format_seconds(self.elapsed)
        if remaining and not self.closed:
            timing += f" < {format_seconds(remaining)}"
        return f"{line} | {timing}"

    # ------------------------------------------------------------------ drawing
    def _html(self, text):
        value = min(self.count, self.total) if self.total else 0
        bar = f'<progress value="{value}" max="{self.total}" style="width:14em"></progress> ' if self.total else ""
        return f'<pre style="margin:0">{bar}{html.escape(text)}</pre>'

    def _draw(self, final=False):
        text = self.text()
        if self.mode == "notebook":
            try:
                from IPython.display import display

                bundle = {"text/plain": text, "text/html": self._html(text)}
                if self._handle is None:
                    self._handle = display(bundle, raw=True, display_id=True)
                else:
                    self._handle.update(bundle, raw=True)
                return
            except Exception:  # noqa: BLE001 - no working display: fall back to plain text
                self.mode = "plain"
        out = self._out()
        if self.mode == "terminal":
            pad = " " * max(0, self._last_len - len(text))
            out.write("\r" + text + pad + ("\n" if final else ""))
            self._last_len = len(text)
        else:
            out.write(text + "\n")
        out.flush()

    def update(self, n=1, **metrics):
        """Advance by ``n`` steps (0 only refreshes the metrics) and redraw when it is time."""
        if not self.enabled or self.closed:
            return
        self.count += int(n)
        self.metrics.update(metrics)
        now = self.clock()
        interval = self.log_interval if self.mode == "plain" else self.min_interval
        last_step = self.total is not None and self.count >= self.total
        if self._last_draw is None or now - self._last_draw >= interval or (last_step and self.mode != "plain"):
            self._last_draw = now
            self._draw()

    def close(self):
        """Draw the final state (always, whatever the interval) and stop updating."""
        if not self.enabled or self.closed:
            return
        self.closed = True
        self._draw(final=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def track(iterable, total=None, desc="", **kwargs):
    """Iterate over ``iterable`` while showing a ProgressBar (total from ``len`` when possible).

    Extra keyword arguments go to :class:`ProgressBar` (enabled, mode, file...).
    """
    if total is None:
        try:
            total = len(iterable)
        except TypeError:
            total = None
    bar = ProgressBar(total, desc=desc, **kwargs)
    try:
        for item in iterable:
            yield item
            bar.update()
    finally:
        bar.close()
