"""collectsim.experiments.memory.release_memory: freed heap pages go back to the operating system."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# In a fresh process (its own heap), glibc set as a long job leaves it: its mapping threshold
# above 8 MB (what freeing a large mapped array does by itself, but not reliably early in a
# process) and no trimming on free. 100 arrays of 8 MB then come from the heap, each with a
# small array kept above it; freeing the large ones leaves their pages resident until
# release_memory.
PROBE = textwrap.dedent("""
    import ctypes
    import numpy as np, psutil
    from collectsim.experiments.memory import release_memory
    libc = ctypes.CDLL("libc.so.6")
    assert libc.mallopt(-3, 64 << 20) == 1 and libc.mallopt(-1, 1 << 30) == 1  # M_MMAP_ / M_TRIM_THRESHOLD
    rss = lambda: psutil.Process().memory_info().rss / 1e6
    blocks, keep = [], []
    for _ in range(100):
        blocks.append(np.ones(1_000_000))
        keep.append(np.ones(1000))
    before = rss(); del blocks
    freed = rss(); release_memory(); after = rss()
    print(before, freed, after)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator (Linux)")
def test_release_memory_returns_the_pages_that_freeing_left_resident():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
    before, freed, after = map(float, out.stdout.split())
    assert before - after >= 0.9 * 800  # the 800 MB freed are no longer resident
    assert freed - after >= 0.5 * 800, (before, freed, after)  # and it was release_memory that gave them back
