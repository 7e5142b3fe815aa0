"""The seccomp filter of grading kernels (``autograder/sandbox.py`` hands it to bubblewrap).

A classic-BPF program, the form ``bwrap --seccomp FD`` reads (an array of ``struct sock_filter``:
u16 code, u8 jt, u8 jf, u32 k, native byte order). It refuses, with EPERM:

- creating namespaces: ``unshare``, ``setns``, and ``clone`` with any ``CLONE_NEW*`` flag
  (``clone3``, whose flags the filter cannot read, gets ENOSYS so that the C library falls back
  to ``clone``). This is what makes *nested user namespaces* impossible when bubblewrap runs as
  root (there ``--disable-userns`` is not available);
- mounting: ``mount``, ``umount2``, ``pivot_root``, ``chroot`` and the new mount API;
- kernel interfaces a notebook never needs and that are frequent exploit routes: the kernel
  keyring (``add_key``, ``request_key``, ``keyctl``), ``bpf``, ``perf_event_open``,
  ``userfaultfd``, ``io_uring_*``.

System calls of another ABI (32-bit, x32) are refused with ENOSYS. Supported architectures:
x86_64 and aarch64; :func:`program` returns None elsewhere.
"""

import errno
import platform
import struct

_CLONE_NEW = 0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
"""CLONE_NEWTIME | NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET."""

# (AUDIT_ARCH_*, {name: number}) per machine; numbers from asm/unistd.h of each architecture.
_DENIED = ("unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount", "fsopen",
           "fsconfig", "fsmount", "fspick", "mount_setattr", "add_key", "request_key", "keyctl", "bpf",
           "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register")
_NEW_API = {"open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
            "mount_setattr": 442, "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
            "clone3": 435}
_ARCHES = {
    "x86_64": (0xC000003E, {"unshare": 272, "setns": 308, "mount": 165, "umount2": 166, "pivot_root": 155,
                            "chroot": 161, "add_key": 248, "request_key": 249, "keyctl": 250, "bpf": 321,
                            "perf_event_open": 298, "userfaultfd": 323, "clone": 56, **_NEW_API}),
    "aarch64": (0xC00000B7, {"unshare": 97, "setns": 268, "mount": 40, "umount2": 39, "pivot_root": 41,
                             "chroot": 51, "add_key": 217, "request_key": 218, "keyctl": 219, "bpf": 280,
                             "perf_event_open": 241, "userfaultfd": 282, "clone": 220, **_NEW_API}),
}
_X32_BIT = 0x40000000

_LD_ABS_W, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW = 0x7FFF0000
_OFFSET_NR, _OFFSET_ARCH, _OFFSET_ARG0 = 0, 4, 16  # struct seccomp_data; arg0's low 32 bits (little endian)


def _errno(code):
    return 0x00050000 | code


def _insn(code, k, jt=0, jf=0):
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine=None):
    """The filter as bytes for ``bwrap --seccomp``, or None on an unsupported architecture."""
    machine = machine or platform.machine()
    if machine not in _ARCHES or struct.pack("=I", 1) != struct.pack("<I", 1):
        return None
    arch, numbers = _ARCHES[machine]
    out = [_insn(_LD_ABS_W, _OFFSET_ARCH), _insn(_JEQ, arch, 1, 0), _insn(_RET, _errno(errno.ENOSYS)),
           _insn(_LD_ABS_W, _OFFSET_NR)]
    if machine == "x86_64":
        out += [_insn(_JGE, _X32_BIT, 0, 1), _insn(_RET, _errno(errno.ENOSYS))]
    for name in _DENIED:
        out += [_insn(_JEQ, numbers[name], 0, 1), _insn(_RET, _errno(errno.EPERM))]
    out += [_insn(_JEQ, numbers["clone3"], 0, 1), _insn(_RET, _errno(errno.ENOSYS))]
    # clone: refuse any CLONE_NEW* flag; everything else (fork, threads) is allowed.
    out += [_insn(_JEQ, numbers["clone"], 0, 3), _insn(_LD_ABS_W, _OFFSET_ARG0), _insn(_JSET, _CLONE_NEW, 0, 1),
            _insn(_RET, _errno(errno.EPERM)), _insn(_RET, _ALLOW)]
    return b"".join(out)
