"""nbgrader's Execute step, hardened for grading (configured in ``nbgrader_config.py``).

What it adds to stock nbgrader's ``Execute``:

- **Hidden tests judged outside the kernel.** In each graded test cell the hidden block is not
  sent to the learner's kernel. Instead, for every ``check_hidden(f)`` it names, the hidden
  inputs are written to a file in the kernel's working directory, a small probe calls the
  learner's ``f`` on them in the kernel and writes the outputs back as plain JSON data, and the
  reference is computed and compared *here*, where the learner's code cannot patch NumPy, the
  comparison or the verdict. A failure becomes an error output of that test cell (so nbgrader
  scores it 0) with the diagnostic message. Checks that need the learner's objects (classes,
  RNG properties, Keras models: ``HIDDEN_CUSTOM``) run in the kernel from a copy of this package
  that exists only while they run.
- **A kernel that dies** (``os._exit``, a segfault, a memory blow-up past the sandbox's limit)
  or **a cell that runs too long** does not end the grading: the cell gets an error output
  saying what happened, the kernel is restarted, the earlier cells are re-run silently, and
  execution goes on with the next cell.
- **Enormous output** is cut at ``max_output_bytes`` per cell.
- **Grading notes** (what was restored, repaired or stopped; from here and from the earlier
  steps) are collected into a markdown cell at the top of the graded notebook, so they appear
  in the student's feedback.
"""

import glob
import json
import os
import re
import shutil
import time
import uuid

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from autograder.hidden import has_custom_check, judge_hidden
from autograder.notes import add_note, notes_cell, pop_notes
from autograder.restore_cells import HIDDEN_BLOCK
from autograder.sandbox import isolation, kernels_isolated
from dlcourse.checks.encoding import dumps, loads
from dlcourse.checks.runner import CheckFailure

HIDDEN_CALL = re.compile(r"check_hidden\(\s*([A-Za-z_]\w*)\s*(?:,\s*(?:name\s*=\s*)?['\"](\w+)['\"])?")
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

_PROBE = '''
def __dlc_probe():
    import json
    from dlcourse.checks.encoding import encode, encode_lenient, loads
    with open({inputs!r}, encoding="utf-8") as f:
        cases = loads(f.read())
    fn = globals().get({name!r})
    results = []
    for inputs in cases:
        if fn is None:
            results.append({{"raised": [["NameError"], "{name} is not defined"]}})
            continue
        try:
            out = fn(**inputs)
        except BaseException as err:
            results.append({{"raised": [[c.__name__ for c in type(err).__mro__], str(err)[:500]]}})
            continue
        item = {{"returned": encode_lenient(out), "after": encode_lenient(inputs)}}
        try:
            json.dumps(item)
        except (TypeError, ValueError):
            item = {{"returned": {{"__repr__": "<unencodable output>"}}, "after": encode_lenient(inputs)}}
        results.append(item)
    with open({outputs!r}, "w", encoding="utf-8") as f:
        json.dump(results, f)
__dlc_probe()
del __dlc_probe
'''

_CUSTOM = '''
import sys as __dlc_sys
__dlc_sys.path.insert(0, {path!r})
try:
    from autograder.hidden import check_hidden as __dlc_check
    __dlc_check({variable}, {name!r}, only_custom={only})
finally:
    __dlc_sys.path.remove({path!r})
    for __dlc_key in [k for k in __dlc_sys.modules if k == "autograder" or k.startswith("autograder.")]:
        del __dlc_sys.modules[__dlc_key]
    del __dlc_sys
'''


class _NotPortable(Exception):
    """Hidden-test inputs that cannot travel into the kernel as plain data."""


def _is_grade_cell(cell):
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade"))


def _error_output(ename, message):
    return nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class TrustedExecute(Execute):
    """Execute with hidden tests judged outside the kernel, and recovery from dead or stuck kernels."""

    max_output_bytes = Integer(1_000_000, help="Per-cell output cap in bytes; the rest is dropped.").tag(config=True)
    max_restarts = Integer(4, help="Kernel restarts per notebook before the remaining cells are skipped.").tag(
        config=True)
    max_results_bytes = Integer(64 * 1024 * 1024, help="Largest hidden-test result file read back.").tag(config=True)

    # A timeout restarts the kernel (an interrupt may be ignored by the learner's code).
    interrupt_on_timeout = Bool(False, help="Always False here: a stuck cell is stopped by a restart.").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self._notes = pop_notes(nb)
        self._restarts = 0
        self._skip = set()
        self._gave_up = False
        self._output_bytes = {}
        self._time_limit = int(os.environ.get("DLCOURSE_NOTEBOOK_TIMEOUT", "600"))
        self._deadline = time.monotonic() + self._time_limit
        if not kernels_isolated():
            add_note(self._notes, f"this notebook was graded unisolated, without the kernel sandbox ({isolation()[1]}): "
                                  "its code could read and change files outside its own folder")
        self._workdir = (resources or {}).get("metadata", {}).get("path") or os.getcwd()
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            for leftover in glob.glob(os.path.join(self._workdir, ".dlc-*")):
                shutil.rmtree(leftover, ignore_errors=True) if os.path.isdir(leftover) else os.remove(leftover)
        if self._notes:
            nb.cells.insert(0, notes_cell(self._notes))
        return nb, resources

    # -- running cells -----------------------------------------------------------------------
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._gave_up:
            cell.outputs = [_error_output("NotRun", "not run: the kernel kept dying or hanging earlier in the notebook")]
            return cell, resources
        hidden = HIDDEN_BLOCK.search(cell.source) if _is_grade_cell(cell) else None
        original = cell.source
        if hidden:
            cell.source = HIDDEN_BLOCK.sub("", original)
        try:
            self._run_cell(cell, index)
        finally:
            cell.source = original
        if hidden and not self._gave_up:
            for name, explicit in HIDDEN_CALL.findall(hidden.group(1)):
                self._run_hidden(cell, index, explicit or name, name)
        return cell, resources

    def _run_cell(self, cell, index):
        label = self._label(cell, index)
        if time.monotonic() > self._deadline:  # DLCOURSE_NOTEBOOK_TIMEOUT: this cell and the rest are not run
            cell.outputs = [_error_output("NotRun", f"not run: the notebook ran longer than {self._time_limit} s in all")]
            add_note(self._notes, f"the notebook ran longer than {self._time_limit} s in all; {label} and the cells "
                                  "after it were not run")
            self._gave_up = True
            return
        try:
            self.execute_cell(cell, index, store_history=True)
        except CellTimeoutError:
            message = f"{label} ran longer than {self.timeout} s and was stopped"
            cell.outputs.append(_error_output("CellTimeoutError", message))
            self._recover(index, message)
        except DeadKernelError:
            message = (f"the kernel died while running {label} (the code exited the process, crashed, "
                       "or used more memory than allowed)")
            cell.outputs.append(_error_output("KernelDied", message))
            self._recover(index, message)

    def _label(self, cell, index):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        return f"cell {index + 1}" + (f" ({grade_id})" if grade_id else "")

    def _recover(self, index, message):
        """Restart the kernel and silently re-run the cells before ``index`` (except bad ones)."""
        self._skip.add(index)
        if self._restarts >= self.max_restarts:
            self._gave_up = True
            add_note(self._notes, f"{message}; the kernel was not restarted again, and the remaining cells were not run.")
            return
        self._restarts += 1
        add_note(self._notes, f"{message}. The kernel was restarted, the cells before it were re-run, and grading "
                              "went on with the next cell.")
        self._restart_kernel()
        for i, earlier in enumerate(self.nb.cells[:index]):
            if earlier.cell_type != "code" or i in self._skip:
                continue
            shadow = nbformat.v4.new_code_cell(HIDDEN_BLOCK.sub("", earlier.source))
            try:
                self._execute_detached(shadow, i)
            except (CellTimeoutError, DeadKernelError):
                self._skip.add(i)
                self._restart_kernel()

    def _restart_kernel(self):
        run_sync(self.km.restart_kernel)(now=True)
        if self.kc is not None:
            self.kc.stop_channels()
        self.start_new_kernel_client()

    def output(self, outs, msg, display_id, cell_index):
        """Drop output beyond ``max_output_bytes`` per cell, with one notice."""
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        if used + size > self.max_output_bytes:
            if used <= self.max_output_bytes:
                outs.append(nbformat.v4.new_output(
                    "stream", name="stderr", text=f"\n... output cut: more than {self.max_output_bytes} bytes ...\n"))
                add_note(self._notes, f"cell {cell_index + 1} printed more than {self.max_output_bytes} bytes; "
                                      "the rest of its output was dropped")
            return None
        return super().output(outs, msg, display_id, cell_index)

    # -- hidden tests --------------------------------------------------------------------------
    def _run_hidden(self, cell, index, name, variable):
        try:
            try:
                judge_hidden(name, lambda inputs: self._call_in_kernel(variable, inputs, index))
                only_custom = True
            except _NotPortable:
                only_custom = False  # inputs that are not plain data: judge the whole test in the kernel
            if has_custom_check(name) or not only_custom:
                self._custom_in_kernel(name, variable, index, only_custom)
        except CheckFailure as failure:
            cell.outputs.append(_error_output("HiddenTestFailure", str(failure)))
        except (CellTimeoutError, DeadKernelError) as err:
            message = f"the hidden tests of {name} stopped the kernel ({type(err).__name__})"
            cell.outputs.append(_error_output("HiddenTestFailure", message))
            self._recover(index, message)

    def _private_path(self, stem):
        return os.path.join(self._workdir, f".dlc-{stem}-{uuid.uuid4().hex}")

    def _execute_detached(self, cell, index):
        """Execute a cell that is not part of the notebook (nbclient would store it at ``index``)."""
        original = self.nb.cells[index]
        try:
            self.execute_cell(cell, index, store_history=False)
        finally:
            self.nb.cells[index] = original

    def _run_shadow(self, source, index):
        shadow = nbformat.v4.new_code_cell(source)
        self._execute_detached(shadow, index)
        errors = [o for o in shadow.outputs if o.get("output_type") == "error"]
        return errors[0] if errors else None

    def _call_in_kernel(self, variable, inputs, index):
        """Call the learner's function on each input inside the kernel; return decoded results."""
        in_path, out_path = self._private_path("in") + ".json", self._private_path("out") + ".json"
        try:
            text = dumps(inputs)
        except TypeError as err:
            raise _NotPortable(str(err)) from None
        with open(in_path, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            error = self._run_shadow(_PROBE.format(inputs=in_path, outputs=out_path, name=variable), index)
            if error is not None:
                raise CheckFailure(f"the hidden tests could not call {variable}: {error.get('ename')}: {error.get('evalue')}")
            if not os.path.exists(out_path) or os.path.getsize(out_path) > self.max_results_bytes:
                raise CheckFailure(f"the hidden tests of {variable} got no usable results back from the kernel")
            with open(out_path, encoding="utf-8") as f:
                raw = json.load(f)
            return [loads(json.dumps(item)) if isinstance(item, dict) else item for item in raw] \
                if isinstance(raw, list) else raw
        except (ValueError, OSError) as err:
            raise CheckFailure(f"the hidden tests of {variable} could not read the results: {err}") from None
        finally:
            for path in (in_path, out_path):
                if os.path.exists(path):
                    os.remove(path)

    def _custom_in_kernel(self, name, variable, index, only_custom=True):
        """Run HIDDEN_CUSTOM checks (or, for inputs that are not plain data, all hidden tests) in the
        kernel, from a copy of this package that exists only while they run."""
        folder = self._private_path("grader")
        shutil.copytree(PACKAGE_DIR, os.path.join(folder, "autograder"),
                        ignore=shutil.ignore_patterns("__pycache__", "kernels", "*.pyc"))
        try:
            error = self._run_shadow(_CUSTOM.format(path=folder, variable=variable, name=name, only=only_custom), index)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if error is not None:
            raise CheckFailure(f"{error.get('ename')}: {error.get('evalue')}")
