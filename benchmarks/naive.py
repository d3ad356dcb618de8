"""The plain-Mesa reference: the population update with one agent per person and a Python
loop over each person's neighbours.

It re-implements step 3 of the schedule in docs/ODD.md §3 (persuasion, framed news and
the comparison between powers, relaxation, bounded-confidence influence, identity: the
equations of docs/ODD.md §7.4-7.6) without numpy, so that it checks :mod:`sim.model.rules`
independently (``tests/test_naive_reference.py``) and measures what vectorising buys
(``benchmarks/bench_naive.py``). Noise must be off (``mechanisms.stochastic_exposure =
false``): the reference uses expected exposure and expected incident counts. Demography
must be off too: the reference reads each person's attributes once.
"""

from __future__ import annotations

import mesa

from sim.inputs.schema import CHANNELS, DIMENSIONS
from sim.model.model import MultivectorModel


class Person(mesa.Agent):
    """One synthetic person, as a Mesa tutorial would write it."""

    def __init__(self, model: MultivectorModel, index: int):
        super().__init__(model)
        pop = model.public.persons
        self.culture = [float(x) for x in pop.culture[index]]
        self.identity = float(pop.identity[index])
        self.identity_baseline = float(pop.identity_baseline[index])
        self.susceptibility = [float(x) for x in pop.susceptibility[index]]
        self.personal = [float(x) for x in pop.personal[index]]
        self.ties = [bool(x) for x in pop.ties[index]]
        self.kin = [bool(x) for x in pop.kin[index]]
        self.follows = [bool(x) for x in pop.diets.follows[pop.diet[index]]]
        self.engagement = [float(x) for x in pop.engagement_table[pop.engagement_cell[index]]]
        self.speaks = [bool(x) for x in pop.tongues.rows[pop.tongue[index]]]
        self.elite = bool(pop.elite[index])
        self.attraction = [float(x) for x in pop.attraction[index]]
        self.neighbours: list[Person] = []
        self.next_attraction = list(self.attraction)

    def decide(self) -> None:
        """Next month's attraction to every power, from this month's state (synchronous)."""
        model = self.model
        params, mech = model.params, model.params.mechanisms
        gated = [model.profile.language_gated[c] for c in CHANNELS]
        outlets = list(model.profile.outlets.values())
        news = [0.0] * len(params.powers)
        change_of = [0.0] * len(params.powers)
        for p, (name, power) in enumerate(params.powers.items()):
            a = self.attraction[p]
            distance = sum(
                abs(self.culture[d] - getattr(power.message, dim))
                for d, dim in enumerate(DIMENSIONS)
            )
            affinity = 1.0 - distance / len(DIMENSIONS)
            stereotype = 0.0
            if mech.stereotypes:
                elite = params.population.elite_stereotype if self.elite else 1.0
                personal = self.susceptibility[p] * (0.5 + self.identity) * elite
                stereotype = min(1.0, max(0.0, power.stereotype * personal))
            resistance = params.persuasion.identity_resistance if mech.identity else 0.0
            receptivity = affinity * (1 - stereotype) * (1 - resistance * self.identity)
            baseline = receptivity * power.prestige + self.personal[p]
            baseline += params.persuasion.ties_bonus * self.ties[p]
            if mech.kinship:
                baseline += params.persuasion.kin_bonus * self.kin[p]
            baseline = min(1.0, max(0.0, baseline))
            access = 0.0
            for lang_index, lang in enumerate(model.profile.languages):
                if self.speaks[lang_index]:
                    access = max(access, power.languages.get(lang, 0.0))
            signal = model.power_agents[p].signal
            drive = 0.0
            followed = [o for o, f in zip(outlets, self.follows, strict=True) if f]
            media = max((o.carries.get(name, 0.0) for o in followed), default=0.0)
            named = any(name in o.carries for o in outlets)  # else media go by language
            for c, channel in enumerate(CHANNELS):
                reach = access if gated[c] else 1.0
                if named and channel == "media":
                    reach = media
                drive += self.engagement[c] * signal[c] * reach
            change = params.persuasion.rate * drive * receptivity * (1 - a)
            change -= params.persuasion.relaxation * (a - baseline)
            if mech.backlash:
                valence = -1.0
                if mech.framing and followed:
                    valence = sum(o.frames.get(name, -1.0) for o in followed) / len(followed)
                framed = power.hostility / 12.0 * params.backlash.reach * valence
                if framed < 0:
                    news[p] = params.backlash.strength * framed * self.identity * a
                else:
                    news[p] = params.backlash.strength * framed * (1 - self.identity) * (1 - a)
                change += news[p]
            if mech.social_influence:
                close = [
                    n.attraction[p] - a
                    for n in self.neighbours
                    if abs(n.attraction[p] - a) < params.social.confidence
                ]
                if close:
                    change += params.social.rate * sum(close) / len(close)
            change_of[p] = change
        total = sum(self.attraction)
        for q in range(len(change_of)):
            if mech.comparison:  # news about p moves q in proportion to q's standing
                for p in range(len(change_of)):
                    others = total - self.attraction[p]
                    if p != q and news[p] != 0.0 and others > 0.0:
                        change_of[q] -= (
                            params.persuasion.comparison * news[p] * self.attraction[q] / others
                        )
            self.next_attraction[q] = min(1.0, max(0.0, self.attraction[q] + change_of[q]))

    def commit(self) -> None:
        """Take the decided attraction; identity answers the state's promotion."""
        self.attraction = list(self.next_attraction)
        params = self.model.params
        if params.mechanisms.identity:
            gain = params.identity.response * self.model.state.promotion() * (1 - self.identity)
            loss = params.identity.decay * (self.identity - self.identity_baseline)
            self.identity = min(1.0, max(0.0, self.identity + gain - loss))


def use_naive_population(model: MultivectorModel) -> list[Person]:
    """Replace the model's vectorised population update with the per-agent reference."""
    pop = model.public.persons
    people = [Person(model, i) for i in range(pop.size)]
    indptr, indices = pop.network.indptr, pop.network.indices
    for i, person in enumerate(people):
        person.neighbours = [people[j] for j in indices[indptr[i] : indptr[i + 1]]]

    def update_population(*_) -> None:  # the arguments of Public.update, unused here
        for i, person in enumerate(people):  # events (shocks) write to the shared arrays
            person.attraction = [float(x) for x in pop.attraction[i]]
        model.agents_by_type[Person].do("decide")
        model.agents_by_type[Person].do("commit")
        for i, person in enumerate(people):
            pop.attraction[i] = person.attraction
            pop.identity[i] = person.identity
        model.public.revision += 1  # persons changed: what the measures sum is made again

    model.public.update = update_population
    return people
