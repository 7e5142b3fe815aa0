"""The grading kernel's manager and client: jupyter_client's, without two idle waits per submission.

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
    """An asyncio kernel client whose ``wait_for_ready`` does not idle 0.2 s at its end."""

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
