"""The model's random streams, drawn from in compiled passes.

numba takes a ``numpy.random.Generator`` as an argument and draws the numbers numpy would:
its ``random``, ``integers``, ``binomial``, ``poisson`` and ``normal`` are numpy's algorithms,
run on the generator's own bit generator, so the stream goes on where numpy's would. But
numba reads the generator's C interface anew at every call, through Python's ``ctypes``,
which costs more than most of the draws a pass makes (docs/performance.md). So a compiled
pass takes a stream's :func:`handle` instead: the four addresses numba would read (the bit
generator's state and its three draws), read once per stream (:class:`Handles`); the pass
makes numba's generator of them (:func:`sim.model.rules.generator`). The numbers are the
same (tests/test_streams.py). A handle is valid while its generator lives, in the process
that read it: hand a pass the handle of a stream the caller holds. A pass draws without
numpy's lock on the stream (as numba's own generator does), so nothing else may draw from
a stream while a pass draws from it: the one pass run on another thread, next month's
exposure (:meth:`sim.model.public.Public.update`), draws from a stream the update alone
uses.
"""

from __future__ import annotations

import ctypes

import numpy as np


def handle(rng: np.random.Generator) -> tuple[int, int, int, int]:
    """The addresses of ``rng``'s bit generator state and of its ``next_uint64``,
    ``next_uint32`` and ``next_double``, as numba's unboxing of a Generator reads them.

    The addresses are only good while ``rng`` lives: a pass handed the handle of a
    generator already freed draws from freed memory (a crash, or another stream's numbers).
    So take the handle of a stream held by name, as :class:`Handles` and the model's
    streams are, never of a generator made in the call (``handle(default_rng(1))``)."""
    interface = rng.bit_generator.ctypes
    address = ctypes.c_void_p
    return (
        interface.state_address,
        ctypes.cast(interface.next_uint64, address).value,
        ctypes.cast(interface.next_uint32, address).value,
        ctypes.cast(interface.next_double, address).value,
    )


class Handles:
    """The :func:`handle` of each stream given, read once: a holder of streams keeps one.
    Each handle is kept with its stream, which it keeps alive; a copy or a pickle starts
    empty (the addresses are this process's and these streams')."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[np.random.Generator, tuple[int, int, int, int]]] = {}

    def __call__(self, rng: np.random.Generator) -> tuple[int, int, int, int]:
        held = self._held.get(id(rng))  # (its stream is kept: no other object has its id)
        if held is None:
            held = self._held[id(rng)] = (rng, handle(rng))
        return held[1]

    def __reduce__(self):
        return (Handles, ())
