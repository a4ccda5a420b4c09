"""The allocator policy: freed memory is kept for reuse once a torch model trains."""
import ctypes
import resource

import pytest

import workbench.allocator as allocator
from tests.helpers.trf import build, tiny_bert_path, trf_config


def glibc() -> bool:
    return allocator._libc() is not None


@pytest.mark.skipif(not glibc(), reason="the policy is glibc's mallopt; this C library is not glibc")
def test_a_training_forward_applies_it_and_freed_memory_is_reused_without_page_faults():
    from thinc.api import Adam

    nlp, examples = build(trf_config(tiny_bert_path(), ner=False))
    nlp.update(examples, sgd=Adam(0.001))
    assert allocator._applied is True and allocator.keep_freed_memory() is True
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    size = 20 * 1024 * 1024  # under the 32 MB mmap threshold: heap blocks

    def step() -> int:
        """Page faults of one 'step': six 20 MB blocks live at once, written, freed."""
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        blocks = [libc.malloc(size) for _ in range(6)]
        for ptr in blocks:
            ctypes.memset(ptr, 1, size)
        for ptr in blocks:
            libc.free(ptr)
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    step()
    # glibc's own policy trims the 120 MB heap top after each such step: ~30,700 faults
    # every step (measured); kept, the second step reuses it
    assert step() < 300
