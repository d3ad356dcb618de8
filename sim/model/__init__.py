"""The model: rules, persons, agents and the Mesa model (the second layer)."""

from sim.model.deferred import defer_unused_mesa

defer_unused_mesa()  # before this layer imports Mesa: the parts it does not use wait
