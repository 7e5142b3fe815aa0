"""The grading kernel's manager and client: jupyter_client's, without two idle waits per submission,
and with a way to hand the kernel data that is not code.

Every submission starts one kernel and stops it, so two fixed waits in jupyter_client's asyncio
classes (8.x) cost every submission about 0.3 s of idle wall time:

- ``wait_for_ready`` ends by reading IOPub until nothing arrives for 0.2 s (it drains stale
  messages). :class:`GradingKernelClient` drains only what has already arrived: nbclient ignores
  IOPub messages that answer another request, so nothing stale can reach a cell's outputs. It
  still waits, as jupyter_client does, for the first IOPub message after the kernel-info reply,
  which shows that the IOPub subscription is connected (else a cell's first outputs could be lost).
- killing a kernel (``Execute.shutdown_kernel = "immediate"``, and every restart after a
  timeout) polls for the process's end every 0.1 s, so it takes at least 0.1 s though a killed
  kernel is gone within milliseconds. :class:`GradingKernelManager` polls every 5 ms (still bounded
  by jupyter_client's own 5 s limit).

Large data for the kernel (a hidden-test script: plain data, up to megabytes) travels in the
execute request's content beside a short piece of code that reads it
(:meth:`GradingKernelClient.attach_to_next_execute`), not inside the code: ipykernel hashes every
cell's code in pure Python to name it (about 0.2 s per megabyte) and echoes it on IOPub.

``TrustedExecute`` (autograder/trusted_execute.py) uses them for grading kernels. Everything else
(transport, ports, the sandboxed kernel spec, restarts) is jupyter_client's own.
"""

import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async
from traitlets import DottedObjectName, Type

KILL_POLL_SECONDS = 0.005


class GradingKernelClient(AsyncKernelClient):
    """An asyncio kernel client whose ``wait_for_ready`` does not idle 0.2 s at its end, and whose next
    execute request can carry extra content fields."""

    _next_execute_fields = None

    def attach_to_next_execute(self, **fields):
        """Add ``fields`` (JSON data, names not used by the messaging protocol) to the content of the next
        execute request; ipykernel code reads them as
        ``get_ipython().kernel.get_parent()["content"][name]`` while that request runs."""
        self._next_execute_fields = fields

    def execute(self, code, silent=False, store_history=True, user_expressions=None, allow_stdin=None,
                stop_on_error=True):
        """jupyter_client's ``execute``, with the fields given to :meth:`attach_to_next_execute` added once."""
        fields, self._next_execute_fields = self._next_execute_fields, None
        if not fields:
            return super().execute(code, silent, store_history, user_expressions, allow_stdin, stop_on_error)
        content = {"code": code, "silent": silent, "store_history": store_history,
                   "user_expressions": user_expressions or {},
                   "allow_stdin": self.allow_stdin if allow_stdin is None else allow_stdin,
                   "stop_on_error": stop_on_error, **fields}
        msg = self.session.msg("execute_request", content)
        self.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    async def wait_for_ready(self, timeout=None):
        """Return when the kernel answers kernel_info and IOPub is connected; RuntimeError if it died or
        did not answer within ``timeout`` seconds (None: no limit)."""
        deadline = time.time() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                msg = await ensure_async(self.shell_channel.get_msg(timeout=1))
            except Empty:
                msg = None
            if msg is not None and msg["msg_type"] == "kernel_info_reply":
                try:  # the kernel publishes its status for that request: IOPub is connected
                    await ensure_async(self.iopub_channel.get_msg(timeout=0.2))
                except Empty:
                    pass
                else:
                    handle = getattr(self, "_handle_kernel_info_reply", None)
                    if handle is not None:
                        handle(msg)
                    break
            if not await ensure_async(self.is_alive()):
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.time() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        while True:  # drain what has already arrived, without waiting for more
            try:
                await ensure_async(self.iopub_channel.get_msg(timeout=0))
            except Empty:
                break


class GradingKernelManager(AsyncKernelManager):
    """An asyncio kernel manager that notices a killed kernel's end within milliseconds."""

    client_class = DottedObjectName("autograder.grading_kernel.GradingKernelClient", config=True)
    client_factory = Type(GradingKernelClient, klass=AsyncKernelClient, config=True)

    async def _async_wait(self, pollinterval=KILL_POLL_SECONDS):
        await super()._async_wait(pollinterval=min(pollinterval, KILL_POLL_SECONDS))
