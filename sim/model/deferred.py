"""Mesa, imported without the parts the model does not use: those are imported when
something first imports them or reads from them.

``import mesa`` imports all of Mesa: its grids and networks (``mesa.discrete_space``, which
imports scipy's spatial module and networkx), its older ``mesa.space`` (networkx again) and
its experimental parts (``mesa.experimental``, with scipy's distances). The model uses
Mesa's ``Model``, agents, agent sets, event clock and DataCollector, none of which needs
them; importing them costs 0.2-0.4 s of every start, with the machine's hour (a
1,000-person ``multivector run`` took 2.2-2.6 s with them and 1.8-2.1 s without, measured
side by side).

So the model's modules take Mesa from here (``from sim.model.deferred import mesa``). While
Mesa's own ``__init__`` runs, each of those three packages is a stand-in in
``sys.modules`` (:class:`_Deferred`): Mesa binds it as its attribute, and the submodules
that ``mesa.model`` needs (``mesa.experimental.mesa_signals`` and two more) load through
it. Once Mesa is imported the stand-ins leave ``sys.modules``, so from then on the import
system imports the real packages as it would have: when anyone imports one or a
submodule of it (``from mesa.discrete_space import OrthogonalMooreGrid``, a pickle of a
grid), with Python's own import locks, and it then sets the real package as Mesa's
attribute in the stand-in's place. Reading from a stand-in (``mesa.space.MultiGrid``, or
``dir(mesa.space)``) imports the package the same way.

If Mesa was imported before the model, it is left as it is.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types

UNUSED = ("mesa.discrete_space", "mesa.space", "mesa.experimental")
"""Mesa's packages imported on first use (see the module's docstring)."""


class _Deferred(types.ModuleType):
    """Stands for one of :data:`UNUSED` until it is imported: reading a name it lacks
    imports the package and reads the name from it. While Mesa is being imported (the
    stand-in is in ``sys.modules``), it lacks the name, as a package being imported
    does, and ``from package import submodule`` imports the submodule."""

    def __getattr__(self, name: str):
        if sys.modules.get(self.__name__) is self:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        return getattr(_imported(self.__name__), name)

    def __dir__(self) -> list[str]:
        if sys.modules.get(self.__name__) is self:
            return list(self.__dict__)
        return dir(_imported(self.__name__))


def _imported(name: str) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except AttributeError as error:  # the package's code failed, not a read of a missing name
        raise ImportError(f"importing {name} failed: {error}", name=name) from error


def _import_mesa() -> types.ModuleType:
    """Mesa, imported with :data:`UNUSED` as stand-ins (see the module's docstring)."""
    placed = {}
    found = None if "mesa" in sys.modules else importlib.util.find_spec("mesa")  # not run
    if found is not None and found.submodule_search_locations is not None:
        for name in UNUSED:
            spec = importlib.machinery.PathFinder.find_spec(name, found.submodule_search_locations)
            if spec is not None and spec.loader is not None and name not in sys.modules:
                stand_in = importlib.util.module_from_spec(spec)  # its path, for submodules
                stand_in.__class__ = _Deferred
                placed[name] = sys.modules[name] = stand_in
    try:
        import mesa
    finally:
        for name, stand_in in placed.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
    return mesa


mesa = _import_mesa()
