"""Large arrays given back to the system when they are freed.

glibc's malloc maps a block of 128 KiB or more on its own, and unmaps it when it is freed;
but each time such a block is freed it raises that bound to the block's size (up to
32 MiB), so that later blocks of a few MiB come from the heap, which keeps their memory
once they are freed. A month of a large public frees arrays of one to a few MiB a person's
byte at a time (news heard, masks, the year's measures), and the heap kept about a tenth
of the run's memory this way at a million persons. Fixing the bound
(``mallopt(M_MMAP_THRESHOLD)``) also stops it moving: every block from :data:`MAP_FROM`
up is mapped and given back.
"""

from __future__ import annotations

import ctypes
import functools
import os

MAP_FROM = 256 * 1024
"""Blocks of this many bytes or more are mapped on their own and unmapped when freed (the
arrays of 262,144 persons or more at a byte a person). Measured at 1,000,000 persons over
four years: peak memory 16 bytes a person lower than with glibc's moving bound, at 256 KiB
and 1 MiB alike, and 8 lower at 4 MiB; 100,000 persons over 40 years took 1-2 % longer
(the arrays freed are mapped afresh)."""

M_MMAP_THRESHOLD = -3  # glibc's malloc.h


@functools.cache
def give_back_large_arrays() -> bool:
    """Fix glibc's bound for mapping blocks at :data:`MAP_FROM` (once a process: the setting
    is the process's). Returns whether it is set: not with another C library."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):
            return False
        return bool(ctypes.CDLL(None).mallopt(M_MMAP_THRESHOLD, MAP_FROM))
    except (AttributeError, OSError, ValueError):  # not glibc, or no such call
        return False
