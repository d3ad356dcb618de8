"""The scenario schema: the one place that knows every parameter's name, type, range, unit and
default.

A scenario file is validated against :class:`Scenario`; the command line, the documentation and
the tests read parameter facts from here. Each field's ``description`` says what it is, and its
``json_schema_extra`` carries the ``unit``, the ``source`` of its value and whether it is
``init_only`` (read once when the model is built, so no dated event may change it).
"""

from __future__ import annotations

import functools
import math
import operator
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

from sim.inputs.limits import MAX_LABEL_CHARS, MAX_NAME_CHARS, MAX_TEXT_CHARS

CHANNELS = ("education", "media", "language", "culture", "economy", "grants", "values")
"""Soft-power channels named by the seed study (§2, §5.1–5.4)."""

DIMENSIONS = ("liberal", "russian", "turkic")
"""Cultural dimensions of persons' profiles and powers' messages (docs/ODD.md §2)."""

GROUP_DIMENSIONS = ("ethnicity", "language", "age", "cohort", "area", "region")
"""Person attributes by which results are grouped and events select people."""


ROLES = ("lever", "uncertainty", "setting")
"""What a parameter is, in the EMA Workbench's terms: a ``lever`` the middle state controls
(its balancing, screening and identity promotion; a teacher plays the state with them), an
``uncertainty`` about the world (what the powers do, how persons respond), or a ``setting``
of the experiment (the run's span, size and seed; the mechanisms' switches)."""


def param(
    default: Any,
    doc: str,
    *,
    unit: str = "",
    source: str = "assumption",
    init_only: bool = False,
    lesson: tuple[float, float] | None = None,
    label: str = "",
    role: str = "uncertainty",
    **bounds: Any,
) -> Any:
    """A documented parameter field (wrapper around ``pydantic.Field``).

    ``lesson`` marks a parameter the classroom dashboard offers as a slider, with the range
    it spans (narrower than the allowed range where that is too wide to move a slider across
    usefully; the allowed bounds still apply everywhere). ``label`` names it in plain words for
    the classroom (every ``lesson`` field and switch has one). ``role`` is one of :data:`ROLES`."""
    assert role in ROLES, role
    extra = {"unit": unit, "source": source, "init_only": init_only, "role": role}
    if lesson is not None:
        extra["lesson"] = lesson
    if label:
        extra["label"] = label
    return Field(default, description=doc, json_schema_extra=extra, **bounds)


class Strict(BaseModel):
    """Base for every schema table: unknown keys are refused, integers pass for floats, and
    nan and inf are refused wherever a number is read."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)


def check_month(text: str) -> str:
    """A ``YYYY-MM`` string, or ValueError saying what is allowed."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"bad date {text!r}: expected YYYY-MM with a month from 01 to 12")
    return text


Month = Annotated[str, AfterValidator(check_month)]


def month_index(month: str) -> int:
    """Months since year 0 for a ``YYYY-MM`` string (the model's clock)."""
    year, mon = month.split("-")
    return int(year) * 12 + int(mon) - 1


def month_name(index: int) -> str:
    """Inverse of :func:`month_index`."""
    return _month_name(operator.index(index))


@functools.cache  # a run names each month several times
def _month_name(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _channel_table(name: str, doc: str, *, le: float, unit: str) -> type[Strict]:
    fields = {c: (float, param(0.0, f"{doc}: {c}", unit=unit, ge=0.0, le=le)) for c in CHANNELS}
    return create_model(name, __base__=Strict, __doc__=doc, **fields)


Effort = _channel_table(
    "Effort", "effort per channel, 1 = the power's 2015 level", le=50.0, unit="2015 level"
)
Presence = _channel_table(
    "Presence", "the power's share of foreign content in a channel", le=1.0, unit="share"
)
Screenability = _channel_table(
    "Screenability", "how far screening can reach a channel", le=1.0, unit="share"
)


class Message(Strict):
    """A power's message on the cultural dimensions (0 = not at all, 1 = fully)."""

    liberal: float = param(0.5, "liberal values in the message", ge=0, le=1)
    russian: float = param(0.5, "Russian language and shared Soviet culture", ge=0, le=1)
    turkic: float = param(0.5, "Turkic-Islamic kinship", ge=0, le=1)


class PowerSettings(Strict):
    """A great or regional power: its channels, message, leverage and conduct.

    What makes a power (capacity, efficiency, effort, presence, message, languages, prestige)
    has no default: a misspelt power name in a scenario is then refused, not silently added.
    """

    capacity: float = param(
        ...,
        "upper bound on total effort over all channels",
        unit="2015 level",
        ge=0,
        le=100,
        lesson=(0.0, 20.0),
        label="How much it can spend on soft power",
    )
    efficiency: float = param(
        ...,
        "share of effort that becomes signal",
        ge=0,
        le=1,
        lesson=(0.0, 1.0),
        label="How much of its effort reaches people",
    )
    effort: Effort = Field(description="effort per channel")  # type: ignore[valid-type]
    presence: Presence = Field(description="presence per channel")  # type: ignore[valid-type]
    message: Message = Field(description="the power's message on the cultural dimensions")
    languages: dict[str, Annotated[float, Field(ge=0, le=1)]] = param(
        ..., "share of the power's content available in each language (profile's codes)"
    )
    prestige: float = param(
        ...,
        "emitter strength: scales the cultural baseline of attraction",
        ge=0,
        le=1,
        source="Brand Finance Global Soft Power Index / 100 (docs/calibration.md, facts)",
    )
    stereotype: float = param(0.0, "mean stereotype of the population toward it", ge=0, le=1)
    hostility: float = param(
        0.0, "hostile incidents (statements, threats) per year", unit="1/year", ge=0, le=60
    )
    leverage: float = param(
        0.0, "structural leverage on the state: trade, transit, border", ge=0, le=1
    )
    offers: float = param(0.0, "economic offers: investment, credit, market access", ge=0, le=1)
    security: float = param(
        0.0,
        "its share of the state's security ties (arms imports, alliance)",
        ge=0,
        le=1,
    )
    official_bias: float = param(0.0, "mean inclination of officials toward it", ge=-1, le=1)
    education_ties: float = param(
        0.0,
        "share of persons past the alumni age with education ties (alumni and their "
        "families) at the start; the chance of each cohort reaching that age, at the start's "
        "student flow",
        ge=0,
        le=1,
    )
    scholarship_ties: float = param(
        0.0,
        "share of the elites who are its scholarship graduates at the start; the chance of a "
        "new member of the elites, at the start's student flow (ODD §7.13)",
        ge=0,
        le=1,
    )


class RunSettings(Strict):
    """Time span, size and seed of a run."""

    start: Month = param(
        "2015-01",
        "first month",
        unit="YYYY-MM",
        init_only=True,
        source="setting of the run",
        role="setting",
    )
    end: Month = param(
        "2035-12",
        "last month",
        unit="YYYY-MM",
        init_only=True,
        source="setting of the run",
        role="setting",
    )
    population: int = param(
        20_000,
        "number of synthetic persons",
        unit="persons",
        init_only=True,
        source="setting of the run",
        role="setting",
        ge=100,
        le=2_000_000,
    )
    burn_in: int = param(
        48,
        "months of the public's attraction update before the first month, at its conditions",
        unit="months",
        init_only=True,
        source="setting of the run: attraction settles from its expected-value start in about "
        "three years (docs/ODD.md §5, 'The start')",
        role="setting",
        ge=0,
        le=240,
    )
    officials: int = param(
        30,
        "number of officials writing reports",
        init_only=True,
        source="setting of the run",
        role="setting",
        ge=1,
        le=500,
    )
    seed: int = param(
        20250327,
        "root seed of all randomness",
        init_only=True,
        source="setting of the run",
        role="setting",
        ge=0,
    )
    profile: str = param(
        "kazakhstan",
        "a shipped country profile's name, or a profile file (read beside the scenario file)",
        init_only=True,
        source="setting of the run",
        role="setting",
    )

    @model_validator(mode="after")
    def _ordered(self) -> RunSettings:
        if month_index(self.end) < month_index(self.start):
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


def switch(doc: str, label: str) -> Any:
    """A mechanism's on/off switch (on by default), ``label`` in plain words."""
    return param(True, doc, source="switch (docs/ODD.md §7)", role="setting", label=label)


class Mechanisms(Strict):
    """Switches: each turns one mechanism off so its effect can be shown."""

    backlash: bool = switch(
        "hostile incidents lower attraction", "Hostile words and incidents lower attraction"
    )
    social_influence: bool = switch(
        "bounded-confidence influence between neighbours", "People sway their neighbours"
    )
    stereotypes: bool = switch(
        "stereotypes lower receptivity and baseline", "Stereotypes make people less open"
    )
    identity: bool = switch(
        "identity resists persuasion and answers promotion",
        "National identity resists foreign persuasion",
    )
    balancing: bool = switch(
        "officials balance (off: each backs its best-scored power)",
        "Officials balance the powers",
    )
    counter_measures: bool = switch(
        "screening and identity promotion rise vs. dominance",
        "The state pushes back against a dominant power",
    )
    adaptation: bool = switch(
        "powers move effort yearly toward channels that pay",
        "Powers move their effort to what works",
    )
    stochastic_exposure: bool = switch(
        "individual random exposure and incident counts (off: expected values)",
        "Chance decides who sees what",
    )
    demography: bool = switch(
        "persons age, die, emigrate and are replaced by new cohorts (off: nobody ages)",
        "Generations come and go",
    )
    framing: bool = switch(
        "news of incidents reaches persons through the outlets they follow, framed by them "
        "(off: every incident is heard as hostile)",
        "News is framed by the media people follow",
    )
    comparison: bool = switch(
        "news about one power moves attitudes to the others (off: attitudes independent)",
        "People compare the powers",
    )
    kinship: bool = switch(
        "family ties across a border raise the attitude to that power",
        "Family ties abroad",
    )
    security: bool = switch(
        "officials keep a floor of alignment with the state's security partners (off: no floor)",
        "Security ties make a partner unavoidable",
    )
    alumni: bool = switch(
        "a power's education effort sets how many new alumni return with ties to it (off: "
        "every cohort at the start's rate)",
        "Students abroad come back as alumni",
    )


class Persuasion(Strict):
    """Attraction dynamics of persons (docs/ODD.md §7)."""

    rate: float = param(
        0.04,
        "alpha: persuasion per unit of drive",
        unit="1/month",
        ge=0,
        le=1,
        source="form: ODD §7.4; value on the time scale of relaxation, chosen so that no "
        "group is unanimous (P11; at 0.12 groups were)",
    )
    relaxation: float = param(
        0.03,
        "delta: pull toward the cultural baseline",
        unit="1/month",
        ge=0,
        le=1,
        source="assumption: unrenewed attraction fades over about three years",
    )
    identity_resistance: float = param(
        0.5,
        "rho: how far identity lowers receptivity",
        ge=0,
        le=1,
        source="study §5.5: resist 'through promotion of Kazakh national culture and identity'; "
        "default an assumption; Kazakhstan's baseline fits it with the ethnic gap, near its lower "
        "bound (docs/calibration.md)",
    )
    idiosyncrasy: float = param(
        0.15,
        "spread of personal baselines (sd)",
        init_only=True,
        ge=0,
        le=0.5,
        source="assumption: favourable shares need a spread within groups",
    )
    ties_bonus: float = param(
        0.2,
        "baseline raise from education ties to a power",
        ge=0,
        le=1,
        source="study §5.1: graduates 'penetrating Western mentality'; value an assumption",
    )
    kin_bonus: float = param(
        0.15,
        "baseline raise from family ties across the border with a power",
        ge=0,
        le=1,
        source="study §4: 600,000 ethnic Kazakhs in Russia, 'historical ties'; value an "
        "assumption (below the education ties' raise: kin do not choose the power)",
    )
    comparison: float = param(
        0.5,
        "sigma: share of a news-driven change toward one power taken from (or given to) the "
        "others, in proportion to their standing",
        ge=0,
        le=1,
        source="study §5.2: 'if Russia is weak, someone else will take its place'; value an "
        "assumption (0: independent attitudes, 1: zero-sum)",
    )


class Backlash(Strict):
    """Backlash against hostile incidents, a hypothesis of the study (§5.2)."""

    strength: float = param(
        0.05,
        "beta: loss per incident heard, times identity",
        ge=0,
        le=1,
        source="study §5.2: hostile statements 'rise negative feelings'; value an assumption",
    )
    reach: float = param(
        0.3,
        "chance a person hears of one incident",
        ge=0,
        le=1,
        source="assumption: one incident makes the news for about a third of people",
    )


class Survey(Strict):
    """How persons answer poll questions about the powers (docs/ODD.md, survey instruments)."""

    favourable_cut: float = param(
        0.5,
        "attraction at which half of respondents call their view of a power favourable",
        ge=0,
        le=1,
        source="fitted to the Central Asia Barometer 2017-2019 (docs/calibration.md)",
    )
    approval_cut: float = param(
        0.6,
        "attraction at which half of respondents approve of a power's leadership",
        ge=0,
        le=1,
        source="fitted to Gallup's approval of leadership (2006-2018 averages, compared with "
        "2015-2019; docs/calibration.md)",
    )
    spread: float = param(
        0.03,
        "width of the logistic answer function (answer noise around a cut-off)",
        ge=0,
        le=0.5,
        source="assumption: an eighth of a four-point scale's step",
    )
    change_tolerance: float = param(
        0.125,
        "smallest change of attraction a respondent reports as a changed attitude",
        ge=0,
        le=1,
        source="half a step of a four-point favourability scale (docs/ODD.md)",
    )


class Social(Strict):
    """Bounded-confidence influence between network neighbours."""

    rate: float = param(
        0.03,
        "mu: step toward close neighbours' mean",
        unit="1/month",
        ge=0,
        le=1,
        source="Deffuant et al. 2000; Hegselmann & Krause 2002 (form); value keeps spread",
    )
    confidence: float = param(
        0.2,
        "epsilon: largest difference that still persuades",
        ge=0,
        le=1,
        source="Deffuant et al. 2000 (form); value an assumption",
    )
    degree: int = param(
        8,
        "mean number of neighbours",
        init_only=True,
        ge=2,
        le=100,
        source="Watts & Strogatz 1998 (form); value an assumption",
    )
    rewiring: float = param(
        0.05,
        "Watts-Strogatz rewiring: share of random ties",
        init_only=True,
        ge=0,
        le=1,
        source="Watts & Strogatz 1998: small world for rewiring 0.01-0.1",
    )


class PopulationSettings(Strict):
    """Who the synthetic persons are, beyond the country profile."""

    elite_share: float = param(
        0.01,
        "share of persons in business or political elites",
        init_only=True,
        ge=0,
        le=0.2,
        source="assumption: a few elites (study §5.3: 'big business structures')",
    )
    ngo_share: float = param(
        0.01,
        "share of persons linked to foreign-funded NGOs",
        init_only=True,
        ge=0,
        le=0.2,
        source="assumption (study §5.5: 'civil sector representatives financed by NGOs')",
    )
    alumni_age: int = param(
        22,
        "age at which students abroad return and their education ties begin",
        unit="years",
        init_only=True,
        ge=16,
        le=40,
        source="assumption: a four-year first degree begun at 18 (ODD §7.13)",
    )
    study_years: int = param(
        4,
        "years of study abroad: the returning alumni reflect a power's education signal "
        "over this many years before",
        unit="years",
        init_only=True,
        ge=1,
        le=10,
        source="assumption: a four-year first degree (ODD §7.13)",
    )
    elite_stereotype: float = param(
        0.5,
        "elites' stereotypes relative to the public",
        ge=0,
        le=2,
        source="study §5.3: stereotypes persist among those without impact on policy",
    )
    stereotype_spread: float = param(
        0.4,
        "log-normal spread of personal stereotypes",
        init_only=True,
        ge=0,
        le=2,
        source="assumption",
    )
    cohort_effect: float = param(
        1.0,
        "scale of the country profile's cohort shifts (daily language, liberal values)",
        init_only=True,
        ge=0,
        le=3,
        source="fitted to the age gradient of the EDB Integration Barometer 2015 "
        "(docs/calibration.md); the profile gives the shifts' direction and ratios",
    )


class Identity(Strict):
    """National identity and its promotion by the state."""

    promotion: float = param(
        0.1,
        "lever: state promotion of national culture",
        ge=0,
        le=1,
        source="study §5.5: promotion of national culture is the state's answer",
        role="lever",
        lesson=(0.0, 1.0),
        label="How strongly the state promotes national culture and identity",
    )
    response: float = param(
        0.02,
        "kappa_iota: identity gain per unit of promotion",
        unit="1/month",
        ge=0,
        le=1,
        source="form: ODD §7; value an assumption",
    )
    decay: float = param(
        0.01,
        "delta_iota: return toward personal identity baseline",
        unit="1/month",
        ge=0,
        le=1,
        source="form: ODD §7; value an assumption",
    )


class State(Strict):
    """The middle state's balancing and counter-measures."""

    balance_strength: float = param(
        2.5,
        "lambda: penalty on concentrated alignment in officials' reports",
        ge=1e-3,
        le=100,
        lesson=(0.1, 10.0),
        label="How strongly officials balance the powers",
        source="study §6: 'balanced reports'; value keeps every share below theta (P7), also "
        "20 % lower (docs/validation.md)",
        role="lever",
    )
    policy_speed: float = param(
        0.08,
        "tau: monthly move of policy toward the mean report",
        unit="1/month",
        ge=0,
        le=1,
        source="assumption: policy follows advice within about a year",
        role="lever",
    )
    security_floor: float = param(
        0.25,
        "share of the alignment the state keeps with its security partners, whatever "
        "officials' scores (each power's floor is this times its share of the security ties)",
        ge=0,
        le=0.9,
        source="assumption: study §5.2 'It is inevitable', 'There is no choice'",
    )
    dominance_threshold: float = param(
        0.4,
        "theta: alignment share that triggers counter-measures",
        ge=0.01,
        le=1,
        source="assumption: no power above two fifths of the state's alignment",
        role="lever",
    )
    screening: float = param(
        0.2,
        "lever: baseline screening of foreign channels",
        ge=0,
        le=1,
        source="study §5.5: 'authorized bodies work' on illicit channels",
        role="lever",
        lesson=(0.0, 1.0),
        label="How closely the state screens foreign channels",
    )
    screenability: Screenability = Field(  # type: ignore[valid-type]
        default_factory=lambda: Screenability(
            education=0.1,
            media=0.3,
            language=0.1,
            culture=0.1,
            economy=0.05,
            grants=1.0,
            values=0.5,
        ),
        description="how far screening reaches each channel: grants fully, legal channels "
        "only weakly (study §5.5: soft power runs through 'legal, legitimate mechanisms')",
    )
    counter_rate: float = param(
        0.01,
        "kappa: monthly rise of counter-measures against a power, per unit of its excess over "
        "theta (relative to theta)",
        unit="1/month",
        ge=0,
        le=1,
        source="form: ODD §7; value an assumption",
        role="lever",
    )
    counter_decay: float = param(
        0.005,
        "phi: share of counter-measures that lapses each month (their cost, or fatigue)",
        unit="1/month",
        ge=0,
        le=1,
        source="assumption: measures kept at a cost fade unless renewed (ODD §7.9)",
        role="lever",
    )


class Officials(Strict):
    """Weights of officials' scores (docs/ODD.md §7)."""

    offer_weight: float = param(
        0.4, "weight of economic offers", ge=0, le=10, source="study §5.3 (Belt and Road)"
    )
    leverage_weight: float = param(
        0.6,
        "weight of structural leverage",
        ge=0,
        le=10,
        source="study §5.2: 'There is no choice' with Russia",
    )
    public_weight: float = param(
        0.5,
        "weight of public mood (attraction above average)",
        ge=0,
        le=10,
        source="study §6: 'a skeptical attitude of society can impede relations'",
    )
    elite_weight: float = param(
        0.3,
        "weight of elite interest",
        ge=0,
        le=10,
        source="study §5.3: 'big business structures' champion China",
    )
    advocacy_weight: float = param(
        0.2,
        "weight of NGO-funded advocacy",
        ge=0,
        le=10,
        source="study §5.5: NGO-financed civil sector 'may play active role'",
    )
    noise: float = param(0.1, "sd of monthly noise in each score", ge=0, le=5)
    bias_spread: float = param(
        0.05,
        "sd of officials' personal biases around the power's mean",
        init_only=True,
        ge=0,
        le=5,
    )


class Adaptation(Strict):
    """Powers' yearly adaptation."""

    shift: float = param(
        0.15,
        "share of effort moved toward better channels",
        unit="1/year",
        ge=0,
        le=1,
        source="assumption: powers move effort toward channels that pay (ODD §7)",
    )
    growth: float = param(
        0.1,
        "raise of total effort after a year of falling alignment",
        unit="1/year",
        ge=0,
        le=1,
        source="assumption: powers raise effort when their standing falls (ODD §7)",
    )
    horizon: float = param(
        10.0,
        "years over which a power values what a channel brings (persuasion that fades, "
        "alumni who return)",
        unit="years",
        ge=0,
        le=40,
        source="assumption: a decade, the span of the powers' foreign-policy concepts and "
        "education programmes (ODD §7.10)",
    )


class Parameters(Strict):
    """Every model parameter, by section. A scenario sets any of them by dotted path."""

    run: RunSettings = Field(default_factory=RunSettings)
    mechanisms: Mechanisms = Field(default_factory=Mechanisms)
    persuasion: Persuasion = Field(default_factory=Persuasion)
    backlash: Backlash = Field(default_factory=Backlash)
    social: Social = Field(default_factory=Social)
    survey: Survey = Field(default_factory=Survey)
    population: PopulationSettings = Field(default_factory=PopulationSettings)
    identity: Identity = Field(default_factory=Identity)
    state: State = Field(default_factory=State)
    officials: Officials = Field(default_factory=Officials)
    adaptation: Adaptation = Field(default_factory=Adaptation)
    powers: dict[
        Annotated[str, Field(pattern=r"^[A-Z][A-Za-z]*$", max_length=MAX_NAME_CHARS)],
        PowerSettings,
    ] = Field(min_length=2)


# --- events -------------------------------------------------------------------------------


class GroupFilter(Strict):
    """Persons an event reaches; an empty filter means everyone."""

    ethnicity: list[str] = []
    language: list[str] = []
    age: list[str] = []
    cohort: list[str] = []
    area: list[Literal["urban", "rural"]] = []
    region: list[str] = []
    elite: bool | None = None


class _Event(Strict):
    date: Month
    label: str = Field("", max_length=MAX_LABEL_CHARS)


class SetEvent(_Event):
    """Set a parameter at a date."""

    action: Literal["set"]
    path: str
    value: float | bool


class ScaleEvent(_Event):
    """Multiply a parameter at a date."""

    action: Literal["scale"]
    path: str
    value: float = Field(ge=0)


class AddEvent(_Event):
    """Add to a parameter at a date."""

    action: Literal["add"]
    path: str
    value: float


class RampEvent(_Event):
    """Move a parameter linearly from its value at ``date`` to ``value`` at ``until``."""

    action: Literal["ramp"]
    path: str
    value: float
    until: Month


class ShockEvent(_Event):
    """A one-off change of chosen persons' attraction to a power."""

    action: Literal["shock"]
    power: str
    delta: float = Field(ge=-1, le=1)
    reach: float = Field(1.0, gt=0, le=1)
    groups: GroupFilter = Field(default_factory=GroupFilter)


Event = Annotated[
    SetEvent | ScaleEvent | AddEvent | RampEvent | ShockEvent, Field(discriminator="action")
]
PATH_ACTIONS = ("set", "scale", "add", "ramp")


class ScenarioSpec(Parameters):
    """A scenario file after ``extends`` is resolved: its description, parameters and events."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", max_length=MAX_NAME_CHARS)
    description: str = Field(max_length=MAX_TEXT_CHARS)
    sources: list[Annotated[str, Field(max_length=MAX_TEXT_CHARS)]] = []
    events: list[Event] = []

    def parameters(self) -> Parameters:
        """A fresh, mutable copy of the parameters alone (the model's live state)."""
        data = self.model_dump(exclude={"name", "description", "sources", "events"})
        return Parameters.model_validate(data)


# --- dotted paths -------------------------------------------------------------------------


def resolve(params: BaseModel, path: str) -> tuple[Any, str, Any]:
    """Find the container, key and field info of a dotted parameter path.

    Returns ``(container, key, field_info)``; ``field_info`` is None for dictionary entries
    (a power's languages). Raises ``KeyError`` with what is allowed at the failing step.
    """
    parts = path.split(".")
    node: Any = params
    info = None
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[:depth]) or "the top level"
        if isinstance(node, BaseModel):
            fields = _fields(type(node))
            if part not in fields:
                raise KeyError(f"no parameter {part!r} in {where}; allowed: {', '.join(fields)}")
            info = fields[part]
            if last:
                return node, part, info
            node = getattr(node, part)
        elif isinstance(node, dict):
            if part not in node:
                raise KeyError(f"no {part!r} in {where}; allowed: {', '.join(node) or 'none'}")
            if last:
                return node, part, None
            node = node[part]
        else:
            break
    raise KeyError(f"{path!r} does not end at a parameter")


@functools.cache
def _fields(model: type[BaseModel]) -> dict[str, Any]:
    """A model class's fields (pydantic builds the mapping anew at each ``model_fields``
    read; events and adaptation resolve paths every month)."""
    return dict(model.model_fields)


def get_value(params: BaseModel, path: str) -> Any:
    return Leaf.at(params, path).get()


def set_value(params: BaseModel, path: str, value: Any) -> None:
    """Set a leaf, clipped to the field's bounds (adaptation can push a value past them).

    A NaN is refused (``min(max(nan, low), high)`` would let it through): no valid input
    produces one, so it is a fault to stop at, not a value to run on."""
    Leaf.at(params, path).set(value)


class Leaf:
    """One parameter of a parameter tree, its path resolved once (:func:`resolve`): events
    read and set the same few leaves every month."""

    __slots__ = ("container", "high", "key", "low", "path")

    def __init__(self, container: Any, key: str, info: Any, path: str):
        self.container, self.key, self.path = container, key, path
        self.low, self.high = bounds(info) if info is not None else (0.0, 1.0)

    @classmethod
    def at(cls, params: BaseModel, path: str) -> Leaf:
        return cls(*resolve(params, path), path)

    def get(self) -> Any:
        c = self.container
        return c[self.key] if isinstance(c, dict) else getattr(c, self.key)

    def set(self, value: Any) -> None:
        """As :func:`set_value`."""
        if not isinstance(value, bool):
            if math.isnan(value):
                raise ValueError(f"{self.path}: NaN is not a value")
            value = min(max(value, self.low), self.high)
        if isinstance(self.container, dict):
            self.container[self.key] = value
        else:
            setattr(self.container, self.key, value)


def bounds(info: Any) -> tuple[float, float]:
    """The (low, high) bounds of a numeric field, infinite where unbounded."""
    low, high = float("-inf"), float("inf")
    for m in info.metadata:
        low = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else low
        low = getattr(m, "gt", None) if getattr(m, "gt", None) is not None else low
        high = getattr(m, "le", None) if getattr(m, "le", None) is not None else high
        high = getattr(m, "lt", None) if getattr(m, "lt", None) is not None else high
    return low, high


def role(params: BaseModel, path: str) -> str:
    """The role (:data:`ROLES`) of the parameter at a dotted path."""
    _, _, info = resolve(params, path)
    extra = info.json_schema_extra if info is not None else None
    return extra["role"] if extra and "role" in extra else "uncertainty"


def is_init_only(info: Any) -> bool:
    extra = info.json_schema_extra if info is not None else None
    return bool(extra and extra.get("init_only"))


def leaf_paths(model: type[BaseModel] = Parameters, prefix: str = "") -> list[str]:
    """Every documented leaf of the schema, powers written as ``powers.<name>``."""
    out = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += leaf_paths(ann, path + ".")
        elif name == "powers":
            out += leaf_paths(PowerSettings, "powers.<name>.")
        else:
            out.append(path)
    return out


def numeric_leaves(spec: BaseModel, roles: tuple[str, ...]) -> list[str]:
    """Every numeric parameter of a scenario (or its parameters) whose role is among
    ``roles``, powers by name (``powers.Russia.efficiency``); tables of shares (a power's
    languages), switches, dates and names are left out."""
    paths = []
    for template in leaf_paths():
        powers = spec.powers if "<name>" in template else ["<name>"]
        for path in [template.replace("<name>", power) for power in powers]:
            _, _, info = resolve(spec, path)
            if info is not None and info.annotation in (int, float) and role(spec, path) in roles:
                paths.append(path)
    return paths


FEWEST_PERSONS = int(bounds(RunSettings.model_fields["population"])[0])
"""The smallest population a run accepts (``run.population``'s lower bound), for the options
that set it."""
