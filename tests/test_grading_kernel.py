"""The grading kernel's manager and client (autograder/grading_kernel.py) keep jupyter_client's behaviour
without its idle waits: a cell's first output right after start-up arrives, a kernel that died is
reported, a killed kernel is gone, and grading uses them."""

import asyncio
import sys

import pytest

from autograder.grading_kernel import GradingKernelClient, GradingKernelManager
from autograder.trusted_execute import TrustedExecute


def _manager():
    return GradingKernelManager(kernel_name="python3")


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
            km = _manager()
            await km.start_kernel(extra_arguments=[], env={"PATH": sys.exec_prefix + "/bin"})
            kc = km.client()
            kc.start_channels()
            try:
                await kc.wait_for_ready(timeout=60)
                assert await _first_output(kc, f"print('first output {attempt}')") == f"first output {attempt}\n"
            finally:
                kc.stop_channels()
                await km.shutdown_kernel(now=True)
            assert not await km.is_alive()

    asyncio.run(run())


def test_a_kernel_that_died_before_it_was_ready_is_reported():
    async def run():
        km = _manager()
        await km.start_kernel(extra_arguments=[], env={"PATH": sys.exec_prefix + "/bin"})
        kc = km.client()
        kc.start_channels()
        try:
            await km.provisioner.kill()
            with pytest.raises(RuntimeError, match="died"):
                await kc.wait_for_ready(timeout=30)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    asyncio.run(run())
