"""Keep a long-running process's heap from growing with the work it has done.

glibc serves a large allocation from its heap once a freed one of that size has raised its dynamic
mmap threshold; the window buffers of a long recording (a 10-s 48 kHz stereo window is ~6 MB a view)
then fragment the heap, and resident memory creeps up with the recording's length (+250 MB over
3 hours, measured by ``benchmarks/memory.py``). A fixed threshold sends every buffer of 1 MiB or more
to ``mmap``, so freeing it returns the memory to the system.

Only ``stasc predict`` sets it, and only for a recording longer than 10 minutes (a program that calls
:func:`stasc.inference.predict_files` on long recordings calls it itself). Everything else keeps glibc's default:
mapping, zeroing and unmapping every buffer of 1 MiB or more on its own costs far more than the creep saves where
recordings are short, and a training batch's activations are all such buffers. ``benchmarks/throughput.py
--allocator mmap-1MiB`` measures it: ``envsound`` trains at less than half the speed with the setting.
"""

from __future__ import annotations

import ctypes
import functools
import sys

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
LARGE_BUFFER_BYTES = 1 << 20


@functools.cache
def return_large_buffers_to_the_system() -> bool:
    """Set glibc's mmap threshold to 1 MiB for this process (once); False where that is not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt to speak of)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES))
