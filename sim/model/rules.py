"""The model's behavioural rules.

Each rule is defined once. The rules on one person and one power are compiled numba
functions on numbers: the compiled passes over persons (:func:`monthly_update`,
:func:`marginal_gain_rows`, :func:`settle_rows`) call them person by person, with no temporary
arrays; Python code calls them on numbers, and :func:`elementwise` applies one to arrays.
Shapes: N persons, P powers, C channels, D cultural dimensions, L languages. Reasons and
sources of every equation are in ``docs/ODD.md`` (submodels).
"""

from __future__ import annotations

import operator
from typing import NamedTuple

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.core.errors import TypingError
from numba.extending import intrinsic, models, overload, register_model
from numpy.typing import NDArray

Array = NDArray[np.floating]
_JIT = {"cache": True}


@numba.njit(**_JIT)
def affinity(culture: Array, messages: Array) -> Array:
    """Cultural affinity f_ip = 1 - mean_d |x_id - m_pd|, in [0, 1].

    Args:
        culture: (N, D) persons' profiles in [0, 1].
        messages: (P, D) powers' messages in [0, 1].
    """
    f = np.empty((culture.shape[0], messages.shape[0]))
    for i in range(culture.shape[0]):
        for p in range(messages.shape[0]):
            f[i, p] = person_affinity(culture, i, messages, p)
    return f


@numba.njit(inline="always", **_JIT)
def person_affinity(culture, i, messages, p):
    """:func:`affinity` of person i (a row of ``culture``) to power p."""
    dims = culture.shape[1]
    distance = 0.0
    for d in range(dims):
        distance += abs(np.float64(culture[i, d]) - messages[p, d])
    return 1.0 - distance / dims


@numba.njit(inline="always", **_JIT)
def stereotype(susceptibility, mean, identity, elite_factor):
    """Stereotype s_ip = clip(s_p sigma_ip (0.5 + iota_i) e_i, 0, 1).

    Stereotypes toward a power rise with national identity (the study's "fear of dominance",
    §5.3) and persist "among those who do not have an impact on national policy" (Burkhanov
    & Chen 2016, cited in §5.3): elites hold them at a factor e_i of the public's level
    (1 for everyone else). ``susceptibility`` sigma_ip is a fixed personal factor, mean 1.
    """
    return min(1.0, max(0.0, mean * susceptibility * (0.5 + identity) * elite_factor))


@numba.njit(inline="always", **_JIT)
def cultural_baseline(receptivity, prestige, personal, tie, ties_bonus, kin, kin_bonus):
    """The attraction a person relaxes to without signals, a0_ip in [0, 1].

    a0 = clip(r prestige_p + e_ip + ties_bonus * tie_ip + kin_bonus * kin_ip): the person's
    receptivity to the power scaled by its emitter strength (its reputation in the world), a
    personal deviation e_ip, a raise for education ties (alumni keep the West from
    collapsing, P6) and one for family across the border with the power. Signals move
    attraction from there toward r (:func:`persuasion`).
    """
    raw = receptivity * prestige + personal + ties_bonus * tie + kin_bonus * kin
    return min(1.0, max(0.0, raw))


@numba.njit(inline="always", **_JIT)
def receptivity(affinity, stereotype, identity, resistance):
    """Receptivity r_ip = f_ip (1 - s_ip)(1 - rho iota_i): the attraction a power's messages
    argue a person toward, at most the affinity (docs/ODD.md §7.4)."""
    return affinity * (1.0 - stereotype) * (1.0 - resistance * identity)


@numba.njit(inline="always", **_JIT)
def persuasion(attraction, drive, receptivity, rate):
    """Gain alpha D r (1 - a): every message a person accepts moves attraction part of the
    way toward the position it argues, full attraction (the linear discrepancy model of
    attitude change with the message at 1, Hunter, Danes & Cohen 1984); the weight of a
    message is the drive D times the receptivity r, so persuasion saturates as attraction
    approaches 1."""
    return rate * drive * receptivity * (1.0 - attraction)


@numba.njit(inline="always", **_JIT)
def relaxation(attraction, baseline, rate):
    """Pull delta (a - a0) toward the cultural baseline."""
    return rate * (attraction - baseline)


def elementwise(rule) -> np.vectorize:
    """A rule on one person and one power applied element by element to arrays, with
    numpy's broadcasting (``np.vectorize`` of the rule's Python code: for tests and small
    arrays; the model's passes over persons are compiled)."""
    return np.vectorize(rule.py_func, otypes=[np.float64])


@numba.njit(**_JIT)
def language_access(speaks: NDArray[np.bool_], availability: Array) -> Array:
    """Access acc_ip = max over languages l spoken by i of the power's availability in l.

    Args:
        speaks: (N, L) whether person i speaks language l.
        availability: (P, L) share of power p's content available in language l.
    """
    access = np.zeros((speaks.shape[0], availability.shape[0]))
    for i in range(speaks.shape[0]):
        for p in range(availability.shape[0]):
            for lang in range(speaks.shape[1]):
                if speaks[i, lang]:
                    access[i, p] = max(access[i, p], availability[p, lang])
    return access


def drive(
    exposure: Array,
    signal: Array,
    access: Array,
    gated: NDArray[np.bool_],
    outlet_access: Array | None = None,
    outlet_channel: int = -1,
) -> Array:
    """Signal reaching each person: sum_c E_ic S_pc A_ipc, where A is 1 for a channel open to
    all, language access acc_ip for a language-gated channel, and the media diet's access
    (``outlet_access``) for the channel the followed outlets carry (``outlet_channel``).

    The definition, in matrix products, that tests hold the compiled update to
    (:func:`monthly_update` sums the same terms person by person from :func:`reach_table`).

    Args:
        exposure: (N, C) engagement with each channel this month (0/1, or its chance).
        signal: (P, C) efficiency x effort x presence x (1 - screening).
        access: (N, P) language access to each power.
        gated: (C,) which channels need a shared language.
        outlet_access: (N, P) share of each power's content in the outlets each person
            follows, or None (then the outlet channel is language-gated like the others).
    """
    dtype = exposure.dtype  # float32 keeps a month's temporaries small
    by_language = gated.copy()
    if outlet_access is not None:
        by_language[outlet_channel] = False
    open_to_all = ~gated
    if outlet_access is not None:  # the outlets' channel reaches through the outlets only
        open_to_all[outlet_channel] = False
    through_language = exposure @ (signal * by_language).T.astype(dtype)
    direct = exposure @ (signal * open_to_all).T.astype(dtype)
    through_language *= access
    through_language += direct
    if outlet_access is not None:
        column = np.multiply.outer(
            exposure[:, outlet_channel], signal[:, outlet_channel].astype(dtype)
        )
        column *= outlet_access
        through_language += column
    return through_language


@numba.njit(**_JIT)
def neighbour_pulls(attraction, indptr, indices, i, confidence, pull):
    """Fill ``pull[p]`` with the mean of (a_jp - a_ip) over person i's neighbours j with
    |a_jp - a_ip| < epsilon, for every power p (0 where no neighbour is close).

    Neighbours are row i of a CSR adjacency (``indices[indptr[i]:indptr[i+1]]``): the
    bounded-confidence rule of Deffuant et al. (2000) and Hegselmann & Krause (2002).
    ``pull`` is a scratch array of length P, overwritten.

    Powers go four at a time, in one vector register (:func:`pulls_of_four`:
    about twice as fast as the scalar loop, and the same to the bit for finite attraction);
    the last one to three powers in scalar code.
    """
    powers = attraction.shape[1]
    lo, hi = indptr[i], indptr[i + 1]
    for b in range(0, powers, 4):
        w = min(4, powers - b)
        if w == 4:  # a full block: no test per neighbour of how many powers are left
            pulls_of_four(attraction, lo, hi, indices, i, b, pull, confidence)
            continue
        a0 = np.float64(attraction[i, b])  # the last one to three powers, in double
        a1 = attraction[i, b + 1] if w > 1 else 0.0
        a2 = attraction[i, b + 2] if w > 2 else 0.0
        s0 = s1 = s2 = 0.0
        c0 = c1 = c2 = 0.0
        for k in range(lo, hi):
            j = indices[k]
            d = attraction[j, b] - a0
            m = _close(d, confidence)
            s0 += m * d
            c0 += m
            if w > 1:
                d = attraction[j, b + 1] - a1
                m = _close(d, confidence)
                s1 += m * d
                c1 += m
            if w > 2:
                d = attraction[j, b + 2] - a2
                m = _close(d, confidence)
                s2 += m * d
                c2 += m
        pull[b] = s0 / c0 if c0 > 0 else 0.0
        if w > 1:
            pull[b + 1] = s1 / c1 if c1 > 0 else 0.0
        if w > 2:
            pull[b + 2] = s2 / c2 if c2 > 0 else 0.0


# --- vector instructions for the bounded-confidence loop -------------------------------
#
# numba compiles the loop of neighbour_pulls to scalar code: per neighbour and power, a
# load, a subtraction, an absolute value, a comparison, a product and two sums, with the
# four powers of a block side by side but never in one register. pulls_of_four writes the
# loop for a block of four powers directly in LLVM's vector type <4 x double>, so each of
# those steps is one instruction for the four powers (two on a machine with 128-bit
# vectors). Each lane does exactly the scalar operations, in the same order (no fused
# multiply-add, no reordering of the sums), so the results are the same to the bit as the
# scalar loop's, on any machine. It lives in this module because numba renews its cache of
# a compiled function only when that function's own file changes.

LANES = 4


def _pull_means(context, builder, signature, args, first):
    """The code of :func:`pulls_of_four`'s four means (a ``<4 x double>``), for the powers
    ``first`` (an i64 value) to ``first`` + 3; ``signature`` and ``args`` begin with
    attraction, lo, hi, indices, i, and have the confidence bound last."""
    att_t, lo_t, hi_t, ind_t, i_t = signature.args[:5]
    att_v, lo_v, hi_v, ind_v, i_v = args[:5]
    conf_t, conf_v = signature.args[-1], args[-1]
    att = context.make_array(att_t)(context, builder, att_v)
    ind = context.make_array(ind_t)(context, builder, ind_v)
    i64, i32, dbl = ir.IntType(64), ir.IntType(32), ir.DoubleType()
    vec = ir.VectorType(dbl, LANES)
    narrow = att_t.dtype == types.float32
    held = ir.FloatType() if narrow else dbl  # an element as the array holds it

    def as_int(value, typ):
        return context.cast(builder, value, typ, types.int64)

    row_bytes, col_bytes = cgutils.unpack_tuple(builder, att.strides, 2)
    base = builder.ptrtoint(att.data, i64)

    def lanes_of(row):
        """Elements first to first + 3 of a row, as a vector (any strides)."""
        start = builder.add(base, builder.mul(row, row_bytes))
        start = builder.add(start, builder.mul(first, col_bytes))
        if att_t.layout == "C":  # contiguous: one vector load
            loaded = ir.VectorType(held, LANES)
            address = builder.inttoptr(start, loaded.as_pointer())
            lanes = builder.load(address, align=4 if narrow else 8)
            return builder.fpext(lanes, vec) if narrow else lanes
        lanes = ir.Constant(vec, ir.Undefined)
        for lane in range(LANES):
            at = builder.add(start, builder.mul(ir.Constant(i64, lane), col_bytes))
            value = builder.load(builder.inttoptr(at, held.as_pointer()))
            if narrow:
                value = builder.fpext(value, dbl)
            lanes = builder.insert_element(lanes, value, ir.Constant(i32, lane))
        return lanes

    own = lanes_of(as_int(i_v, i_t))
    bound = ir.Constant(vec, ir.Undefined)
    conf = context.cast(builder, conf_v, conf_t, types.float64)
    for lane in range(LANES):
        bound = builder.insert_element(bound, conf, ir.Constant(i32, lane))
    zero = ir.Constant(vec, [0.0] * LANES)
    sums = cgutils.alloca_once_value(builder, zero)
    whole = ir.VectorType(i64, LANES)  # the counts in integers: one subtraction a step
    counts = cgutils.alloca_once_value(builder, ir.Constant(whole, [0] * LANES))
    fabs = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(vec, [vec]), "llvm.fabs.v4f64"
    )
    step = ir.Constant(i64, 1)
    with cgutils.for_range_slice(
        builder, as_int(lo_v, lo_t), as_int(hi_v, hi_t), step, inc=True
    ) as (k, _):
        j = builder.load(cgutils.get_item_pointer(context, builder, ind_t, ind, [k]))
        d = builder.fsub(lanes_of(context.cast(builder, j, ind_t.dtype, types.int64)), own)
        near = builder.fcmp_ordered("<", builder.call(fabs, [d]), bound)
        # d where close, else +0: the scalar loop's 1 x d or 0 x d (-0 for a negative
        # d), the same once added, as the sum is never -0 (it starts at +0), for a finite
        # d (a NaN or infinite one gives NaN there, here a finite mean; attraction is
        # always in [0, 1] in the model)
        term = builder.select(near, d, zero)
        builder.store(builder.fadd(builder.load(sums), term), sums)
        # a close neighbour's lane of the test, widened, is -1: subtracted, it counts
        builder.store(builder.sub(builder.load(counts), builder.sext(near, whole)), counts)
    total, count = builder.load(sums), builder.sitofp(builder.load(counts), vec)
    # the four means in one division (each lane's quotient is the scalar one's)
    return builder.select(builder.fcmp_ordered(">", count, zero), builder.fdiv(total, count), zero)


def _pulls_typed(attraction, indices) -> bool:
    """Whether :func:`pulls_of_four` and :func:`pulls_in_lanes` take these arrays."""
    return (
        isinstance(attraction, types.Array)
        and attraction.ndim == 2
        and attraction.dtype in (types.float32, types.float64)
        and isinstance(indices, types.Array)
        and isinstance(indices.dtype, types.Integer)
    )


@intrinsic
def pulls_of_four(typingctx, attraction, lo, hi, indices, i, b, pull, confidence):
    """``pull[b + l]`` for l = 0..3: the mean of (a_jl - a_il) over person i's neighbours j
    (``indices[lo:hi]``) with |a_jl - a_il| < ``confidence``, 0 where none is close
    (:func:`neighbour_pulls` for the powers b to b + 3).

    ``attraction``: a 2-D float32 or float64 array (float32 is widened to float64 as it is
    loaded, as the scalar loop's arithmetic does); ``pull``: a 1-D float64 array."""
    if not (
        _pulls_typed(attraction, indices)
        and isinstance(pull, types.Array)
        and pull.ndim == 1
        and pull.dtype == types.float64
    ):
        return None
    sig = types.void(attraction, lo, hi, indices, i, b, pull, confidence)

    def codegen(context, builder, signature, args):
        b_t, pull_t = signature.args[5], signature.args[6]
        first = context.cast(builder, args[5], b_t, types.int64)
        means = _pull_means(context, builder, signature, args, first)
        out = context.make_array(pull_t)(context, builder, args[6])
        for lane in range(LANES):
            mean = builder.extract_element(means, ir.Constant(ir.IntType(32), lane))
            where = builder.add(first, ir.Constant(ir.IntType(64), lane))
            builder.store(mean, cgutils.get_item_pointer(context, builder, pull_t, out, [where]))
        return context.get_dummy_value()

    return sig, codegen


# --- four powers in one register ---------------------------------------------------------
#
# numba compiles the per-power terms of monthly_update to scalar code: each power's
# stereotype, receptivity, baseline, drive and changes one after the other. With four
# powers (the Kazakhstan case), the terms of all four fit one vector register of four
# doubles. FourLanes is that register as a numba type: its arithmetic (+, -, *, / with
# another FourLanes or a number), min and max are LLVM's on <4 x double>, lane by lane, and
# the functions below load, choose and store lanes. So the rules on one person and power
# (stereotype, receptivity, cultural_baseline, persuasion, relaxation) take FourLanes as
# they take numbers, and stay defined once; framed_response, which branches on the sign,
# is written out with both cases and a choice per lane. Each lane does exactly the scalar
# operations, in the same order (no fused multiply-add, no reordering, comparisons and
# choices as numba compiles min, max and the rules' branches), so the results are the same
# to the bit as the scalar code's (tests/test_rules.py holds the two passes to it), with
# the rates and the powers' arrays in double precision, as monthly_update takes them. It
# lives in this module for the reason pulls_of_four does.


class FourLanes(types.Type):
    """Four doubles in one vector register (LLVM's ``<4 x double>``)."""

    def __init__(self):
        super().__init__(name="FourLanes")


four_lanes = FourLanes()
_DOUBLE = ir.DoubleType()
_FOUR = ir.VectorType(_DOUBLE, LANES)
_NO_LANES = ir.Constant(_FOUR, [0.0] * LANES)


@register_model(FourLanes)
class _FourLanesModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _FOUR)


def _number(typ) -> bool:
    return isinstance(typ, (types.Float, types.Integer, types.Boolean))


def _as_lanes(context, builder, typ, value):
    """A FourLanes value as it is, a number as four copies of it in double."""
    if typ == four_lanes:
        return value
    number = context.cast(builder, value, typ, types.float64)
    lanes = ir.Constant(_FOUR, ir.Undefined)
    for lane in range(LANES):
        lanes = builder.insert_element(lanes, number, ir.Constant(ir.IntType(32), lane))
    return lanes


def _operands(context, builder, signature, args) -> list:
    """An intrinsic's arguments as FourLanes (:func:`_as_lanes`)."""
    return [_as_lanes(context, builder, t, a) for t, a in zip(signature.args, args, strict=True)]


def _lane_by_lane(operation, instruction: str):
    """``operation`` (+, -, * or /) on two FourLanes, or one and a number, lane by lane."""

    @intrinsic
    def apply(typingctx, x, y):
        if not (x == four_lanes or y == four_lanes) or not all(
            t == four_lanes or _number(t) for t in (x, y)
        ):
            return None

        def codegen(context, builder, signature, args):
            u, v = _operands(context, builder, signature, args)
            return getattr(builder, instruction)(u, v)

        return four_lanes(x, y), codegen

    @overload(operation)
    def _lane_operation(x, y):
        if (x == four_lanes or y == four_lanes) and all(
            t == four_lanes or _number(t) for t in (x, y)
        ):
            return lambda x, y: apply(x, y)
        return None

    return apply


_lane_by_lane(operator.add, "fadd")
_lane_by_lane(operator.sub, "fsub")
_lane_by_lane(operator.mul, "fmul")
_lane_by_lane(operator.truediv, "fdiv")


@intrinsic
def four_of(typingctx, number):
    """Four copies of a number, as FourLanes."""
    if not _number(number):
        return None

    def codegen(context, builder, signature, args):
        return _as_lanes(context, builder, signature.args[0], args[0])

    return four_lanes(number), codegen


def _element_address(builder, array, k: int):
    """The address of element k of a 1-D array (any stride), as an integer."""
    (stride,) = cgutils.unpack_tuple(builder, array.strides, 1)
    start = builder.ptrtoint(array.data, ir.IntType(64))
    return builder.add(start, builder.mul(ir.Constant(ir.IntType(64), k), stride))


@intrinsic
def four(typingctx, row):
    """Elements 0 to 3 of a 1-D array (floats, integers or booleans; a row of an (N, 4)
    array) as FourLanes: floats widened to double, booleans as 0 or 1, integers converted
    to double. (Numba's scalar code multiplies two float32 numbers in single precision;
    lanes are always double, so :func:`monthly_update` takes the powers' arrays it
    multiplies by persons' float32 terms in double.)"""
    if not (isinstance(row, types.Array) and row.ndim == 1 and _number(row.dtype)):
        return None
    dtype = row.dtype

    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        held = context.get_data_type(dtype)  # an element as the array holds it
        stored = ir.VectorType(held, LANES)
        if signature.args[0].layout == "C":  # contiguous: one load
            address = builder.inttoptr(_element_address(builder, array, 0), stored.as_pointer())
            lanes = builder.load(address, align=context.get_abi_alignment(held))
        else:
            lanes = ir.Constant(stored, ir.Undefined)
            for lane in range(LANES):
                address = builder.inttoptr(
                    _element_address(builder, array, lane), held.as_pointer()
                )
                lanes = builder.insert_element(
                    lanes, builder.load(address), ir.Constant(ir.IntType(32), lane)
                )
        if isinstance(dtype, types.Float):
            return lanes if dtype.bitwidth == 64 else builder.fpext(lanes, _FOUR)
        if isinstance(dtype, types.Boolean):  # a byte each: true is not zero, as 1.0
            return builder.uitofp(
                builder.icmp_unsigned("!=", lanes, ir.Constant(stored, None)), _FOUR
            )
        return (builder.sitofp if dtype.signed else builder.uitofp)(lanes, _FOUR)

    return four_lanes(row), codegen


@intrinsic
def put_four(typingctx, row, value):
    """Store FourLanes into elements 0 to 3 of a 1-D float array (rounded to its
    precision, as numba's scalar code stores a double)."""
    if not (
        isinstance(row, types.Array)
        and row.ndim == 1
        and isinstance(row.dtype, types.Float)
        and value == four_lanes
    ):
        return None

    def codegen(context, builder, signature, args):
        row_t = signature.args[0]
        array = context.make_array(row_t)(context, builder, args[0])
        held = context.get_data_type(row_t.dtype)
        lanes = args[1]
        if row_t.dtype.bitwidth == 32:
            lanes = builder.fptrunc(lanes, ir.VectorType(held, LANES))
        if row_t.layout == "C":
            address = builder.inttoptr(_element_address(builder, array, 0), lanes.type.as_pointer())
            builder.store(lanes, address, align=context.get_abi_alignment(held))
        else:
            for lane in range(LANES):
                address = builder.inttoptr(
                    _element_address(builder, array, lane), held.as_pointer()
                )
                builder.store(
                    builder.extract_element(lanes, ir.Constant(ir.IntType(32), lane)), address
                )
        return context.get_dummy_value()

    return types.void(row, value), codegen


@intrinsic
def lane(typingctx, value, k):
    """Lane k of FourLanes, a double."""
    if not (value == four_lanes and isinstance(k, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        return builder.extract_element(args[0], args[1])

    return types.float64(value, k), codegen


@intrinsic
def without_lane(typingctx, value, k):
    """FourLanes with lane k set to 0."""
    if not (value == four_lanes and isinstance(k, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        at = context.cast(builder, args[1], signature.args[1], types.int32)
        return builder.insert_element(args[0], ir.Constant(_DOUBLE, 0.0), at)

    return four_lanes(value, k), codegen


def _lane_choice(name: str, test: str):
    """``max`` (test ``>``) or ``min`` (``<``) of two values, one of them FourLanes, lane by
    lane as numba computes it for two numbers: the second where it passes the test against
    the first, else the first (so ``max(0.0, x)`` is 0 for a NaN x, as in the scalar
    rules)."""

    @intrinsic
    def choose(typingctx, first, second):
        if not (first == four_lanes or second == four_lanes) or not all(
            t == four_lanes or _number(t) for t in (first, second)
        ):
            return None

        def codegen(context, builder, signature, args):
            kept, other = _operands(context, builder, signature, args)
            return builder.select(builder.fcmp_ordered(test, other, kept), other, kept)

        return four_lanes(first, second), codegen

    @overload(max if name == "max" else min)
    def _lane_min_max(first, second):
        if (first == four_lanes or second == four_lanes) and all(
            t == four_lanes or _number(t) for t in (first, second)
        ):
            return lambda first, second: choose(first, second)
        return None

    return choose


_lane_choice("max", ">")
_lane_choice("min", "<")


@intrinsic
def in_single(typingctx, value):
    """Each lane rounded to single precision and widened back (``np.float32`` of it)."""
    if value != four_lanes:
        return None

    def codegen(context, builder, signature, args):
        single = builder.fptrunc(args[0], ir.VectorType(ir.FloatType(), LANES))
        return builder.fpext(single, _FOUR)

    return four_lanes(value), codegen


def _where(test):
    """Lane by lane, ``a`` where ``test(x)``, else ``b`` (numbers stand for four copies)."""

    @intrinsic
    def choose(typingctx, x, a, b):
        if x != four_lanes or not all(t == four_lanes or _number(t) for t in (a, b)):
            return None

        def codegen(context, builder, signature, args):
            x, a, b = _operands(context, builder, signature, args)
            return builder.select(test(builder, x), a, b)

        return four_lanes(x, a, b), codegen

    return choose


where_negative = _where(lambda builder, x: builder.fcmp_ordered("<", x, _NO_LANES))
"""``a`` in the lanes where x < 0, else ``b``."""
where_nonzero = _where(lambda builder, x: builder.fcmp_unordered("!=", x, _NO_LANES))
"""``a`` in the lanes where x != 0 (NaN included, as numba's ``!=``), else ``b``."""
where_nan = _where(lambda builder, x: builder.fcmp_unordered("uno", x, x))
"""``a`` in the lanes where x is NaN, else ``b``."""


@intrinsic
def any_nonzero(typingctx, value):
    """Whether any lane is not 0 (as numba's ``!=``)."""
    if value != four_lanes:
        return None

    def codegen(context, builder, signature, args):
        nonzero = builder.fcmp_unordered("!=", args[0], _NO_LANES)
        found = builder.extract_element(nonzero, ir.Constant(ir.IntType(32), 0))
        for lane in range(1, LANES):
            at = ir.Constant(ir.IntType(32), lane)
            found = builder.or_(found, builder.extract_element(nonzero, at))
        return found

    return types.boolean(value), codegen


@intrinsic
def pulls_in_lanes(typingctx, attraction, lo, hi, indices, i, confidence):
    """:func:`pulls_of_four` of the powers 0 to 3 as FourLanes, kept in a register: at
    1,000,000 persons, the update that stored them in an array and loaded them again ran
    up to 10 % slower (by the array's address, differing from the code compiled afresh
    to the code loaded from numba's cache)."""
    if not _pulls_typed(attraction, indices):
        return None

    def codegen(context, builder, signature, args):
        return _pull_means(context, builder, signature, args, ir.Constant(ir.IntType(64), 0))

    return four_lanes(attraction, lo, hi, indices, i, confidence), codegen


PREFETCH_FROM = 2 * 2**20
"""The bytes of attraction above which :func:`monthly_update` asks for neighbours' rows
ahead: below, the rows sit in the processor's cache anyway, and asking costs time (a
second-level cache of 2 MiB a core on this project's machine)."""
NEAR_ROWS = 8
"""A neighbour within this many rows of a person is near: the pass reads those rows in
storage order anyway, so they are in the cache when read. The ring's ties are near, but
for the few that wrap around its ends (:func:`sim.model.population.small_world`); the
rewired ones are mostly far."""
FAR_BLOCK = 1024
"""Persons per block of :func:`monthly_update`: before a block, the pass asks for the rows
of all its persons' far neighbours at once (:func:`far_ties`, :func:`prefetch_row`), so
that the memory answers them side by side while the block is computed. The blocks are
the rows from each multiple of FAR_BLOCK, so the parts that threads take must start at
one (``threads.over_rows(..., block=FAR_BLOCK)``); from anywhere else, the rows asked for
are partly another block's, and only the time changes. On this project's machine at
1,000,000 persons (0.4 far neighbours a person), two threads, the four powers' pass took
22-24 nanoseconds a person asking for every neighbour's row 16 persons ahead, 19 asking
for a block's neighbours' rows at once, 16-18 for its far neighbours' only (blocks of 256
persons: 17; of 4,096: 16)."""


@numba.njit(cache=True)
def far_ties(indptr, indices):
    """The far neighbours (more than :data:`NEAR_ROWS` rows away) of each block of
    :data:`FAR_BLOCK` persons, as (starts, rows): block b's are ``rows[starts[b]:starts[b +
    1]]``, its persons' in order (int64 and int32). Computed once with the network, which
    the persons' renewal keeps (newcomers take leavers' rows)."""
    n = indptr.size - 1
    blocks = -(-n // FAR_BLOCK)
    starts = np.zeros(blocks + 1, np.int64)
    for i in range(n):
        for k in range(indptr[i], indptr[i + 1]):
            if abs(np.int64(indices[k]) - i) > NEAR_ROWS:
                starts[i // FAR_BLOCK + 1] += 1
    for b in range(blocks):
        starts[b + 1] += starts[b]
    rows = np.empty(starts[blocks], np.int32)
    kept = 0
    for i in range(n):
        for k in range(indptr[i], indptr[i + 1]):
            if abs(np.int64(indices[k]) - i) > NEAR_ROWS:
                rows[kept] = indices[k]
                kept += 1
    return starts, rows


@intrinsic
def prefetch_row(typingctx, array, row):
    """Ask the processor to start loading the first cache line of ``array[row]`` (a 2-D
    array), without waiting for it: a hint (``llvm.prefetch``) that changes no result.

    The social-influence loop reads the rows of each person's neighbours; a tie rewired to
    anyone (Watts-Strogatz) is a row far away in memory, which at a million persons costs a
    trip to main memory. Asked for ahead (a block's far neighbours' rows at once, before
    the block: :data:`FAR_BLOCK`), the row is in the cache when read.
    """
    if not (isinstance(array, types.Array) and array.ndim == 2):
        return None
    sig = types.void(array, row)

    def codegen(context, builder, signature, args):
        array_t, row_t = signature.args
        data = context.make_array(array_t)(context, builder, args[0])
        i8, i32, i64 = ir.IntType(8), ir.IntType(32), ir.IntType(64)
        row_bytes, _ = cgutils.unpack_tuple(builder, data.strides, 2)
        at = context.cast(builder, args[1], row_t, types.int64)
        address = builder.add(builder.ptrtoint(data.data, i64), builder.mul(at, row_bytes))
        prefetch = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [i8.as_pointer(), i32, i32, i32]),
            "llvm.prefetch.p0",  # the name for opaque pointers: LLVM 15 on (llvmlite 0.50)
        )
        read, keep, data_cache = ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)
        builder.call(prefetch, [builder.inttoptr(address, i8.as_pointer()), read, keep, data_cache])
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(inline="always", **_JIT)
def _close(diff, confidence):
    """1 when a neighbour's attitude is within the confidence bound, else 0 (branch-free:
    closeness varies from neighbour to neighbour)."""
    return 1.0 if abs(diff) < confidence else 0.0


@numba.njit(inline="always", **_JIT)
def framed_response(attraction, framed, identity, strength):
    """Change of attraction from news of incidents heard, framed by the outlets a person
    follows: ``framed`` is the number heard times their mean framing (-1 condemns, +1
    justifies). Condemned news lowers attraction by beta |framed| iota a (the backlash of
    study §5.2, stronger with national identity); justified news raises it by beta framed
    (1 - iota)(1 - a) (a rally, stronger for those with weaker national identity)."""
    if framed < 0.0:
        return strength * framed * identity * attraction
    return strength * framed * (1.0 - identity) * (1.0 - attraction)


class Rates(NamedTuple):
    """The scalar parameters of one month's update (see :func:`monthly_update`). The
    compiled passes take a Rates or its numbers as a plain tuple, and make it a Rates again
    at no cost; the model hands them the plain tuple (:attr:`numbers`): numba types a named
    tuple in Python at every call (some 1.2 µs), a plain one in C."""

    persuasion: float  # alpha
    relaxation: float  # delta
    resistance: float  # rho (0 when identity is switched off)
    elite_stereotype: float  # e for elites
    ties_bonus: float
    kin_bonus: float  # 0 when kinship is switched off
    backlash: float  # beta (0 when backlash is switched off)
    comparison: float  # sigma (0 when comparison is switched off)
    social: float  # mu (0 when social influence is switched off)
    confidence: float  # epsilon
    identity_gain: float  # kappa_iota x promotion (0 when identity does not move)
    identity_decay: float  # delta_iota (0 when identity does not move)

    @property
    def numbers(self) -> tuple[float, ...]:
        """The rates as a plain tuple, as the model hands them to the compiled passes."""
        return tuple(self)


OPEN, BY_LANGUAGE, BY_OUTLETS = 0, 1, 2
"""How a channel reaches a person (:func:`channel_kinds`): open to all, through a shared
language, or through the media outlets the person follows."""


def channel_kinds(gated: NDArray[np.bool_], outlet_channel: int | None) -> NDArray[np.int8]:
    """The reach of each channel (C,) as :data:`OPEN`, :data:`BY_LANGUAGE` or
    :data:`BY_OUTLETS` (the channel the outlets carry, when the profile has outlets)."""
    kinds = np.where(gated, BY_LANGUAGE, OPEN).astype(np.int8)
    if outlet_channel is not None:
        kinds[outlet_channel] = BY_OUTLETS
    return kinds


@numba.njit(**_JIT)
def reach_table(signals, kinds):
    """The summed signal of each power (P) over the channels a person is exposed to, for
    every exposure pattern (a bit mask over channels) and kind of reach: shape (2^C, 3, P),
    channels summed in order. A person's drive is then three lookups
    (:func:`monthly_update`)."""
    powers, channels = signals.shape
    table = np.empty((1 << channels, 3, powers))
    table[0] = 0.0
    top = 0  # the highest channel of the pattern
    for mask in range(1, 1 << channels):
        if mask >> (top + 1):
            top += 1
        # the pattern without its highest channel, that channel added last: its sums are
        # those of the channels in order, to the bit
        below, kind = mask ^ (1 << top), kinds[top]
        for k in range(3):
            for p in range(powers):
                table[mask, k, p] = table[below, k, p]
        for p in range(powers):
            table[mask, kind, p] += signals[p, top]
    return table


@numba.njit(inline="always", **_JIT)
def _expected_parts(engagement, signals, kinds, i, parts):
    """Row i's signal of each power summed over channels weighted by the engagement in row i
    of ``engagement``, by kind of reach (3, P): the drive's parts when exposure is its
    expected value. Channels are
    added in order, into a sum per kind held in a register (not in ``parts``, whose every
    addition would wait for the one before it to be stored)."""
    for p in range(signals.shape[0]):
        open_to_all = by_language = by_outlets = 0.0
        for c in range(kinds.size):
            term = engagement[i, c] * signals[p, c]
            if kinds[c] == OPEN:
                open_to_all += term
            elif kinds[c] == BY_LANGUAGE:
                by_language += term
            else:
                by_outlets += term
        parts[OPEN, p] = open_to_all
        parts[BY_LANGUAGE, p] = by_language
        parts[BY_OUTLETS, p] = by_outlets


@numba.njit(inline="always", **_JIT)
def outlet_access(diet_access, diet, i, p, language):
    """Person i's access to power p's media through the outlets they follow: their diet's
    (``diet_access[diet[i], p]``), or their ``language`` access where no outlet names the
    power (NaN in the diet's row)."""
    through_outlets = diet_access[diet[i], p]
    return language if np.isnan(through_outlets) else through_outlets


@numba.njit(**_JIT)
def expected_table(chances, signals, kinds):
    """:func:`_expected_parts` of every cell of engagement (cells, 3, P): persons of a cell
    share their engagement, so their expected drive's parts are computed once for the cell,
    and are the same numbers as computed for each of them."""
    table = np.empty((chances.shape[0], 3, signals.shape[0]))
    for cell in range(chances.shape[0]):
        _expected_parts(chances, signals, kinds, cell, table[cell])
    return table


@numba.njit(inline="always", **_JIT)
def exposure_mask(uniforms, k, cell, chances):
    """A person's exposure this month as a bit mask, from their draws (row k of
    ``uniforms``, one a channel) and their cell of engagement: bit c is set when the draw
    for channel c falls below the cell's engagement with it, ``chances[cell, c]``. At most
    8 channels (a byte, as :func:`monthly_update` reads it)."""
    mask = 0
    for c in range(uniforms.shape[1]):
        mask |= (uniforms[k, c] < chances[cell, c]) << c
    return mask


@numba.njit(nogil=True, **_JIT)
def exposure_masks_drawn(stream, out, cells, chances):
    """:func:`exposure_mask` of every person (N,), from the stream whose handle is
    ``stream`` (:func:`sim.model.streams.handle`), the draws taken as they are needed: the
    numbers ``rng.random((N, C), dtype=np.float32)`` gives, a row a person, and the stream
    ends where it would (numba's generator is numpy's), but no array of them is made, and no
    lock of Python's is taken between persons (:func:`monthly_update` reads the masks: a
    byte a person, not the draws)."""
    rng = generator(stream)
    draws = np.empty((1, chances.shape[1]), np.float32)
    for i in range(out.size):
        for c in range(draws.shape[1]):
            draws[0, c] = rng.random(dtype=np.float32)
        out[i] = exposure_mask(draws, 0, cells[i], chances)


@numba.njit(nogil=True, **_JIT)
def exposure_masks_at(stream, rows, out, cells, chances):
    """:func:`exposure_masks_drawn` of the persons at ``rows`` only, each once, in row order
    (``rows`` may repeat a row and be in any order): the k-th row of
    ``rng.random((m, C), dtype=np.float32)`` is the draws of the k-th of the m distinct
    rows, ``np.unique(rows)[k]``."""
    rng = generator(stream)
    draws = np.empty((1, chances.shape[1]), np.float32)
    ordered = np.sort(rows)
    for k in range(ordered.size):
        i = ordered[k]
        if k and i == ordered[k - 1]:  # drawn already
            continue
        for c in range(draws.shape[1]):
            draws[0, c] = rng.random(dtype=np.float32)
        out[i] = exposure_mask(draws, 0, cells[i], chances)


@intrinsic
def generator(typingctx, stream):
    """numba's ``numpy.random.Generator`` on the stream whose handle is ``stream``
    (:func:`sim.model.streams.handle`), within a compiled pass: its methods draw from that
    stream, numpy's numbers, as numba's own generator does (:mod:`sim.model.streams`). It
    is not a Python object: a pass must not return it, nor hand it to object mode."""
    four = isinstance(stream, types.UniTuple) and stream.count == 4
    if not (four and isinstance(stream.dtype, types.Integer)):
        raise TypingError(f"a stream's handle is a tuple of four addresses, not {stream}")
    made = types.NumPyRandomGeneratorType("generator")
    bits_type = types.NumPyRandomBitGeneratorType("bit_generator")

    def codegen(context, builder, signature, arguments):
        addresses = [
            context.cast(builder, value, stream.dtype, types.uintp)
            for value in cgutils.unpack_tuple(builder, arguments[0])
        ]
        bits = cgutils.create_struct_proxy(bits_type)(context, builder)
        bits.state_address = bits.state = addresses[0]
        bits.fnptr_next_uint64, bits.fnptr_next_uint32, bits.fnptr_next_double = addresses[1:]
        out = cgutils.create_struct_proxy(made)(context, builder)  # no parent, no meminfo:
        out.bit_generator = bits._getvalue()  # never handed back to Python
        return out._getvalue()

    return made(stream), codegen


INVERSION_MOST = 30.0
"""numpy draws a binomial of n trials at chance p by inversion while n min(p, 1 - p) is at
most this, by another method above (:func:`heard_drawn`)."""


@numba.njit(nogil=True, **_JIT)
def news_drawn(stream, rate, reach, persons):
    """The month's incidents of each power (P,), Poisson of ``rate``, and the number of them
    each of ``persons`` persons hears of (persons, P; uint8; :func:`heard_drawn`), drawn
    from the stream whose handle is ``stream`` (:func:`sim.model.streams.handle`): the
    numbers of ``rng.poisson(rate)``, then of ``rng.binomial(incidents[p], reach,
    persons)`` power after power, and the stream ends where it would. In a quiet month (no
    incident) the incidents only, with an empty (0, 0) array, and nobody heard anything;
    the same when a power has more than 255 incidents or numpy would draw the binomials by
    another method than inversion (:data:`INVERSION_MOST`): the caller then draws the news
    heard itself, with numpy."""
    rng = generator(stream)
    incidents = np.empty(rate.size, np.int64)
    for p in range(rate.size):
        incidents[p] = rng.poisson(rate[p])
    most = 0
    for p in range(rate.size):
        most = max(most, incidents[p])
    if most == 0 or most > 255 or most * min(reach, 1.0 - reach) > INVERSION_MOST:
        return incidents, np.zeros((0, 0), np.uint8)
    heard = np.zeros((persons, rate.size), np.uint8)
    heard_drawn(rng, incidents, reach, heard)
    return incidents, heard


@numba.njit(nogil=True, **_JIT)
def heard_drawn(rng, incidents, reach, heard):
    """Into ``heard`` (N, P; zeros): for each power p with incidents, the number of them
    each person hears of, binomial of ``incidents[p]`` trials at chance ``reach``, person by
    person, power after power: the numbers that ``rng.binomial(incidents[p], reach, N)``
    gives power after power, and the stream ends where it would. The draw is numpy's
    inversion (``random_binomial_inversion`` in numpy's ``distributions.c``), step by step:
    one uniform, spent down the probabilities of 0, 1, 2... hits; for a chance above 1/2,
    the misses at 1 - chance. Its setup (one exp and one log) is made once per power, where
    numba's own binomial makes it for every person; and no array of int64 is made per
    power. Only while ``incidents[p] * min(reach, 1 - reach)`` is at most
    :data:`INVERSION_MOST` (the caller checks). The same numbers as long as exp and log are
    the C library's here as in numpy (tests/test_rules.py checks them against numpy's)."""
    n = heard.shape[0]
    if reach == 0.0:  # numpy draws nothing then
        return
    flip = reach > 0.5
    chance = 1.0 - reach if flip else reach
    q = 1.0 - chance
    for p in range(incidents.size):
        trials = np.int64(incidents[p])
        if trials == 0:
            continue
        qn = np.exp(trials * np.log(q))
        mean = trials * chance
        bound = min(trials, mean + 10.0 * np.sqrt(mean * q + 1))
        for i in range(n):
            x = 0
            px = qn
            u = rng.random()
            while u > px:
                x += 1
                if x > bound:
                    x = 0
                    px = qn
                    u = rng.random()
                else:
                    u -= px
                    px = ((trials - x + 1) * chance * px) / (x * q)
            heard[i, p] = trials - x if flip else x


@numba.njit(nogil=True, **_JIT)
def _update_rows(
    first,
    last,
    out,
    new_identity,
    attraction,
    identity,
    identity_baseline,
    affinity,
    susceptibility,
    elite,
    stereotype_means,
    prestige,
    personal,
    ties,
    kin,
    cells,
    masks,
    table,
    tongue,
    tongue_access,
    diet,
    diet_access,
    heard,
    framing,
    indptr,
    indices,
    far_starts,
    far_rows,
    rates,
    four_powers,
):
    """The loop of :func:`monthly_update` over rows ``first`` to ``last``, with its table
    of signals in place of chances, signals and kinds. With ``four_powers`` (four
    powers), the four powers' terms side by side in one register (:class:`FourLanes`),
    each lane computing what the loop over powers computes for its power, to the bit;
    else that loop. ``four_powers`` is compiled in as a constant
    (``numba.literally``), so each case is a loop of its own with no branch for the other:
    written as one branch of a loop that held both, the same code ran about 20 % slower at
    1,000,000 persons, by how LLVM laid out the loop."""
    numba.literally(four_powers)
    powers = attraction.shape[1]
    pull = np.zeros(powers)
    news = np.empty(powers)
    moved = np.empty(powers)
    drawn = masks.shape[0] > 0
    outlets = diet_access.size > 0
    quiet = drawn and heard.size == 0  # no incident heard by anyone this month
    prefetching = attraction.nbytes > PREFETCH_FROM  # neighbours' rows beyond the cache
    for start in range(first, last, FAR_BLOCK):  # block by block (see FAR_BLOCK)
        if prefetching and rates.social > 0.0:  # the block's far neighbours' rows, at once
            block = start // FAR_BLOCK
            for k in range(far_starts[block], far_starts[block + 1]):
                prefetch_row(attraction, far_rows[k])
        for i in range(start, min(last, start + FAR_BLOCK)):
            elite_factor = rates.elite_stereotype if elite[i] else 1.0
            ident = identity[i]
            # the row of the table: the person's exposure pattern, or else their cell
            mask = np.int64(masks[i]) if drawn else np.int64(cells[i])
            pull4 = four_of(0.0)  # the neighbours' pull, none without social influence
            if rates.social > 0.0:
                if four_powers:
                    lo, hi = indptr[i], indptr[i + 1]
                    pull4 = pulls_in_lanes(attraction, lo, hi, indices, i, rates.confidence)
                else:
                    neighbour_pulls(attraction, indptr, indices, i, rates.confidence, pull)
            if four_powers:
                a4 = four(attraction[i])
                total = 0.0
                for p in range(LANES):  # summed in power order, as the scalar loop does
                    total += lane(a4, p)
                means4, f4 = four(stereotype_means), four(affinity[i])
                s4 = stereotype(four(susceptibility[i]), means4, ident, elite_factor)
                r4 = receptivity(f4, s4, ident, rates.resistance)
                base4 = cultural_baseline(
                    r4,
                    four(prestige),
                    four(personal[i]),
                    four(ties[i]),
                    rates.ties_bonus,
                    four(kin[i]),
                    rates.kin_bonus,
                )
                language4 = four(tongue_access[tongue[i]])
                d4 = four(table[mask, OPEN]) + four(table[mask, BY_LANGUAGE]) * language4
                if outlets:
                    through_outlets4 = four(diet_access[diet[i]])
                    access4 = where_nan(through_outlets4, language4, through_outlets4)
                    d4 = d4 + four(table[mask, BY_OUTLETS]) * access4
                change4 = persuasion(a4, d4, r4, rates.persuasion)
                change4 = change4 - relaxation(a4, base4, rates.relaxation)
                news4 = four_of(0.0)
                any_news = False
                if not quiet:
                    if drawn:  # heard times framing, rounded to float32
                        framed4 = in_single(four(heard[i]) * four(framing[diet[i]]))
                    else:
                        framed4 = four(framing[diet[i]])
                    # framed_response, its two cases in every lane, each lane's sign choosing
                    condemned4 = rates.backlash * framed4 * ident * a4
                    justified4 = rates.backlash * framed4 * (1.0 - ident) * (1.0 - a4)
                    response4 = where_negative(framed4, condemned4, justified4)
                    news4 = where_nonzero(framed4, response4, 0.0)
                    any_news = any_nonzero(framed4)
                    change4 = where_nonzero(framed4, change4 + response4, change4)
                moved4 = a4 + (change4 + rates.social * pull4)
                if any_news and rates.comparison > 0.0:
                    for p in range(LANES):  # each power's news moves the others, in power order
                        others = total - lane(a4, p)
                        if lane(news4, p) == 0.0 or not others > 0.0:
                            continue
                        weight = rates.comparison * lane(news4, p)
                        moved4 = moved4 - without_lane(weight * a4 / others, p)
                put_four(out[i], min(1.0, max(0.0, moved4)))
            else:
                total = 0.0
                any_news = False
                for p in range(powers):
                    a = attraction[i, p]
                    total += a
                    f = affinity[i, p]
                    s = stereotype(susceptibility[i, p], stereotype_means[p], ident, elite_factor)
                    r = receptivity(f, s, ident, rates.resistance)
                    base = cultural_baseline(
                        r,
                        prestige[p],
                        personal[i, p],
                        ties[i, p],
                        rates.ties_bonus,
                        kin[i, p],
                        rates.kin_bonus,
                    )
                    language = tongue_access[tongue[i], p]
                    d = table[mask, OPEN, p] + table[mask, BY_LANGUAGE, p] * language
                    if outlets:
                        access = outlet_access(diet_access, diet, i, p, language)
                        d += table[mask, BY_OUTLETS, p] * access
                    change = persuasion(a, d, r, rates.persuasion)
                    change -= relaxation(a, base, rates.relaxation)
                    news[p] = 0.0
                    if not quiet:
                        if drawn:  # heard times framing, rounded to float32 (see ``heard``)
                            product = np.float64(heard[i, p]) * np.float64(framing[diet[i], p])
                            framed = np.float64(np.float32(product))
                        else:
                            framed = np.float64(framing[diet[i], p])
                        if framed != 0.0:
                            news[p] = framed_response(a, framed, ident, rates.backlash)
                            any_news = True
                            change += news[p]
                    change += rates.social * pull[p]
                    moved[p] = a + change  # in double precision until stored, clipped, once
                if any_news and rates.comparison > 0.0:
                    for p in range(powers):  # each power's news moves the others, in power order
                        others = total - attraction[i, p]  # the attraction to all the others
                        if news[p] == 0.0 or not others > 0.0:
                            continue
                        weight = rates.comparison * news[p]
                        for q in range(powers):  # q == p subtracts 0: the same number
                            term = weight * attraction[i, q] / others
                            moved[q] -= term if q != p else 0.0
                for q in range(powers):
                    out[i, q] = min(1.0, max(0.0, moved[q]))
            new_identity[i] = next_identity(
                ident, identity_baseline[i], rates.identity_gain, rates.identity_decay
            )


@numba.njit(nogil=True, **_JIT)
def monthly_update(
    first,
    last,
    out,
    new_identity,
    attraction,
    identity,
    identity_baseline,
    affinity,
    susceptibility,
    elite,
    stereotype_means,
    prestige,
    personal,
    ties,
    kin,
    cells,
    chances,
    signals,
    kinds,
    tongue,
    tongue_access,
    diet,
    diet_access,
    masks,
    heard,
    framing,
    indptr,
    indices,
    far_starts,
    far_rows,
    rates,
    vector=True,
):
    """One month of the attraction to every power and national identity of the persons in
    rows ``first`` to ``last`` (excluded), written into the same rows of ``out`` and
    ``new_identity``, in one compiled pass that releases the GIL, so threads can run it on
    parts of the rows side by side (:func:`sim.model.threads.over_rows`): a person's update
    reads only this month's arrays, so the result is the same whatever the parts.

    a' = clip(a + persuasion - relaxation + framed news + comparison + social influence, 0,
    1), each term the rule of the same name; iota' by :func:`next_identity`. Synchronous:
    reads only this month's arrays and writes new ones.

    The drive is :func:`drive`'s sum_c E_ic S_pc A_ipc: a person is exposed to the channels
    of their bit mask (:func:`exposure_masks_drawn`), and the exposed channels' signals, summed by
    kind of reach, come from :func:`reach_table`; with ``masks`` empty (no stochastic
    exposure) exposure is the engagement itself, and the sums come from
    :func:`expected_table`, one row per cell of engagement.

    Args:
        out, new_identity: (N, P) and (N,) the new attraction and identity (rows ``first``
            to ``last`` are written). ``new_identity`` may be ``identity`` itself: a
            person's identity is read only for their own update, before it is written.
        attraction: (N, P) this month's attraction.
        identity, identity_baseline: (N,) national identity and its baseline.
        affinity, susceptibility: (N, P) fixed personal terms. personal: (N, P) the
            personal deviation of the baseline.
        elite: (N,) elite flags. ties, kin: (N, P) education ties and family across the
            border with each power.
        stereotype_means, prestige: (P,) powers' stereotype means (0 when stereotypes are
            switched off) and emitter strengths.
        cells, chances: each person's cell of age band, area and roles (N,) and each cell's
            monthly chance of engaging with each channel (cells, C): the person's
            engagement is ``chances[cells[i]]``.
        signals: (P, C) every power's signal per channel. kinds: (C,) each channel's reach
            (:func:`channel_kinds`).
        tongue, tongue_access: the set of languages each person speaks (N,; an index) and
            each set's language access to each power's content (K, P;
            :func:`language_access`).
        diet, diet_access: each person's media diet (N,; an index) and each diet's share of
            each power's content in its outlets (K, P), read for :data:`BY_OUTLETS`
            (:func:`outlet_access`; empty when there are no outlets).
        masks: (N,) this month's exposure (:func:`exposure_masks_drawn`), or empty (size 0) for
            expected exposure.
        heard, framing: the news of incidents. With ``masks``: ``heard`` (N, P) the
            incidents each person heard of this month (empty in a month nobody hears of
            any), and ``framing`` (K, P) each media diet's mean framing of them (-1 for
            everyone when framing is switched off); the framed news is their product,
            rounded to float32. Without: ``framing`` (K, P) is each diet's expected
            incidents heard times its framing, and ``heard`` is not read.
        indptr, indices: the network in CSR form.
        far_starts, far_rows: each block's far neighbours (:func:`far_ties`).
        rates: :class:`Rates`, or its numbers as a plain tuple, in double precision
            (Python's floats).
        vector: with four powers, compute their terms side by side in one register
            (:class:`FourLanes`, :func:`pulls_in_lanes`, :func:`_update_rows`); the same
            numbers, to the bit, as the scalar loop that other numbers of powers take
            (False: the scalar loop always, for the tests that hold the two to it).

    Comparison: a news-driven change x_ip toward power p moves the person's other
    attitudes by -sigma x_ip a_iq / sum_{r != p} a_ir ("someone else will take its place").
    """
    if far_starts.size != -(-attraction.shape[0] // FAR_BLOCK) + 1:
        raise ValueError("far_starts: not the far_ties of this network's persons")
    rates = Rates(*rates)  # (a plain tuple, from the model: see Rates)
    drawn = masks.shape[0] > 0
    # the exposed channels' signal summed by kind of reach: a row of the table for each
    # exposure pattern; without draws, a row for each cell of engagement (the expected sum)
    table = reach_table(signals, kinds) if drawn else expected_table(chances, signals, kinds)
    # in double, so that each power's products are double whatever the caller's arrays
    # (numba multiplies two float32 numbers in single precision, a lane of FourLanes never)
    stereotype_means = stereotype_means.astype(np.float64)
    prestige = prestige.astype(np.float64)
    # four_powers is compiled in (numba.literally): the two calls are two loops
    if vector and attraction.shape[1] == LANES:
        _update_rows(
            first,
            last,
            out,
            new_identity,
            attraction,
            identity,
            identity_baseline,
            affinity,
            susceptibility,
            elite,
            stereotype_means,
            prestige,
            personal,
            ties,
            kin,
            cells,
            masks,
            table,
            tongue,
            tongue_access,
            diet,
            diet_access,
            heard,
            framing,
            indptr,
            indices,
            far_starts,
            far_rows,
            rates,
            True,
        )
    else:
        _update_rows(
            first,
            last,
            out,
            new_identity,
            attraction,
            identity,
            identity_baseline,
            affinity,
            susceptibility,
            elite,
            stereotype_means,
            prestige,
            personal,
            ties,
            kin,
            cells,
            masks,
            table,
            tongue,
            tongue_access,
            diet,
            diet_access,
            heard,
            framing,
            indptr,
            indices,
            far_starts,
            far_rows,
            rates,
            False,
        )


ANSWER_GRID = 4096
"""Points of the table of the logistic answer function that :func:`share_answering_yes`
interpolates (error below 1e-6 for spreads of 0.01 and more)."""


@numba.njit(**_JIT)
def shares_answering_yes(latent, cuts, spread):
    """For each cut k and column (power) p, the mean over persons (rows) of the chance of a
    yes answer, 1 / (1 + exp(-(a - cut_k) / spread)) (:func:`sim.model.survey.answer_yes`),
    for a latent a in [0, 1], in one pass over the persons (K, P): the function is
    tabulated once on a grid of [0, 1] (:func:`answer_table`) and interpolated linearly,
    so the monthly measures of a poll's shares cost no exponential per person, and one pass
    serves every cut."""
    return shares_on_table(latent, cuts, spread, answer_table(cuts, spread))


@numba.njit(**_JIT)
def answer_table(cuts, spread):
    """The chance of a yes answer at each cut (K, :data:`ANSWER_GRID` + 1) on a grid of
    [0, 1]: what :func:`shares_on_table` interpolates (a caller may keep it while the cuts
    and the spread hold)."""
    grid = np.empty((cuts.size, ANSWER_GRID + 1))
    for c in range(cuts.size):
        for k in range(ANSWER_GRID + 1):
            a = k / ANSWER_GRID
            if spread > 0.0:
                z = min(60.0, max(-60.0, (a - cuts[c]) / spread))
                grid[c, k] = 1.0 / (1.0 + np.exp(-z))
            else:
                grid[c, k] = 1.0 if a > cuts[c] else 0.0
    return grid


@numba.njit(**_JIT)
def shares_on_table(latent, cuts, spread, grid):
    """:func:`shares_answering_yes` with the table of :func:`answer_table` given."""
    n, powers = latent.shape
    if spread <= 0.0:  # a hard cut-off: count
        total = np.zeros((cuts.size, powers))
        for i in range(n):
            for p in range(powers):
                for c in range(cuts.size):
                    if latent[i, p] > cuts[c]:
                        total[c, p] += 1.0
        return total / max(n, 1)
    # the interpolation is linear in the grid's values, so each person adds their weights
    # to the two grid points around their attitude once, whatever the number of cuts
    weight = np.zeros((powers, ANSWER_GRID + 1))
    for i in range(n):
        for p in range(powers):
            x = min(1.0, max(0.0, latent[i, p])) * ANSWER_GRID
            k = min(int(x), ANSWER_GRID - 1)
            weight[p, k] += k + 1 - x
            weight[p, k + 1] += x - k
    return grid @ weight.T / max(n, 1)


def project_to_simplex(values: Array) -> Array:
    """Euclidean projection of each row onto the probability simplex (exact, sort-based),
    in double precision.

    Held, Wolfe & Crowder (1974); Duchi et al. (2008), algorithm 1.
    """
    v = np.ascontiguousarray(np.atleast_2d(values), dtype=np.float64)
    return _project_rows(v).reshape(np.shape(values))


@numba.njit(inline="always", **_JIT)
def _sorts_before(x, y):
    """Whether ``x`` comes before ``y`` in ascending order with NaN first."""
    return y > x or (x != x and y == y)


@numba.njit(error_model="numpy", **_JIT)  # x / 0 is inf or NaN, as in numpy
def _project_rows(v):
    """:func:`project_to_simplex` of each row of ``v``, row by row: sorted descending, the
    running sums less 1, rho the count of sorted values above their running mean, theta the
    rho-th running sum over rho (the operations of the array form, in its order)."""
    rows, n = v.shape
    out = np.empty_like(v)
    cumulative = np.empty(n)
    ascending = np.empty(n)
    for r in range(rows):
        for j in range(n):  # insertion sort (rows are a few powers long), NaN first: last
            x, k = v[r, j], j  # in the descending order, as np.sort puts it
            while k > 0 and _sorts_before(x, ascending[k - 1]):
                ascending[k] = ascending[k - 1]
                k -= 1
            ascending[k] = x
        total = 0.0
        rho = 0
        for j in range(n):
            u = ascending[n - 1 - j]  # descending
            total += u
            cumulative[j] = total - 1.0
            if u - cumulative[j] / (j + 1) > 0:
                rho += 1
        theta = cumulative[rho - 1] / rho  # rho 0 (infinite or NaN values): the last over 0
        for j in range(n):
            x = v[r, j] - theta
            out[r, j] = x if (x > 0.0 or x != x) else 0.0  # np.maximum(x, 0): NaN stays
    return out


def security_floors(security: Array, floor: float) -> Array:
    """The least alignment the state keeps with each power (P,): ``floor`` times the power's
    share of the state's security ties (shares that sum above 1 are scaled to sum to 1, so
    the floors never sum above ``floor``)."""
    security = np.asarray(security, float)
    return floor * security / max(1.0, float(security.sum()))


def balanced_report(scores: Array, balance_strength: float, floors: Array | None = None) -> Array:
    """The alignment w maximising scores . w - lambda sum w^2 on the simplex, with
    w_p >= floors_p (:func:`security_floors`) when floors are given.

    Completing the square, it is the projection of scores / (2 lambda) onto the simplex:
    lambda -> 0 backs the best-scored power alone, a large lambda splits evenly. With
    floors, it is the floors plus the projection of what lies above them onto the simplex
    scaled to the room they leave, 1 - sum of floors.
    """
    return keep_floors(scores / (2.0 * balance_strength), floors)


@numba.njit(error_model="numpy", **_JIT)  # x / 0 is inf or NaN, as in numpy
def balanced_reports(stream, shared, biases, noise, strength, floors, room):
    """Every official's :func:`balanced_report` (K, P), in one pass with its draws: official
    k scores power p ``shared[p] + biases[k, p]`` plus a normal error of standard deviation
    ``noise``, drawn ``rng.normal(0.0, noise, (K, P))`` from the stream whose handle is
    ``stream`` (:func:`sim.model.streams.handle`), and balances at ``strength``, keeping
    the ``floors`` (P,; empty for none), which leave ``room``, 1 - their sum (the caller's
    numpy sum). The numbers of the array forms, and the stream ends where it would."""
    rng = generator(stream)
    officials, powers = biases.shape
    target = np.empty((officials, powers))
    for k in range(officials):
        for p in range(powers):
            target[k, p] = shared[p] + biases[k, p] + rng.normal(0.0, noise)
    target /= 2.0 * strength
    kept = False
    for p in range(floors.size):
        kept |= floors[p] != 0.0
    if not kept:
        return _project_rows(target)
    for k in range(officials):
        for p in range(powers):
            target[k, p] = (target[k, p] - floors[p]) / room
    out = _project_rows(target)
    for k in range(officials):
        for p in range(powers):
            out[k, p] = floors[p] + room * out[k, p]
    return out


def keep_floors(target: Array, floors: Array | None = None) -> Array:
    """The nearest point to ``target`` (rows) on the simplex with w_p >= floors_p: the
    floors plus the projection of what lies above them onto the simplex scaled to the room
    they leave, 1 - sum of floors (:func:`project_to_simplex` without floors). A target
    already on the simplex and above every floor is returned as it is."""
    if floors is None or not floors.any():
        return project_to_simplex(target)
    room = 1.0 - float(floors.sum())
    return floors + room * project_to_simplex((target - floors) / room)


def logit_report(scores: Array, noise: float, floors: Array | None = None) -> Array:
    """Without balancing, each official reports the chances of backing each power alone when
    its scores carry a random error: with Gumbel errors of standard deviation ``noise``, the
    logit (McFadden 1974; quantal response, McKelvey & Palfrey 1995) softmax(u / s), with
    scale s = noise x sqrt(6) / pi. A lean toward the best-scored power, not all of it; all
    of it as the noise tends to 0. With ``floors`` (:func:`security_floors`), the nearest
    chances that keep them (:func:`keep_floors`): chances above their floors lose the same
    amount, what the floors need."""
    if noise <= 0.0:
        out = np.zeros_like(scores)
        np.put_along_axis(out, np.argmax(scores, axis=-1)[..., None], 1.0, axis=-1)
    else:
        # the best score first taken off: a tiny noise then gives exp(-inf) = 0, not inf - inf
        # (the division overflows to -inf on purpose there: no warning)
        with np.errstate(over="ignore"):
            z = (scores - scores.max(axis=-1, keepdims=True)) / (noise * np.sqrt(6.0) / np.pi)
        out = np.exp(z)
        out /= out.sum(axis=-1, keepdims=True)
    if floors is None or not np.any(floors):
        return out
    return keep_floors(out, floors)


@intrinsic
def _fused(typingctx, a, b, c):
    """a x b + c, rounded once (LLVM's fma)."""
    if not all(t == types.float64 for t in (a, b, c)):
        return None
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fma = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fma, args)

    return sig, codegen


@numba.njit(inline="always", **_JIT)
def small_dot(a, b):
    """The dot product of two float64 vectors, term after term, each a fused multiply-add
    (rounded once): what numpy's ``a @ b`` computes for fewer than 16 terms where its BLAS
    (OpenBLAS, on a processor with FMA) does (checked on this project's machine, and held
    to it by the tests); a well-defined sum of the same terms anywhere. A zero comes out
    +0, as OpenBLAS's (whose last step adds lanes that start at +0): a product too small
    for a float rounds to -0 when negative."""
    total = 0.0
    for k in range(a.size):
        total = _fused(a[k], b[k], total)
    return total + 0.0  # -0 + 0 is +0; any other number is itself


@numba.njit(**_JIT)
def numpy_sum(values):
    """The sum of a 1-D float64 array as numpy's ``np.add.reduce`` adds it, to the bit: its
    pairwise summation (fewer than 8 numbers one after another; up to 128 in eight lanes;
    more, split in two halves, the first a multiple of 8, each summed alike and then
    added). The halves are walked with a stack of their own (numba does not cache a
    function that calls itself)."""
    n = values.size
    if n <= _PAIRWISE_BLOCK:
        return 0.0 + _pairwise_block(values, 0, n)  # numpy's sum starts at 0.0 (not -0.0)
    starts, sizes = np.empty(64, np.int64), np.empty(64, np.int64)
    firsts, done = np.empty(64), np.zeros(64, np.bool_)  # a part's first half's sum, if done
    starts[0], sizes[0], top = 0, n, 0
    while True:
        size = sizes[top]
        if size > _PAIRWISE_BLOCK:  # split: its first half next
            half = size // 2
            half -= half % 8
            done[top] = False
            starts[top + 1], sizes[top + 1] = starts[top], half
            top += 1
            continue
        total = _pairwise_block(values, starts[top], size)
        top -= 1
        while top >= 0 and done[top]:  # both halves summed: the part's sum
            total = firsts[top] + total
            top -= 1
        if top < 0:
            return 0.0 + total
        firsts[top], done[top] = total, True  # its second half next
        half = sizes[top] // 2
        half -= half % 8
        starts[top + 1], sizes[top + 1] = starts[top] + half, sizes[top] - half
        top += 1


_PAIRWISE_BLOCK = 128
"""numpy's block of pairwise summation (``PW_BLOCKSIZE``)."""


@numba.njit(inline="always", **_JIT)
def _pairwise_block(a, start, n):
    if n < 8:
        total = -0.0
        for i in range(start, start + n):
            total += a[i]
        return total
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    while i < n - n % 8:
        j = start + i
        r0, r1, r2, r3 = r0 + a[j], r1 + a[j + 1], r2 + a[j + 2], r3 + a[j + 3]
        r4, r5, r6, r7 = r4 + a[j + 4], r5 + a[j + 5], r6 + a[j + 6], r7 + a[j + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += a[start + i]
        i += 1
    return total


def effective_number(alignment: Array) -> Array:
    """Effective number of vectors 1 / sum w^2 (Laakso & Taagepera 1979), of the alignment
    (P,), or of each row of alignments (M, P)."""
    return 1.0 / np.add.reduce(np.square(alignment), axis=-1)  # np.sum's numbers, quicker


def pooled_flows(weights: Array, pull: Array) -> Array:
    """Each power's flow of students relative to the start, when a pool of fixed size
    chooses among the powers in proportion to weight x pull (docs/ODD.md §7.13):
    f_p = pull_p sum_q w_q / sum_q w_q pull_q, so that sum_p w_p f_p = sum_p w_p; 1 for
    every power at the start's pull (or with no weight anywhere), 0 when nobody pulls."""
    weight = np.add.reduce(weights)  # weights.sum()'s number, without the method's overhead
    if weight <= 0:
        return np.ones_like(pull)
    total = float(weights @ pull)
    if total <= 0:  # nobody pulls: nobody goes
        return np.zeros_like(pull)
    return pull * (weight / total)


@numba.njit(**_JIT)
def relative_means(history, reference):
    """Each column's mean over the rows of ``history``, relative to ``reference`` (1 where it
    is not above 0): each power's pull on students, its education signal over the years of
    study against the start's (docs/ODD.md §7.13). Rows are added in order, as numpy's sum
    over the first axis adds them in a C-ordered float64 array of two columns or more (the
    model's history is one, and a scenario has two powers or more)."""
    rows, columns = history.shape
    out = np.ones(columns)
    for p in range(columns):
        total = 0.0
        for i in range(rows):
            total += history[i, p]
        if reference[p] > 0:
            out[p] = total / rows / reference[p]
    return out


def pooled_flow_gain(weights: Array, pull: Array) -> Array:
    """d f_p / d pull_p of :func:`pooled_flows`: sum_q w_q / T x (1 - w_p pull_p / T), with
    T = sum_q w_q pull_q. What more pull is worth falls as the power's share of the pool
    grows: a power that has the students already gains few by pulling harder."""
    total = float(weights @ pull)
    if total <= 0:
        return np.zeros_like(pull)
    return weights.sum() / total * (1.0 - weights * pull / total)


def fading_sum(relaxation: float, months: float) -> float:
    """What a unit of attraction added now is worth over ``months`` as it fades at delta a
    month: sum_{m<M} (1 - delta)^m = (1 - (1 - delta)^M) / delta (M without fading)."""
    if relaxation <= 0:
        return months
    return (1.0 - (1.0 - relaxation) ** months) / relaxation


def tie_worth(bonus: float, relaxation: float, months: float) -> float:
    """Attraction-months a tie adds over ``months`` after it begins: it raises the cultural
    baseline by ``bonus``, and attraction closes a share delta of the gap every month,
    so sum_{m<M} bonus (1 - (1 - delta)^m) = bonus (M - :func:`fading_sum`)."""
    if months <= 0 or relaxation <= 0:
        return 0.0
    return bonus * (months - fading_sum(relaxation, months))


def rest_split(effort: Array, gain: Array, extra: Array) -> Array:
    """Where the yearly reallocation comes to rest when one channel's gain per unit of
    effort is gain_c + extra_c / e_c (the alumni's worth, fixed per unit of the start's own
    signal): e_c = total x g_c / sum g with g_c = gain_c + extra_c / e_c. At most one
    channel has an extra; its effort e solves the quadratic
    (G + q) e^2 + (x - total q) e - total x = 0 (G the other channels' gain, q its own, x its
    extra), and the others share total - e in proportion to their gains. Without an extra it
    is :func:`reallocate` with a full shift (with no gain anywhere, nothing moves)."""
    total = float(effort.sum())
    special = np.flatnonzero(extra > 0)
    if total <= 0 or special.size == 0:
        return reallocate(effort, gain, 1.0)
    (k,) = special
    rest = gain.sum() - gain[k]
    a, b, c = rest + gain[k], extra[k] - total * gain[k], -total * extra[k]
    if a <= 0:
        out = np.zeros_like(gain)
        out[k] = total
        return out
    root = np.sqrt(b * b - 4.0 * a * c)  # c < 0: one positive root, at most total
    own = -2.0 * c / (b + root) if b > 0 else (root - b) / (2.0 * a)  # no cancellation
    out = (total - own) * gain / rest if rest > 0 else np.zeros_like(gain)
    out[k] = own
    return out


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


@numba.njit(inline="always", **_JIT)
def _unit(x):
    """``np.minimum(np.maximum(x, 0.0), 1.0)``'s number: NaN kept, -0.0 made 0.0."""
    if x > 1.0:
        return 1.0
    if x > 0.0 or x != x:
        return x
    return 0.0


@numba.njit(**_JIT)
def screening(screenability, lever, counter):
    """Screening of each power's channels (P, C): screenability_c x (lever + counter_p),
    clipped to [0, 1]. Legal channels can be screened only weakly (low screenability), grants
    fully (study §5.5). Compiled: numpy's numbers, NaN kept."""
    screened = np.empty((counter.size, screenability.size))
    for p in range(counter.size):
        level = lever + counter[p]
        for c in range(screenability.size):
            raw = screenability[c] * level
            screened[p, c] = _unit(raw)
    return screened


def promotion(lever: float, counter: float) -> float:
    """Identity promotion in force: the lever plus what counter-measures added, at most 1."""
    return min(1.0, lever + counter)


@numba.njit(inline="always", **_JIT)
def unit_signal(efficiency, presence, screening):
    """Signal per unit of effort in a channel: efficiency x presence x (1 - screening), on
    numbers (:func:`emitted`) or on arrays that broadcast."""
    return efficiency * presence * (1.0 - screening)


@numba.njit(**_JIT)
def shared_score(
    offers, leverage, public, elite, advocacy, grants_screened, offer_w, leverage_w, public_w,
    elite_w, advocacy_w,
):  # fmt: skip
    """The part of every official's score u_kp that all officials share, per power:
    w_offer O + w_lev L + w_pub (A - mean A) + w_elite (E - mean E)
    + w_adv (Adv - mean Adv)(1 - screening of grants).

    Args:
        offers, leverage: (P,) the powers' economic offers and structural leverage.
        public, elite, advocacy: (P,) mean attraction of everyone, of elites, of persons
            linked to foreign-funded NGOs.
        grants_screened: (P,) screening of each power's grants.
        offer_w, leverage_w, public_w, elite_w, advocacy_w: the five weights, in the order
            of the terms above.

    Compiled: numpy's numbers, each mean's sum as numpy adds it (:func:`numpy_sum`)."""
    powers = public.size
    public_mean = numpy_sum(public) / powers
    elite_mean = numpy_sum(elite) / powers
    advocacy_mean = numpy_sum(advocacy) / powers
    score = np.empty(powers)
    for p in range(powers):
        score[p] = (
            offer_w * offers[p]
            + leverage_w * leverage[p]
            + public_w * (public[p] - public_mean)
            + elite_w * (elite[p] - elite_mean)
            + advocacy_w * (advocacy[p] - advocacy_mean) * (1.0 - grants_screened[p])
        )
    return score


@numba.njit(**_JIT)
def move_policy(alignment, reports, speed):
    """Policy inertia: w(t+1) = (1 - tau) w(t) + tau x mean report, the mean of the
    officials' ``reports`` (K, P) summed one report after another, as numpy sums them
    along the first axis (compiled: numpy's operations cost more than their arithmetic
    on arrays this small)."""
    totals = first_axis_sums(reports)
    moved = np.empty(totals.size)
    for p in range(totals.size):
        moved[p] = (1.0 - speed) * alignment[p] + speed * (totals[p] / reports.shape[0])
    return moved


@numba.njit(inline="always", **_JIT)
def first_axis_sums(values):
    """The sums of a 2-D array's columns, row after row from the first, as numpy sums a
    C-ordered array along its first axis (in the array's type: whole numbers exactly)."""
    totals = values[0].copy()
    for k in range(1, values.shape[0]):
        for p in range(values.shape[1]):
            totals[p] += values[k, p]
    return totals


@numba.njit(**_JIT)
def counter_measures(alignment, counter, counter_promotion, threshold, rise, fall):
    """Counter-measures against each power, and the identity promotion they add.

    They answer a power in proportion to its excess over theta, e_p = max(w_p - theta, 0) /
    theta (the further past the threshold, the stronger the answer), with room left to grow,
    and they cost: a share ``fall`` of them lapses every month (fatigue), whatever the
    alignment:

        c' = c + rise e_p (1 - c) - fall c

    clipped to [0, 1]. Under a lasting excess e they settle at rise e / (rise e + fall),
    below 1; with no power past theta they fade. The promotion answers the largest excess
    the same way, clipped to [0, 1]. Compiled, numpy's numbers (NaN kept as numpy keeps
    it); returns the counter-measures (P,) and the promotion.
    """
    powers = alignment.size
    updated = np.empty(powers)
    top = 0.0
    for p in range(powers):
        gap = alignment[p] - threshold
        excess = (gap if gap > 0.0 or np.isnan(gap) else 0.0) / threshold
        if excess > top or np.isnan(excess):  # the largest, NaN if any is (numpy's max)
            top = excess
        c = counter[p] + rise * excess * (1.0 - counter[p]) - fall * counter[p]
        updated[p] = _unit(c)
    held = counter_promotion
    promotion = held + rise * top * (1.0 - held) - fall * held
    return updated, min(1.0, max(0.0, promotion))


@numba.njit(**_JIT)
def next_policy(
    alignment, reports, speed, counter, counter_promotion, threshold, rise, fall, counter_on
):
    """A month of the state's policy in one compiled pass: the alignment moved toward the
    mean report (:func:`move_policy`), then, with ``counter_on``, the counter-measures and
    their promotion (:func:`counter_measures`); else those as they were. Returns the
    alignment, the counter-measures and the promotion."""
    moved = move_policy(alignment, reports, speed)
    if not counter_on:
        return moved, counter, counter_promotion
    updated, promotion = counter_measures(moved, counter, counter_promotion, threshold, rise, fall)
    return moved, updated, promotion


@numba.njit(inline="always", **_JIT)
def next_identity(identity, baseline, gain, decay):
    """Next month's identity: iota + gain (1 - iota) - delta_iota (iota - iota0), clipped to
    [0, 1], where gain = kappa_iota x promotion."""
    value = identity + gain * (1.0 - identity) - decay * (identity - baseline)
    return min(1.0, max(0.0, value))


@numba.njit(**_JIT)
def identity_update(identity, baseline, promotion, response, decay):
    """:func:`next_identity` of every person (N,), with gain = response x promotion."""
    out = np.empty(identity.size)
    for i in range(identity.size):
        out[i] = next_identity(identity[i], baseline[i], response * promotion, decay)
    return out


@numba.njit(**_JIT)
def equilibrium_identity(baseline, promotion, response, decay):
    """Identity at rest under a steady promotion: the fixed point of :func:`identity_update`,
    kappa_iota p (1 - iota) = delta_iota (iota - iota0), so iota* = (kappa_iota p +
    delta_iota iota0) / (kappa_iota p + delta_iota), clipped to [0, 1] (NaN stays NaN, as
    numpy's clip keeps it); the baseline when neither acts. In double precision (N,), from
    a 1-D baseline."""
    pull = response * promotion
    out = np.empty(baseline.size)
    for i in range(baseline.size):
        out[i] = identity_at_rest(np.float64(baseline[i]), pull, decay)
    return out


@numba.njit(inline="always", **_JIT)
def identity_at_rest(iota0, pull, decay):
    """:func:`equilibrium_identity` of one person (baseline ``iota0``), ``pull`` the
    response times the promotion."""
    if pull + decay <= 0.0:
        return iota0
    rest = (pull + decay * iota0) / (pull + decay)
    return min(1.0, max(0.0, rest)) if rest == rest else rest


# --- persons at rest, and what one more unit of signal would bring -------------------------


def expected_news(
    identity: Array, hostility: Array, valence: Array, strength: float, reach: float
) -> tuple[Array, Array]:
    """Expected monthly loss and gain rates per person and power (N, P) from framed news of
    incidents (the means of :func:`framed_response`'s factors when counts are Poisson):
    loss beta reach k max(-v, 0) iota, gain beta reach k max(v, 0)(1 - iota).

    Args:
        identity: (N,) national identity. hostility: (P,) incidents a month.
        valence: (N, P) mean framing of the outlets each person follows.
    """
    heard = strength * reach * hostility[None, :] * valence
    ident = identity[:, None]
    return np.maximum(-heard, 0.0) * ident, np.maximum(heard, 0.0) * (1.0 - ident)


@numba.njit(**_JIT)
def settle_rows(
    rows,
    attraction,
    identity,
    affinity,
    susceptibility,
    elite,
    stereotype_means,
    prestige,
    personal,
    ties,
    kin,
    cells,
    chances,
    signals,
    kinds,
    tongue,
    tongue_access,
    diet,
    diet_access,
    hostility,
    valence,
    rates,
    reach,
    baseline,
    settle_identity,
    identity_pull,
    identity_decay,
):
    """Write into ``attraction`` the :func:`equilibrium_attraction` of the persons at ``rows``
    under this month's expected forces: the drive at expected exposure (the engagement),
    the expected news of :func:`expected_news` (``hostility``: incidents a month per
    power, heard with chance ``reach``; ``valence``: the framing of each media diet, (K, P)),
    receptivity and baseline as in :func:`monthly_update`. With ``settle_identity``, each
    person's ``identity`` is first set at rest, :func:`equilibrium_identity` of their
    ``baseline`` (``identity_pull``: the response times the promotion; 0 and 0 keep the
    baseline). One compiled pass; the other arguments as :func:`monthly_update`'s.
    Those terms are written out here and there alike: a function shared by both doubled
    the update's time."""
    rates = Rates(*rates)  # (a plain tuple, from the model: see Rates)
    powers = attraction.shape[1]
    table = expected_table(chances, signals, kinds)
    outlets = diet_access.size > 0
    for i in rows:
        if settle_identity:
            iota0 = np.float64(baseline[i])
            identity[i] = identity_at_rest(iota0, identity_pull, identity_decay)
        elite_factor = rates.elite_stereotype if elite[i] else 1.0
        ident = identity[i]
        parts = table[cells[i]]
        for p in range(powers):
            s = stereotype(susceptibility[i, p], stereotype_means[p], ident, elite_factor)
            r = receptivity(affinity[i, p], s, ident, rates.resistance)
            base = cultural_baseline(
                r,
                prestige[p],
                personal[i, p],
                ties[i, p],
                rates.ties_bonus,
                kin[i, p],
                rates.kin_bonus,
            )
            language = tongue_access[tongue[i], p]
            d = parts[OPEN, p] + parts[BY_LANGUAGE, p] * language
            if outlets:
                d += parts[BY_OUTLETS, p] * outlet_access(diet_access, diet, i, p, language)
            heard = rates.backlash * reach * hostility[p] * valence[diet[i], p]
            loss = max(-heard, 0.0) * ident
            gain = max(heard, 0.0) * (1.0 - ident)
            pull = rates.persuasion * d * r
            total = pull + rates.relaxation + loss + gain
            level = pull + rates.relaxation * base + gain
            attraction[i, p] = min(1.0, max(0.0, level / max(total, 1e-12)))


def equilibrium_attraction(
    drive: Array,
    receptivity: Array,
    baseline: Array,
    rate: float,
    relaxation: float,
    loss: Array,
    gain: Array | float = 0.0,
) -> Array:
    """The attraction at which persuasion, relaxation and expected news balance:
    a* = (alpha D r + delta a0 + g) / (alpha D r + delta + b + g), clipped to [0, 1], with b
    and g the expected loss and gain rates of :func:`expected_news` (the comparison between
    powers, second order in news, is left out of this start)."""
    pull = rate * drive * receptivity
    total = pull + relaxation + loss + gain
    level = pull + relaxation * baseline + gain
    return np.clip(level / np.maximum(total, 1e-12), 0, 1)


def channel_reach(
    access: Array,
    gated: NDArray,
    power: int,
    outlet_access: Array | None = None,
    outlet_channel: int = -1,
) -> Array:
    """How far each channel of one power can reach each person (N, C): 1 where the channel
    is open to all, language access where it is gated, the outlets' access for the channel
    the outlets carry (see :func:`drive`)."""
    reach = np.where(gated, access[:, power, None], 1.0)
    if outlet_access is not None:
        reach[:, outlet_channel] = outlet_access[:, power]
    return reach


def marginal_gain(
    receptivity: Array,
    attraction: Array,
    access: Array,
    engagement: Array,
    gated: NDArray,
    outlet_access: Array | None = None,
    outlet_channel: int = -1,
) -> Array:
    """Sum over persons of engagement x reach (:func:`channel_reach`) x receptivity x
    (1 - a), per power and channel (P, C): what one more unit of signal would bring this
    month. Divide by the number of persons for the mean."""
    room = receptivity * (1.0 - attraction)
    total = np.zeros((access.shape[1], gated.size))
    for p in range(access.shape[1]):
        reach = channel_reach(access, gated, p, outlet_access, outlet_channel) * engagement
        total[p] += room[:, p] @ reach
    return total


@numba.njit(nogil=True, **_JIT)
def marginal_gain_rows(
    first,
    last,
    block,
    rows,
    everyone,
    gains,
    attraction,
    affinity,
    susceptibility,
    identity,
    elite,
    stereotype_means,
    cells,
    chances,
    kinds,
    tongue,
    tongue_access,
    diet,
    diet_access,
    rates,
):
    """:func:`marginal_gain` of the persons ``rows[first:last]`` (of persons ``first`` to
    ``last`` if ``everyone``, ``rows`` then unread; ``first`` a multiple of ``block``), with
    their receptivity by the rules of :func:`monthly_update`, in one compiled pass: the
    sums of each block of ``block`` entries go to their own row of ``gains`` (blocks, P,
    C), so that the total does not depend on the threads that shared the blocks
    (:func:`sim.model.threads.over_rows`). A channel reaches a person as
    in :func:`channel_reach`: fully when open to all, by language access when gated, by the
    outlets' access for the channel the outlets carry (``kinds``: :func:`channel_kinds`)."""
    rates = Rates(*rates)  # (a plain tuple, from the model: see Rates)
    powers, channels = attraction.shape[1], kinds.size
    total = np.empty((powers, channels))
    for start in range(first, last, block):
        total[:] = 0.0
        for j in range(start, min(start + block, last)):
            i = j if everyone else rows[j]
            elite_factor = rates.elite_stereotype if elite[i] else 1.0
            ident = identity[i]
            for p in range(powers):
                s = stereotype(susceptibility[i, p], stereotype_means[p], ident, elite_factor)
                room = receptivity(affinity[i, p], s, ident, rates.resistance)
                room *= 1.0 - attraction[i, p]
                language = tongue_access[tongue[i], p]
                for c in range(channels):
                    if kinds[c] == OPEN:
                        reach = np.float32(1.0)
                    elif kinds[c] == BY_LANGUAGE:
                        reach = np.float32(language)
                    else:
                        reach = np.float32(outlet_access(diet_access, diet, i, p, language))
                    # reach x engagement in single precision, as the arrays hold them
                    total[p, c] += room * np.float64(reach * chances[cells[i], c])
        gains[start // block] = total


def heard_shares(
    access: Array,
    engagement: Array,
    signals: Array,
    gated: NDArray,
    outlet_access: Array | None = None,
    outlet_channel: int = -1,
) -> Array:
    """Share of each channel's foreign signal reaching persons that comes from each power
    (P, C): engagement x reach (:func:`channel_reach`) x signal, summed over persons, as a
    share of all powers' total in that channel."""
    engagement = engagement.astype(np.float64)
    heard = np.empty_like(signals, dtype=np.float64)
    for p in range(signals.shape[0]):
        reach = channel_reach(access, gated, p, outlet_access, outlet_channel)
        heard[p] = (reach * engagement).mean(axis=0) * signals[p]
    total = heard.sum(axis=0, keepdims=True)
    return np.divide(heard, total, out=np.zeros_like(heard), where=total > 0)


def aired_shares(presence: Array, effort: Array, start: Array, screening: Array) -> Array:
    """Each power's share of a channel's foreign content on the air (P,): its presence (its
    share at the start) x its effort over the start's (a channel not worked at the start
    airs at its presence once worked) x (1 - screening). NaN when nothing is aired."""
    ratio = np.divide(effort, start, out=(effort > 0).astype(np.float64), where=start > 0)
    aired = presence * ratio * (1.0 - screening)
    total = aired.sum()
    return aired / total if total > 0 else np.full(aired.size, np.nan)


def shock(attraction: Array, delta: float) -> Array:
    """A one-off change of attraction, kept in [0, 1]."""
    return np.clip(attraction + delta, 0.0, 1.0)


# --- generations ------------------------------------------------------------------------------


def projected(value: Array, growth: Array, years: float) -> Array:
    """A quantity growing at a yearly rate, continuously: value x exp(growth x years) (the
    profile's census counts and shares carried to another year; years < 0 goes back)."""
    return value * np.exp(growth * years)


@numba.njit(**_JIT)
def population_flows(cells, persons, hazard, immigrants, entrants):
    """From the count of the ``persons`` in each (age band, group) cell (B, G), the yearly
    chance of leaving of each cell (B, G), each group's yearly net immigration (G,) and the
    yearly entrants: the yearly net immigration, the mean yearly chance of leaving and the
    yearly inflow (entrants plus immigration), each a share of the population. Compiled:
    numpy's numbers for fewer than 16 groups (:func:`numpy_sum`, :func:`small_dot`; the
    profiles have 6 and 7); with more, the immigration's dot product is still its terms
    fused one after another, which numpy's BLAS may sum otherwise in the last bits."""
    bands, groups = cells.shape
    composition = first_axis_sums(cells) / persons
    weighted = np.empty(bands * groups)
    for b in range(bands):
        for g in range(groups):
            weighted[b * groups + g] = cells[b, g] * hazard[b, g]
    immigration = small_dot(composition, immigrants)
    return immigration, numpy_sum(weighted) / persons, entrants + immigration


def thinning(mean_hazard: float, inflow: float) -> float:
    """The uniform thinning rate that keeps a fixed number of rows a representative sample
    of a growing population: the rate it grows at, max(0, inflow - mean hazard)."""
    return max(0.0, inflow - mean_hazard)


def leave_chance(hazard: Array, thinning: float, years: float) -> Array:
    """Chance of leaving within ``years`` at a yearly ``hazard`` (mortality of the age band,
    emigration of the group) plus the population's :func:`thinning`: 1 - exp(-rate x years)."""
    return 1.0 - np.exp((hazard + thinning) * -years)  # -(x) y is x (-y), to the bit


@numba.njit(**_JIT)
def age_one_month(age_months, band, ethnicity, floors, oldest, groups, turning):
    """Everyone ages a month, in one pass: ``age_months`` and ``band`` (the index of the last
    of ``floors``, in months, at or below the age) are updated in place. Returns the rows
    whose band changed, the rows that would pass ``oldest`` months within the next month, the
    count of persons in each (band, group) cell (bands x ``groups``), and the rows that turn
    ``turning`` months old this month (each list in row order)."""
    n = age_months.size
    top = floors.size - 1
    k = m = t = 0
    for i in range(n):  # counted first: the rows' arrays are then no larger than needed
        age = age_months[i] + 1
        k += band[i] < top and age >= floors[band[i] + 1]
        m += age + 1 > oldest
        t += age == turning
    moved = np.empty(k, np.int64)
    over = np.empty(m, np.int64)
    turned = np.empty(t, np.int64)
    cells = np.zeros((floors.size, groups), np.int64)
    k = m = t = 0
    for i in range(n):
        age = age_months[i] + 1
        age_months[i] = age
        b = band[i]
        if b < top and age >= floors[b + 1]:
            b += 1
            band[i] = b
            moved[k] = i
            k += 1
        if age + 1 > oldest:
            over[m] = i
            m += 1
        if age == turning:
            turned[t] = i
            t += 1
        cells[b, ethnicity[i]] += 1
    return moved, over, cells, turned


@numba.njit(**_JIT)
def month_of_ageing(
    age_months, band, ethnicity, floors, oldest, groups, turning, hazard, immigrants, entrants
):  # fmt: skip
    """:func:`age_one_month`, then :func:`population_flows` of its cells, in one call: the
    rows whose band changed, the rows past ``oldest`` within the next month, the rows
    turning ``turning`` months old, and the yearly net immigration, mean chance of leaving
    and inflow, each a share of the population."""
    moved, over, cells, turned = age_one_month(
        age_months, band, ethnicity, floors, oldest, groups, turning
    )
    flows = population_flows(cells, age_months.size, hazard, immigrants, entrants)
    return moved, over, turned, flows[0], flows[1], flows[2]


@numba.njit(**_JIT)
def elite_turnover(band, group, elites, hazard, immigrants, entrants):
    """The share of the elites (at the rows ``elites``, one or more) replaced in a year:
    their mean yearly chance of leaving, ``hazard`` of their age band and group (numpy's
    mean: :func:`numpy_sum` over them), plus the uniform :func:`thinning` of the whole
    population's flows (:func:`population_flows` of everyone's count by age band and
    group, ``band`` and ``group``), in one pass."""
    bands, groups = hazard.shape
    cells = np.zeros((bands, groups), np.int64)
    for i in range(band.size):
        cells[band[i], group[i]] += 1
    _, mean_hazard, inflow = population_flows(cells, band.size, hazard, immigrants, entrants)
    values = np.empty(elites.size)
    for k in range(elites.size):
        values[k] = hazard[band[elites[k]], group[elites[k]]]
    growth = inflow - mean_hazard  # thinning: max(0.0, growth), as Python takes it
    return numpy_sum(values) / elites.size + (growth if growth > 0.0 else 0.0)


def bernoulli_rows(rng: np.random.Generator, n: int, top: float, chance_of) -> NDArray[np.int64]:
    """The rows of ``n`` that succeed in independent Bernoulli draws, row i with chance
    ``chance_of(rows)[i]``, each at most ``top``: a uniform random set of rows drawn at
    chance ``top`` (its size binomial), each kept with its own chance over ``top``. The same
    law as one draw per row, at a cost that grows with the successes, not the rows. (The
    run draws its leavers so, in one compiled pass: :func:`leavers`.)"""
    top = min(top, 1.0)
    if top <= 0.0 or n == 0:
        return np.empty(0, np.int64)
    rows = np.sort(rng.choice(n, rng.binomial(n, top), replace=False))
    return rows[rng.random(rows.size) * top < chance_of(rows)]


@numba.njit(**_JIT)
def rows_drawn(rng, n, k):
    """``k`` of the rows 0 to ``n`` - 1, drawn uniformly without replacement, sorted: the
    rows ``np.sort(rng.choice(n, k, replace=False))`` gives, from the same draws, and the
    stream ends where it would. numpy's ``Generator.choice`` draws them by Floyd's algorithm
    and then shuffles them, or, from more than 10,000 rows and more than a fiftieth of them,
    by shuffling the tail of all the rows; each draw is ``rng.integers(0, i + 1)``
    (tests/test_rules.py checks both against numpy's). The rows drawn are marked a bit a
    row, and read back in order."""
    drawn = np.zeros((n + 7) // 8, np.uint8)
    if n > 10000 and k > n // 50:  # the tail of a shuffle of all the rows
        rows = np.arange(n)
        for i in range(n - 1, max(n - k, 1) - 1, -1):
            j = rng.integers(0, i + 1)
            rows[i], rows[j] = rows[j], rows[i]
        for i in range(n - k, n):
            drawn[rows[i] >> 3] |= 1 << (rows[i] & 7)
    else:  # Floyd's algorithm: the t-th draw is below n - k + t, or that row if drawn before
        for t in range(k):
            last = n - k + t
            row = rng.integers(0, last + 1)
            if drawn[row >> 3] & (1 << (row & 7)):
                row = last
            drawn[row >> 3] |= 1 << (row & 7)
        for i in range(k - 1, 0, -1):  # numpy's shuffle of them: its draws (sorted after)
            rng.integers(0, i + 1)
    out = np.empty(k, np.int64)
    t = 0
    for byte in range(drawn.size):  # the marked rows, in order
        if drawn[byte]:
            for bit in range(8):
                if drawn[byte] & (1 << bit):
                    out[t] = 8 * byte + bit
                    t += 1
    return out


@numba.njit(**_JIT)
def leavers(stream, top, chance, band, group, over):
    """The month's leavers, sorted, drawn in one pass: the rows :func:`bernoulli_rows` keeps
    at ``top`` with the chance of each row's (age band ``band``, group ``group``) cell in
    ``chance``, merged with the sorted rows ``over`` the oldest age. The same numbers as
    :func:`bernoulli_rows` draws with numpy's ``binomial``, ``choice`` (:func:`rows_drawn`)
    and ``random`` from the stream whose handle is ``stream``
    (:func:`sim.model.streams.handle`), and the stream ends where it would."""
    rng = generator(stream)
    n = band.size
    if top != top:  # as numpy's binomial refuses it
        raise ValueError("the chance of leaving is NaN")
    top = min(top, 1.0)
    if top > 0.0 and n > 0:
        candidates = rows_drawn(rng, n, rng.binomial(n, top))
    else:
        candidates = np.empty(0, np.int64)
    kept = np.empty(candidates.size + over.size, np.int64)
    k = 0
    j = 0
    for c in range(candidates.size):  # a uniform draw a candidate, in row order
        row = candidates[c]
        if rng.random() * top >= chance[band[row], group[row]]:
            continue
        while j < over.size and over[j] < row:
            kept[k] = over[j]
            k += 1
            j += 1
        if j < over.size and over[j] == row:
            j += 1
        kept[k] = row
        k += 1
    while j < over.size:
        kept[k] = over[j]
        k += 1
        j += 1
    return kept[:k]


@numba.njit(**_JIT)
def ties_drawn(stream, rows, urban, ties_weight, flows, ties):
    """The ties of the persons at ``rows`` who come back from their studies (docs/ODD.md
    §7.13): the tie to power p is held where a uniform draw is below the area's weight (1.5
    in towns, 0.5 elsewhere, over ``ties_weight``) times ``flows[p]``. The draws are
    ``rng.random((rows.size, P))`` from the stream whose handle is ``stream``
    (:func:`sim.model.streams.handle`), and the stream ends where it would."""
    rng = generator(stream)
    for k in range(rows.size):
        i = rows[k]
        weight = (1.5 if urban[i] else 0.5) / ties_weight
        for p in range(flows.size):
            ties[i, p] = rng.random() < weight * flows[p]


# --- the powers' side -----------------------------------------------------------------------


@numba.njit(inline="always", **_JIT)
def over_capacity(values, channels):
    """The powers whose effort (the first ``channels`` columns of ``values``, (P, >C))
    sums above their capacity (the last column), each sum in the channels' order, as
    numpy sums fewer than eight numbers; NaN counts as over, as ``not total <= capacity``."""
    over = []
    for k in range(values.shape[0]):
        total = 0.0
        for c in range(channels):
            total += values[k, c]
        if not total <= values[k, -1]:
            over.append(k)
    return over


@numba.njit(**_JIT)
def emitted(values, screening, rows, channels):
    """The powers over capacity (:func:`over_capacity`), and each power's signal per unit
    of effort, efficiency x presence x (1 - screening), and its signal, that times effort
    (P, C each): ``values`` holds each power's effort, presence (C each), efficiency and
    capacity; ``screening`` the state's (P', C), of which power k's row is ``rows[k]``.
    The signals stand if no power is over; else the caller fits the efforts of those over
    and multiplies their units by them."""
    powers = values.shape[0]
    units = np.empty((powers, channels))
    signals = np.empty((powers, channels))
    for k in range(powers):
        efficiency = values[k, 2 * channels]
        for c in range(channels):
            unit = unit_signal(efficiency, values[k, channels + c], screening[rows[k], c])
            units[k, c] = unit
            signals[k, c] = unit * values[k, c]
    return over_capacity(values, channels), units, signals


@numba.njit(**_JIT)
def fit_capacity(effort, capacity, free):
    """Scale effort down to capacity, taking it from the free channels first (those no
    scenario ramp holds); if the held channels alone exceed capacity, scale everything. A
    new array (C,); each sum over the channels in their order, as numpy sums fewer than
    eight numbers (a power has seven channels, fixed by the schema)."""
    total, held, spare = 0.0, 0.0, 0.0
    for c in range(effort.size):
        total += effort[c]
        if free[c]:
            spare += effort[c]
        else:
            held += effort[c]
    fitted = effort.copy()
    if total <= capacity:
        return fitted
    room = capacity - held
    if room <= 0 or not free.any():
        return effort * capacity / total
    scale = room / spare
    for c in range(effort.size):
        if free[c]:
            fitted[c] *= scale
    return fitted
