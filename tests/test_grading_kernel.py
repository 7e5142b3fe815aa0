"""The grading kernel's manager and client (autograder/grading_kernel.py) keep jupyter_client's behaviour
without its idle waits: a cell's first output right after start-up arrives, a kernel that died is
reported, a killed kernel is gone, data attached to an execute request reaches the kernel (once), and
grading uses them."""

import asyncio
import contextlib
import sys

import pytest

from autograder.grading_kernel import GradingKernelClient, GradingKernelManager
from autograder.trusted_execute import TrustedExecute


def _manager():
    return GradingKernelManager(kernel_name="python3")


@contextlib.asynccontextmanager
async def _started():
    """(manager, client) of a fresh kernel with its channels started; killed at the end."""
    km = _manager()
    await km.start_kernel(extra_arguments=[], env={"PATH": sys.exec_prefix + "/bin"})
    kc = km.client()
    kc.start_channels()
    try:
        yield km, kc
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)


async def _first_output(kc, code):
    msg_id = kc.execute(code)
    texts = []
    while True:
        msg = await kc.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            texts.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(texts)


def test_grading_uses_them():
    km = TrustedExecute().kernel_manager_class()
    assert isinstance(km, GradingKernelManager)
    assert km.client_factory is GradingKernelClient


def test_output_printed_right_after_start_up_is_never_lost():
    async def run():
        for attempt in range(3):  # a fresh kernel each time: the IOPub subscription is new each time
            async with _started() as (km, kc):
                await kc.wait_for_ready(timeout=60)
                assert await _first_output(kc, f"print('first output {attempt}')") == f"first output {attempt}\n"
            assert not await km.is_alive()

    asyncio.run(run())


def test_a_kernel_that_died_before_it_was_ready_is_reported():
    async def run():
        async with _started() as (km, kc):
            await km.provisioner.kill()
            with pytest.raises(RuntimeError, match="died"):
                await kc.wait_for_ready(timeout=30)

    asyncio.run(run())


def test_fields_attached_to_the_next_execute_reach_the_kernel_once():
    read = ("c = __import__('IPython').get_ipython().kernel.get_parent()['content']\n"
            "print(len(c.get('payload', {}).get('text', '')), c['store_history'])")

    async def run():
        async with _started() as (_, kc):
            await kc.wait_for_ready(timeout=60)
            kc.attach_to_next_execute(payload={"text": "x" * 2_000_000})
            assert await _first_output(kc, read) == "2000000 True\n"
            assert await _first_output(kc, read) == "0 True\n"  # once only

    asyncio.run(run())


class _RecordingClient:
    """Stands in for a kernel client; records what would be attached to the next execute request."""

    def __init__(self):
        self.attached = []

    def attach_to_next_execute(self, **fields):
        self.attached.append(fields)


@pytest.mark.parametrize("can_attach", [True, False])
def test_a_hidden_test_script_travels_beside_the_code_not_in_it(can_attach):
    from autograder.trusted_execute import HIDDEN_FIELD, HIDDEN_MIME

    script = '{"steps": [], "marker": "' + "s" * 100_000 + '"}'
    sent = []

    def execute_detached(cell, index):
        sent.append(cell.source)
        cell.outputs = [{"output_type": "display_data", "data": {HIDDEN_MIME: "[]"}}]

    runner = TrustedExecute()
    runner.kc = _RecordingClient() if can_attach else object()
    runner._execute_detached = execute_detached
    assert runner._execute_script(script, 0) == "[]"
    if can_attach:
        assert len(sent[0]) < 1000 and HIDDEN_FIELD in sent[0]
        assert runner.kc.attached[0][HIDDEN_FIELD]["script"] == script
        assert runner.kc.attached[1] == {}  # cleared after the run
    else:
        assert repr(script) in sent[0]  # a literal in the code
