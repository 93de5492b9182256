"""The CPU process keeps freed memory: large per-step buffers are not faulted in again every step."""

from __future__ import annotations

import resource
import sys

import pytest
import torch

from restorefw.device import resolve_device


def _faults_of_touching(mib: int) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    buffer = torch.ones(mib * 2**18)  # float32: mib MiB, every page written
    del buffer
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_a_freed_large_buffer_is_reused_without_page_faults() -> None:
    """glibc's default maps every block over 32 MiB afresh and unmaps it on free: one fault per page, every
    time. After resolve_device('cpu') the heap keeps it (it settles within a few allocations)."""
    resolve_device("cpu")
    for _ in range(4):
        _faults_of_touching(64)
    pages = 64 * 2**20 // resource.getpagesize()
    counts = [_faults_of_touching(64) for _ in range(6)]
    assert max(counts[-3:]) < pages // 10, counts
