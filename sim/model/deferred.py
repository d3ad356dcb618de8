"""Parts of Mesa the model does not use, imported when first touched rather than with Mesa.

``import mesa`` imports all of Mesa: its grids and networks (``mesa.discrete_space``, which
imports scipy's spatial module and networkx), its older ``mesa.space`` (networkx again) and
its experimental parts (``mesa.experimental``, with scipy's distances). The model uses
Mesa's ``Model``, agents, agent sets, event clock and DataCollector, none of which needs
them; importing them costs about 0.4 s of every start (a 1,000-person ``multivector run``
took 2.6 s with them and 2.2 s without, measured side by side).

:func:`defer_unused_mesa`, called when ``sim.model`` is imported (before any module of the
package imports Mesa), registers those three packages as modules whose code runs on the
first attribute anyone reads from them: the dashboard's ``from mesa.discrete_space import
...`` or a user's ``mesa.space.MultiGrid`` then import them as usual. Submodules, such as
``mesa.experimental.mesa_signals`` that ``mesa.model`` imports, load on their own without
their package's ``__init__``.

Python's own :class:`importlib.util.LazyLoader` cannot do this: the import system reads
``__spec__`` of every module it finds already imported, and that read would run the module.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
import types

UNUSED = ("mesa.discrete_space", "mesa.space", "mesa.experimental")
"""Mesa's packages imported on first use (see the module's docstring)."""

_lock = threading.RLock()
_running: set[str] = set()  # the deferred modules whose code is running now


class _Deferred(types.ModuleType):
    """A module whose code has not run yet: reading a name it lacks runs it, then reads it
    (a name it has, such as ``__spec__`` or ``__path__``, is read as usual). Another thread
    reading meanwhile waits for the code to end; the module's own code, and the submodules
    it imports, see it as any module being imported."""

    def __getattr__(self, name: str):
        with _lock:
            if type(self) is _Deferred:
                if self.__name__ in _running:  # read while its code runs, by that code
                    raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
                _running.add(self.__name__)
                try:
                    self.__spec__.loader.exec_module(self)
                finally:
                    _running.discard(self.__name__)
                self.__class__ = types.ModuleType
        return getattr(self, name)


def defer_unused_mesa() -> None:
    """Register :data:`UNUSED` as deferred modules, unless Mesa is already imported (then
    nothing changes) or cannot be found."""
    if "mesa" in sys.modules:
        return
    mesa = importlib.util.find_spec("mesa")  # found, not imported
    if mesa is None or mesa.submodule_search_locations is None:
        return
    for name in UNUSED:
        spec = importlib.machinery.PathFinder.find_spec(name, mesa.submodule_search_locations)
        if spec is None or spec.loader is None or name in sys.modules:
            continue
        module = importlib.util.module_from_spec(spec)
        module.__class__ = _Deferred
        sys.modules[name] = module
