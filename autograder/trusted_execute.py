"""nbgrader's Execute step, hardened for grading (configured in ``nbgrader_config.py``).

What it adds to stock nbgrader's ``Execute``:

- **Hidden tests judged outside the kernel.** In each graded test cell the hidden block is not
  sent to the learner's kernel. For every ``check_hidden(f)`` it names, the hidden check runs
  *here* (:func:`autograder.hidden.run_hidden`): its calls of the learner's code become a script
  of steps (plain data: inputs, generator states, method calls; see
  :mod:`autograder.protocol`), a small generic interpreter performs them in the kernel and
  returns every outcome as plain data in ONE display output of type ``HIDDEN_MIME``, and the
  check judges that data here, where the learner's code cannot patch NumPy, the comparison or
  the verdict. No file of this package, no reference and no expected value enters the kernel.
  A failure, or results that are missing, duplicated, malformed or too large, becomes an error
  output appended to that test cell after it ran (so nbgrader scores it 0) with the diagnosis.
- **A kernel that dies** (``os._exit``, a segfault, a memory blow-up past the sandbox's limit)
  or **a cell that runs too long** does not end the grading: the cell gets an error output
  saying what happened, the kernel is restarted, the earlier cells are re-run silently, and
  execution goes on with the next cell.
- **Enormous output** is cut at ``max_output_bytes`` per cell.
- **Grading notes** (what was restored, repaired or stopped; from here and from the earlier
  steps) are collected into a markdown cell at the top of the graded notebook, so they appear
  in the student's feedback.
"""

import os
import re
import time

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute
from traitlets import Bool, Integer

from autograder.grading_kernel import GradingKernelManager
from autograder.hidden import companion_names, run_hidden
from autograder.notebook_cells import cell_label, hidden_tests, is_test_cell, without_hidden_tests
from autograder.notes import add_note, notes_cell, pop_notes
from autograder.protocol.session import interpreter_source
from autograder.protocol.wire import ProtocolError
from autograder.reader_cells import cells_to_skip, run_reader_cells
from autograder.sandbox import isolation, kernels_isolated
from dlcourse.checks.runner import CheckFailure

HIDDEN_CALL = re.compile(r"check_hidden\(\s*([A-Za-z_]\w*)\s*(?:,\s*(?:name\s*=\s*)?['\"](\w+)['\"])?")

HIDDEN_MIME = "application/x-dlcourse-hidden-results+json"

# The code a hidden-test run sends into the kernel. The request (the interpreter's source, the script
# and the result type) travels beside it in the execute request's content (HIDDEN_FIELD; see
# autograder/grading_kernel.py), or, with a kernel client that cannot attach it, as a literal in the code.
# The interpreter runs in a private namespace and sees the learner's globals.
_SEND = """
def __dlc_hidden_run(request):
    space = {{"__name__": "dlcourse_hidden_interpreter"}}
    exec(compile(request["source"], "<hidden-test interpreter>", "exec"), space)
    space["serve"](globals(), request["script"], request["mime"])
__dlc_hidden_run({request})
del __dlc_hidden_run
"""
HIDDEN_FIELD = "dlcourse_hidden"
_FROM_REQUEST = f'__import__("IPython").get_ipython().kernel.get_parent()["content"][{HIDDEN_FIELD!r}]'


def _error_output(ename, message):
    return nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class TrustedExecute(Execute):
    """Execute with hidden tests judged outside the kernel, and recovery from dead or stuck kernels."""

    max_output_bytes = Integer(1_000_000, help="Per-cell output cap in bytes; the rest is dropped.").tag(config=True)
    max_notebook_output_bytes = Integer(4_000_000, help="Whole-notebook output cap in bytes; the rest is dropped."
                                        ).tag(config=True)
    max_restarts = Integer(4, help="Kernel restarts per notebook before the remaining cells are skipped.").tag(
        config=True)
    max_results_bytes = Integer(64 * 1024 * 1024, help="Largest hidden-test result output read back.").tag(config=True)

    # A timeout restarts the kernel (an interrupt may be ignored by the learner's code).
    interrupt_on_timeout = Bool(False, help="Always False here: a stuck cell is stopped by a restart.").tag(config=True)

    def __init__(self, *args, **kwargs):
        # jupyter_client's asyncio kernel manager (nbgrader's choice), without its idle waits: autograder/grading_kernel.py
        kwargs.setdefault("kernel_manager_class", GradingKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._notes = pop_notes(nb)
        self._restarts = 0
        self._skip = set()
        # Cells for the reader (demos, figures; autograder.reader_cells) are not run, unless
        # DLCOURSE_RUN_READER_CELLS=1: they get no outputs and are not replayed after a restart.
        self._reader = set() if run_reader_cells() else cells_to_skip(nb)
        self._gave_up = False
        self._output_bytes = {}
        self._time_limit = int(os.environ.get("DLCOURSE_NOTEBOOK_TIMEOUT", "600"))
        self._deadline = time.monotonic() + self._time_limit
        if not kernels_isolated():
            add_note(self._notes, f"this notebook was graded unisolated, without the kernel sandbox ({isolation()[1]}): "
                                  "its code could read and change files outside its own folder")
        nb, resources = super().preprocess(nb, resources, km)
        if self._notes:
            nb.cells.insert(0, notes_cell(self._notes))
        return nb, resources

    # -- running cells -----------------------------------------------------------------------
    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if index in self._reader:
            self._skip.add(index)
            cell.outputs, cell.execution_count = [], None
            return cell, resources
        if self._gave_up:
            cell.outputs = [_error_output("NotRun", "not run: the kernel kept dying or hanging earlier in the notebook")]
            return cell, resources
        hidden = hidden_tests(cell.source) if is_test_cell(cell) else None
        original = cell.source
        if hidden is not None:
            cell.source = without_hidden_tests(original)
        try:
            self._run_cell(cell, index)
        finally:
            cell.source = original
        if hidden is not None and not self._gave_up:
            for name, explicit in HIDDEN_CALL.findall(hidden):
                self._run_hidden(cell, index, explicit or name, name)
        return cell, resources

    def _run_cell(self, cell, index):
        label = cell_label(index, cell)
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
            shadow = nbformat.v4.new_code_cell(without_hidden_tests(earlier.source))
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
        if getattr(self, "_hidden_running", False) and HIDDEN_MIME in (content.get("data") or {}):
            return super().output(outs, msg, display_id, cell_index) if size <= self.max_results_bytes else None
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        total = sum(self._output_bytes.values())
        if total > self.max_notebook_output_bytes:
            if total - size <= self.max_notebook_output_bytes:
                outs.append(nbformat.v4.new_output(
                    "stream", name="stderr", text=f"\n... output cut: the notebook printed more than "
                                                  f"{self.max_notebook_output_bytes} bytes ...\n"))
                add_note(self._notes, f"the notebook printed more than {self.max_notebook_output_bytes} bytes in "
                                      f"all; output from cell {cell_index + 1} on was dropped")
            return None
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
            run_hidden(name, lambda script: self._execute_script(script, index), variable,
                       extra_globals=companion_names(name))
        except CheckFailure as failure:
            cell.outputs.append(_error_output("HiddenTestFailure", str(failure)))
        except (CellTimeoutError, DeadKernelError) as err:
            message = f"the hidden tests of {name} stopped the kernel ({type(err).__name__})"
            cell.outputs.append(_error_output("HiddenTestFailure", message))
            self._recover(index, message)
        except Exception as err:  # noqa: BLE001 - whatever happens, this cell must not get the points
            cell.outputs.append(_error_output("HiddenTestFailure", f"the hidden tests of {name} could not be "
                                                                   f"judged ({type(err).__name__}: {err})"))

    def _execute_script(self, script, index):
        """Run the interpreter on ``script`` in the kernel; return the text of its ONE result output."""
        request = {"source": interpreter_source(), "script": script, "mime": HIDDEN_MIME}
        attach = getattr(self.kc, "attach_to_next_execute", None)
        if attach is not None:
            attach(**{HIDDEN_FIELD: request})
        shadow = nbformat.v4.new_code_cell(_SEND.format(request=_FROM_REQUEST if attach else repr(request)))
        self._hidden_running = True
        try:
            self._execute_detached(shadow, index)
        finally:
            self._hidden_running = False
            if attach is not None:  # if it was not sent (the kernel died first), it is not for the next cell
                attach()
        found = [o for o in shadow.outputs if o.get("output_type") in ("display_data", "execute_result")
                 and HIDDEN_MIME in o.get("data", {})]
        if len(found) != 1:
            errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in shadow.outputs if o.get("output_type") == "error"]
            raise ProtocolError(f"{len(found)} result outputs instead of one" + (f"; {errors[0]}" if errors else ""))
        text = found[0]["data"][HIDDEN_MIME]
        if not isinstance(text, str) or len(text) > self.max_results_bytes:
            raise ProtocolError("the result output is malformed or too large")
        return text

    def _execute_detached(self, cell, index):
        """Execute a cell that is not part of the notebook (nbclient would store it at ``index``)."""
        original = self.nb.cells[index]
        try:
            self.execute_cell(cell, index, store_history=False)
        finally:
            self.nb.cells[index] = original
