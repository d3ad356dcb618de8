"""Mesa's parts the model does not use wait until first touched (sim.model.deferred): a run
imports neither networkx nor scipy's spatial module, and the parts still work when used."""

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


def test_the_deferred_parts_work_when_touched_from_two_threads_at_once():
    output = python(
        """
        import sys, threading
        import sim.model.model  # defers them, and imports Mesa
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
        print(found, type(mesa.discrete_space).__name__, "networkx" in sys.modules)
        """
    )
    deferred, used = output.splitlines()
    assert deferred == "_Deferred _Deferred"
    assert used == (
        "[('OrthogonalMooreGrid', 'MultiGrid'), ('OrthogonalMooreGrid', 'MultiGrid')] module True"
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
