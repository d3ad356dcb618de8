"""The model's behavioural rules.

Each rule is defined once. The rules on one person and one power are numba ``vectorize``
ufuncs: numpy code and the tests call them on whole arrays, and :func:`monthly_attraction`
calls them person by person in one compiled pass, with no temporary arrays. Shapes: N
persons, P powers, C channels, D cultural dimensions, L languages. Reasons and
sources of every equation are in ``docs/ODD.md`` (submodels).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.floating]
_JIT = {"cache": True}


def affinity(culture: Array, messages: Array) -> Array:
    """Cultural affinity f_ip = 1 - mean_d |x_id - m_pd|, in [0, 1].

    Args:
        culture: (N, D) persons' profiles in [0, 1].
        messages: (P, D) powers' messages in [0, 1].
    """
    return 1.0 - np.abs(culture[:, None, :] - messages[None, :, :]).mean(axis=2)


@numba.vectorize(["float64(float64, float64, float64, float64)"], **_JIT)
def stereotype(susceptibility, mean, identity, elite_factor):
    """Stereotype s_ip = clip(s_p sigma_ip (0.5 + iota_i) e_i, 0, 1).

    Stereotypes toward a power rise with national identity (the study's "fear of dominance",
    §5.3) and persist "among those who do not have an impact on national policy" (Burkhanov
    & Chen 2016, cited in §5.3): elites hold them at a factor e_i of the public's level
    (1 for everyone else). ``susceptibility`` sigma_ip is a fixed personal factor, mean 1.
    """
    return min(1.0, max(0.0, mean * susceptibility * (0.5 + identity) * elite_factor))


@numba.vectorize(["float64(float64, float64, float64, float64, float64, float64)"], **_JIT)
def cultural_baseline(affinity, stereotype, prestige, personal, tie, ties_bonus):
    """The attraction a person relaxes to without signals, a0_ip in [0, 1].

    a0 = clip(f (1 - s) prestige_p + e_ip + ties_bonus * tie_ip): affinity scaled by the
    power's emitter strength, a personal deviation e_ip, and a raise for education ties
    (alumni keep the West from collapsing, P6).
    """
    raw = affinity * (1.0 - stereotype) * prestige + personal + ties_bonus * tie
    return min(1.0, max(0.0, raw))


@numba.vectorize(["float64(float64, float64, float64, float64)"], **_JIT)
def receptivity(affinity, stereotype, identity, resistance):
    """Receptivity f_ip (1 - s_ip)(1 - rho iota_i) (docs/ODD.md §7.4)."""
    return affinity * (1.0 - stereotype) * (1.0 - resistance * identity)


@numba.vectorize(["float64(float64, float64, float64)"], **_JIT)
def persuasion(attraction, pressure, rate):
    """Gain alpha (1 - a) x pressure: saturates as attraction approaches 1."""
    return rate * (1.0 - attraction) * pressure


@numba.vectorize(["float64(float64, float64, float64, float64)"], **_JIT)
def backlash(attraction, hits, identity, strength):
    """Loss beta k_ip iota_i a_ip from hostile incidents a person heard of (study §5.2)."""
    return strength * hits * identity * attraction


@numba.vectorize(["float64(float64, float64, float64)"], **_JIT)
def relaxation(attraction, baseline, rate):
    """Pull delta (a - a0) toward the cultural baseline."""
    return rate * (attraction - baseline)


def language_access(speaks: NDArray[np.bool_], availability: Array) -> Array:
    """Access acc_ip = max over languages l spoken by i of the power's availability in l.

    Args:
        speaks: (N, L) whether person i speaks language l.
        availability: (P, L) share of power p's content available in language l.
    """
    access = np.zeros((speaks.shape[0], availability.shape[0]))
    for lang in range(speaks.shape[1]):
        np.maximum(access, speaks[:, lang, None] * availability[None, :, lang], out=access)
    return access


def drive(exposure: Array, signal: Array, access: Array, gated: NDArray[np.bool_]) -> Array:
    """Signal reaching each person: sum_c E_ic S_pc (acc_ip if channel c is language-gated).

    Two matrix products (BLAS) rather than a loop: the heaviest arithmetic of a month.

    Args:
        exposure: (N, C) engagement with each channel this month (0/1, or its chance).
        signal: (P, C) efficiency x effort x presence x (1 - screening).
        access: (N, P) language access to each power.
        gated: (C,) which channels need a shared language.
    """
    dtype = exposure.dtype  # float32 keeps a month's temporaries small
    through_language = exposure @ (signal * gated).T.astype(dtype)
    direct = exposure @ (signal * ~gated).T.astype(dtype)
    through_language *= access
    through_language += direct
    return through_language


@numba.njit(**_JIT)
def neighbour_pulls(attraction, indptr, indices, i, confidence, pull, count):
    """Fill ``pull[p]`` with the mean of (a_jp - a_ip) over person i's neighbours j with
    |a_jp - a_ip| < epsilon, for every power p (0 where no neighbour is close).

    Neighbours are row i of a CSR adjacency (``indices[indptr[i]:indptr[i+1]]``): the
    bounded-confidence rule of Deffuant et al. (2000) and Hegselmann & Krause (2002).
    ``pull`` and ``count`` are scratch arrays of length P, overwritten.
    """
    pull[:] = 0.0
    count[:] = 0.0
    for k in range(indptr[i], indptr[i + 1]):
        j = indices[k]
        for p in range(attraction.shape[1]):
            diff = attraction[j, p] - attraction[i, p]
            close = 1.0 if abs(diff) < confidence else 0.0  # branch-free: closeness varies
            pull[p] += close * diff
            count[p] += close
    for p in range(attraction.shape[1]):
        if count[p] > 0:
            pull[p] /= count[p]


class Rates(NamedTuple):
    """The scalar parameters of one month's attraction update (see :func:`monthly_attraction`)."""

    persuasion: float  # alpha
    relaxation: float  # delta
    resistance: float  # rho (0 when identity is switched off)
    elite_stereotype: float  # e for elites
    ties_bonus: float
    backlash: float  # beta (0 when backlash is switched off)
    social: float  # mu (0 when social influence is switched off)
    confidence: float  # epsilon


@numba.njit(**_JIT)
def monthly_attraction(
    attraction,
    identity,
    affinity,
    susceptibility,
    elite,
    stereotype_means,
    prestige,
    personal,
    ties,
    drive,
    hits,
    indptr,
    indices,
    rates,
):
    """Next month's attraction of every person to every power (step 3 of the schedule, docs/ODD.md).

    a' = clip(a + persuasion - relaxation - backlash + social influence, 0, 1), each term
    the rule of the same name, computed in one pass over persons. Synchronous: reads only
    ``attraction`` (this month) and writes a new array.

    Args:
        attraction: (N, P) this month's attraction.
        identity: (N,) national identity.
        affinity, susceptibility, personal: (N, P) fixed personal terms.
        elite: (N,) elite flags. ties: (N, P) education ties.
        stereotype_means, prestige: (P,) powers' stereotype means (0 when stereotypes are
            switched off) and emitter strengths.
        drive: (N, P) signal reaching each person this month (:func:`drive`).
        hits: (N, P) incidents heard this month.
        indptr, indices: the network in CSR form.
        rates: :class:`Rates`.
    """
    n, powers = attraction.shape
    out = np.empty((n, powers))
    pull, count = np.zeros(powers), np.empty(powers)
    for i in range(n):
        elite_factor = rates.elite_stereotype if elite[i] else 1.0
        ident = identity[i]
        if rates.social > 0.0:
            neighbour_pulls(attraction, indptr, indices, i, rates.confidence, pull, count)
        for p in range(powers):
            a = attraction[i, p]
            f = affinity[i, p]
            s = stereotype(susceptibility[i, p], stereotype_means[p], ident, elite_factor)
            base = cultural_baseline(
                f, s, prestige[p], personal[i, p], ties[i, p], rates.ties_bonus
            )
            pressure = drive[i, p] * receptivity(f, s, ident, rates.resistance)
            change = persuasion(a, pressure, rates.persuasion)
            change -= relaxation(a, base, rates.relaxation)
            change -= backlash(a, hits[i, p], ident, rates.backlash)
            change += rates.social * pull[p]
            out[i, p] = min(1.0, max(0.0, a + change))
    return out


def project_to_simplex(values: Array) -> Array:
    """Euclidean projection of each row onto the probability simplex (exact, sort-based).

    Held, Wolfe & Crowder (1974); Duchi et al. (2008), algorithm 1.
    """
    v = np.atleast_2d(values)
    u = -np.sort(-v, axis=1)
    cumulative = np.cumsum(u, axis=1) - 1.0
    k = np.arange(1, v.shape[1] + 1)
    rho = np.count_nonzero(u - cumulative / k > 0, axis=1)
    theta = cumulative[np.arange(v.shape[0]), rho - 1] / rho
    out = np.maximum(v - theta[:, None], 0.0)
    return out.reshape(np.shape(values))


def balanced_report(scores: Array, balance_strength: float) -> Array:
    """The alignment w maximising scores . w - lambda sum w^2 on the simplex.

    Completing the square, it is the projection of scores / (2 lambda) onto the simplex:
    lambda -> 0 backs the best-scored power alone, a large lambda splits evenly.
    """
    return project_to_simplex(scores / (2.0 * balance_strength))


def bandwagon_report(scores: Array) -> Array:
    """The limit lambda -> 0 of :func:`balanced_report`: everything on the best score."""
    out = np.zeros_like(scores)
    np.put_along_axis(out, np.argmax(scores, axis=-1)[..., None], 1.0, axis=-1)
    return out


def effective_number(alignment: Array) -> float:
    """Effective number of vectors 1 / sum w^2 (Laakso & Taagepera 1979)."""
    return float(1.0 / np.sum(np.square(alignment)))


def reallocate(effort: Array, gain: Array, shift: float) -> Array:
    """Move a share of a power's effort toward channels in proportion to marginal gain.

    The total is kept; with no gain anywhere nothing moves.
    """
    total, spread = effort.sum(), gain.sum()
    if spread <= 0 or total <= 0:
        return effort.copy()
    share = gain / spread  # divide first: total * gain can round when gains are tiny
    return (1.0 - shift) * effort + shift * total * share


# --- the state's side: screening, assessment, policy, counter-measures, identity ----------


def screening(screenability: Array, lever: float, counter: Array) -> Array:
    """Screening of each power's channels (P, C): screenability_c x (lever + counter_p),
    clipped to [0, 1]. Legal channels can be screened only weakly (low screenability), grants
    fully (study §5.5)."""
    return np.clip(screenability[None, :] * (lever + counter[:, None]), 0.0, 1.0)


def promotion(lever: float, counter: float) -> float:
    """Identity promotion in force: the lever plus what counter-measures added, at most 1."""
    return min(1.0, lever + counter)


def unit_signal(efficiency: float, presence: Array, screening: Array) -> Array:
    """Signal per unit of effort in each channel: efficiency x presence x (1 - screening)."""
    return efficiency * presence * (1.0 - screening)


def shared_score(
    offers: Array,
    leverage: Array,
    public: Array,
    elite: Array,
    advocacy: Array,
    grants_screened: Array,
    weights: Array,
) -> Array:
    """The part of every official's score u_kp that all officials share, per power:
    w_offer O + w_lev L + w_pub (A - mean A) + w_elite (E - mean E)
    + w_adv (Adv - mean Adv)(1 - screening of grants).

    Args:
        offers, leverage: (P,) the powers' economic offers and structural leverage.
        public, elite, advocacy: (P,) mean attraction of everyone, of elites, of persons
            linked to foreign-funded NGOs.
        grants_screened: (P,) screening of each power's grants.
        weights: the five weights, in the order of the terms above.
    """
    offer_w, leverage_w, public_w, elite_w, advocacy_w = weights
    return (
        offer_w * offers
        + leverage_w * leverage
        + public_w * (public - public.mean())
        + elite_w * (elite - elite.mean())
        + advocacy_w * (advocacy - advocacy.mean()) * (1.0 - grants_screened)
    )


def move_policy(alignment: Array, target: Array, speed: float) -> Array:
    """Policy inertia: w(t+1) = (1 - tau) w(t) + tau x mean report."""
    return (1.0 - speed) * alignment + speed * target


def counter_measures(
    alignment: Array,
    counter: Array,
    counter_promotion: float,
    threshold: float,
    rise: float,
    fall: float,
) -> tuple[Array, float]:
    """Counter-measures against each power, and the identity promotion they add.

    Against a power whose share passes theta, screening rises by ``rise`` a month; otherwise
    it falls by ``fall``. Promotion rises while any power is dominant and falls otherwise.
    Both stay in [0, 1].
    """
    dominant = alignment > threshold
    counter = np.clip(np.where(dominant, counter + rise, counter - fall), 0, 1)
    step = rise if dominant.any() else -fall
    return counter, min(1.0, max(0.0, counter_promotion + step))


def identity_update(
    identity: Array, baseline: Array, promotion: float, response: float, decay: float
) -> Array:
    """Next month's identity: iota + kappa_iota x promotion x (1 - iota) - delta_iota
    (iota - iota0), clipped to [0, 1]."""
    gain = response * promotion * (1.0 - identity)
    loss = decay * (identity - baseline)
    return np.clip(identity + gain - loss, 0.0, 1.0)


# --- persons at rest, and what one more unit of signal would bring -------------------------


def expected_backlash(identity: Array, hostility: Array, strength: float, reach: float) -> Array:
    """Expected monthly backlash rate per person and power (N, P): beta x reach x incidents a
    month x identity (the mean of :func:`backlash`'s factor when counts are Poisson).

    Args:
        identity: (N,) national identity. hostility: (P,) incidents a month.
    """
    return strength * reach * hostility[None, :] * identity[:, None]


def equilibrium_attraction(
    pressure: Array, baseline: Array, rate: float, relaxation: float, backlash_rate: Array
) -> Array:
    """The attraction at which persuasion, relaxation and expected backlash balance:
    a* = (alpha D + delta a0) / (alpha D + delta + b), clipped to [0, 1]."""
    gain = rate * pressure
    loss = relaxation + backlash_rate
    return np.clip((gain + relaxation * baseline) / np.maximum(gain + loss, 1e-12), 0, 1)


def marginal_gain(
    receptivity: Array, attraction: Array, access: Array, engagement: Array, gated: NDArray
) -> Array:
    """Sum over persons of engagement x access (where the channel needs a shared language) x
    receptivity x (1 - a), per power and channel (P, C): what one more unit of signal would
    bring this month. Divide by the number of persons for the mean."""
    room = receptivity * (1.0 - attraction)
    total = np.zeros((access.shape[1], gated.size))
    for p in range(access.shape[1]):
        reach = np.where(gated, access[:, p, None], 1.0) * engagement
        total[p] += room[:, p] @ reach
    return total


def heard_shares(access: Array, engagement: Array, signals: Array, gated: NDArray) -> Array:
    """Share of each channel's foreign signal reaching persons that comes from each power
    (P, C): engagement x language access (where the channel needs one) x signal, summed over
    persons, as a share of all powers' total in that channel."""
    engagement = engagement.astype(np.float64)
    through_language = (access.T.astype(np.float64) @ engagement) / engagement.shape[0]
    direct = engagement.mean(axis=0)[None, :]
    heard = np.where(gated[None, :], through_language, direct) * signals
    total = heard.sum(axis=0, keepdims=True)
    return np.divide(heard, total, out=np.zeros_like(heard), where=total > 0)


def shock(attraction: Array, delta: float) -> Array:
    """A one-off change of attraction, kept in [0, 1]."""
    return np.clip(attraction + delta, 0.0, 1.0)


# --- the powers' side -----------------------------------------------------------------------


def fit_capacity(effort: Array, capacity: float, free: NDArray[np.bool_]) -> Array:
    """Scale effort down to capacity, taking it from the free channels first (those no
    scenario ramp holds); if the held channels alone exceed capacity, scale everything."""
    if effort.sum() <= capacity:
        return effort
    room = capacity - effort[~free].sum()
    if room <= 0 or not free.any():
        return effort * capacity / effort.sum()
    fitted = effort.copy()
    fitted[free] *= room / effort[free].sum()
    return fitted
