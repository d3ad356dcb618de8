"""Mesa's parts the model does not use wait until first used (sim.model.deferred): a run
imports neither networkx nor scipy's spatial module, and the parts still work, however they
are first reached."""

from __future__ import annotations

import subprocess
import sys
import textwrap

HEAVY = ("networkx", "scipy.spatial", "scipy.sparse")


def python(code: str) -> str:
    """The output of ``code`` in a fresh interpreter (what a command's start imports)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_run_imports_no_part_of_mesa_it_does_not_use():
    imported = python(
        f"""
        import sys
        import sim
        sim.build("baseline", run__population=200, until="2015-03").run_to()
        print(sorted(m for m in {HEAVY!r} if m in sys.modules))
        """
    )
    assert imported == "[]"


def test_the_deferred_parts_work_when_read_from_two_threads_at_once():
    output = python(
        """
        import sys, threading
        import sim.model.model
        import mesa
        print(type(mesa.discrete_space).__name__, type(mesa.space).__name__)
        found = []
        def use():
            from mesa.discrete_space import OrthogonalMooreGrid
            found.append((OrthogonalMooreGrid.__name__, mesa.space.MultiGrid.__name__))
        threads = [threading.Thread(target=use) for _ in range(2)]
        for t in threads: t.start()
        for t in threads: t.join()
        import mesa.experimental.devs
        real = all(getattr(mesa, n) is sys.modules[f"mesa.{n}"] for n in ("space", "experimental"))
        print(found, real, "networkx" in sys.modules, "MultiGrid" in dir(mesa.space))
        """
    )
    deferred, used = output.splitlines()
    assert deferred == "_Deferred _Deferred"  # until used
    pair = "('OrthogonalMooreGrid', 'MultiGrid')"
    assert used == f"[{pair}, {pair}] True True True"  # then Mesa's own packages


def test_a_submodule_imported_first_and_a_pickled_grid_load():
    """Importing a submodule first runs its package first, as without the deferral (a
    pickle of a grid imports ``mesa.discrete_space.grid``)."""
    blob = python(
        """
        import pickle, random
        from mesa.discrete_space import OrthogonalMooreGrid
        print(pickle.dumps(OrthogonalMooreGrid((2, 2), random=random.Random(0))).hex())
        """
    )
    loaded = python(
        f"""
        import pickle
        import sim.model.model
        grid = pickle.loads(bytes.fromhex("{blob}"))
        import mesa.discrete_space.property_layer
        from mesa.discrete_space.grid import OrthogonalMooreGrid
        print(type(grid) is OrthogonalMooreGrid, len(grid.all_cells))
        """
    )
    assert loaded == "True 4"


def test_a_package_and_its_submodule_imported_at_once_do_not_wait_for_each_other():
    for _ in range(3):  # the first imports race once a process
        assert (
            python(
                """
            import threading
            import sim.model.model
            import networkx, scipy.spatial  # what the package imports, ready: a closer race
            start, done = threading.Barrier(2), []
            def package():
                start.wait()
                from mesa.discrete_space import OrthogonalMooreGrid
                done.append("package")
            def submodule():
                start.wait()
                import mesa.discrete_space.grid
                done.append("submodule")
            threads = [threading.Thread(target=f, daemon=True) for f in (package, submodule)]
            for t in threads: t.start()
            for t in threads: t.join(30)
            print(sorted(done))
            """
            )
            == "['package', 'submodule']"
        )


def test_while_mesa_is_imported_a_stand_in_lacks_names_as_a_package_being_imported():
    """``from package import submodule`` then imports the submodule (reading it from the
    stand-in would import the stand-in itself, without end)."""
    assert (
        python(
            """
        import importlib.machinery, importlib.util, sys
        from sim.model import deferred
        found = importlib.util.find_spec("mesa")
        spec = importlib.machinery.PathFinder.find_spec(
            "mesa.experimental", found.submodule_search_locations
        )
        stand_in = importlib.util.module_from_spec(spec)
        stand_in.__class__ = deferred._Deferred
        sys.modules["mesa.experimental"] = stand_in  # as during Mesa's import
        from mesa.experimental import scenarios
        print(scenarios.__name__, hasattr(stand_in, "devs"))
        """
        )
        == "mesa.experimental.scenarios False"
    )


def test_mesa_imported_first_is_left_as_it_is():
    assert (
        python(
            """
        import mesa, sim.model.model
        print(type(mesa.discrete_space).__name__, type(mesa.experimental).__name__)
        """
        )
        == "module module"
    )
