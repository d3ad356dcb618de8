"""The monthly passes over persons split between threads: the same seed gives the same
results to the bit whatever the number of threads (sim.model.threads)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from conftest import assert_refused, invoke, tiny_model
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model import rules, threads


def _tables(model) -> list[pd.DataFrame]:
    return [model.timeseries(), model.groups(), model.channels(), model.persons()]


@pytest.fixture
def small_blocks(monkeypatch):
    """Parts of 40 rows and sums in blocks of 50, so the tiny scenario's 300 persons are
    shared between threads."""
    monkeypatch.setattr(threads, "ROWS_PER_THREAD", 40)
    monkeypatch.setattr(threads, "SUM_BLOCK", 50)


def test_results_do_not_depend_on_the_number_of_threads(small_blocks):
    runs = {}
    for number in (1, 2, 3):
        with threads.using(number):
            runs[number] = _tables(tiny_model(seed=11).run_to())
    for number in (2, 3):
        for one, many in zip(runs[1], runs[number], strict=True):
            pd.testing.assert_frame_equal(one, many, check_exact=True)


@pytest.mark.parametrize("block", [1, 7, 64])
def test_parts_cover_every_row_once_and_start_on_a_block(small_blocks, block):
    """Each row is in exactly one part, whatever the rows and threads, and every part
    starts at a multiple of the block."""

    def mark(first, last, out, starts):
        out[first:last] += 1
        starts.append(first)

    for rows in (0, 1, 39, 40, 81, 300, 1001):
        for number in (1, 2, 3, 7):
            out, starts = np.zeros(rows, np.int64), []
            with threads.using(number):
                threads.over_rows(mark, rows, out, starts, block=block)
            assert np.all(out == 1), (rows, number)
            assert all(first % block == 0 for first in starts), starts


def test_the_environment_sets_the_number(monkeypatch):
    monkeypatch.setenv(threads.VARIABLE, "3")
    assert threads.count() == 3
    monkeypatch.delenv(threads.VARIABLE)
    assert threads.count() == threads.available()


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5", "1_000", "\u0663", "257"])
def test_a_bad_number_of_threads_is_refused(monkeypatch, value):
    """By the command line before any work (exit 2, no traceback), and by the model when
    it is built."""
    monkeypatch.setenv(threads.VARIABLE, value)
    with pytest.raises(ValueError, match=threads.VARIABLE):
        threads.count()
    assert_refused(invoke("scenarios"), threads.VARIABLE, "whole number")
    with pytest.raises(ValueError, match=threads.VARIABLE):
        tiny_model()


def test_a_choice_of_threads_holds_for_its_own_thread_only():
    """A worker running a task on one thread leaves the others' number alone."""
    import threading

    seen = []
    with threads.using(3):
        worker = threading.Thread(target=lambda: seen.append(threads.count()))
        worker.start()
        worker.join()
        assert threads.count() == 3
    assert seen == [threads.count()]


@pytest.mark.parametrize("sample", [None, np.arange(7, 300, 2)])
def test_marginal_gains_follow_the_rule(small_blocks, sample):
    """The compiled pass of the channel values, in blocks of 50 on three threads, gives
    :func:`rules.marginal_gain` of the persons' attitudes (the numpy definition), over
    everyone or a sample."""
    model = tiny_model(seed=3).run_to("2016-06")
    public, params = model.public, model.params
    rows = np.arange(public.size) if sample is None else sample
    terms = public.attitudes(params, rows)
    outlets = public.outlet_access(params)
    expected = (
        rules.marginal_gain(
            terms.receptivity,
            public.persons.attraction[rows].astype(np.float64),  # the rule in double precision
            terms.access,
            public.persons.engagement[rows],
            public.gated,
            None if outlets is None else outlets[rows],
            public.outlet_channel,
        )
        / rows.size
    )
    with threads.using(3):
        gains = public.marginal_gains(params, sample)
    np.testing.assert_allclose(gains, expected, rtol=1e-12)


def test_marginal_gains_follow_the_rule_through_outlets(small_blocks):
    """With the Kazakhstan outlets and a power no outlet names (its media then reach through
    language: NaN in the diets' outlet access), the compiled pass still gives the numpy
    definition, whose outlet access is the persons' own (:meth:`Public.outlet_access`)."""
    from sim.inputs.scenario import load_with_profile
    from sim.model.model import MultivectorModel

    india = {"prestige": 0.5, "efficiency": 0.5, "message": {}, "languages": {"en": 0.5},
             "capacity": 1.0, "effort": {"media": 0.5}, "presence": {"media": 0.3}}  # fmt: skip
    spec, profile, _ = load_with_profile("baseline", {"run.population": 400, "powers.India": india})
    model = MultivectorModel(spec, profile).run_to("2015-06")
    public, params = model.public, model.params
    outlets = public.outlet_access(params)
    india_column = model.powers.index("India")
    assert np.isnan(public.persons.media_access[:, india_column]).all()
    assert not np.isnan(outlets).any()  # the numpy definition reads language access there
    terms = public.attitudes(params)
    expected = (
        rules.marginal_gain(
            terms.receptivity,
            public.persons.attraction.astype(np.float64),  # the rule in double precision
            terms.access,
            public.persons.engagement,
            public.gated,
            outlets,
            public.outlet_channel,
        )
        / public.size
    )
    with threads.using(3):
        gains = public.marginal_gains(params)
    np.testing.assert_allclose(gains, expected, rtol=1e-12)
    assert gains[india_column, public.outlet_channel] > 0


def test_the_months_measures_are_the_persons_means(small_blocks):
    """The one pass over persons, in parts of 40 on three threads, gives the means of
    everyone, the elites and the NGO-linked, the mean identity and the poll's shares as
    numpy and the survey's answer function give them."""
    from sim.model import measures, survey

    model = tiny_model(seed=5).run_to("2016-06")
    persons, s = model.public.persons, model.params.survey
    a = persons.attraction.astype(np.float64)  # summed in double precision, as the pass
    with threads.using(3):
        model.public.revision += 1  # measured afresh
        public, elite, advocacy = measures.audiences(model)
        np.testing.assert_allclose(public, a.mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(elite, a[persons.elite].mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(advocacy, a[persons.ngo].mean(axis=0), rtol=1e-12)
        assert measures.identity(model) == pytest.approx(persons.identity.mean(), rel=1e-12)
        favourable = survey.favourable(a, s.favourable_cut, s.spread).mean(axis=0)
        np.testing.assert_allclose(measures.favourable(model), favourable, atol=1e-6)


def test_the_sums_the_renewal_mends_are_those_of_a_new_pass(small_blocks, monkeypatch):
    """The month's sums are made as the update ends and kept; the renewal takes out the
    part of every person it changes and puts it back once changed. Month after month, on
    one thread and on three, they are what a new pass over everyone gives, to the bit, in
    months where newcomers came and roles passed on; and a month makes one pass over
    everyone, the update's: the renewal mends it, and the advice and records take it."""
    from sim.inputs.scenario import load_with_profile
    from sim.model import measures
    from sim.model.model import MultivectorModel
    from sim.model.public import Public

    passed, passes = [], []
    pick, whole = Public._pick_eligible, measures.sums_of_rows

    def picking(self, flag, count, rng):
        passed.append(flag)
        return pick(self, flag, count, rng)

    def counted(first, *arguments):
        passes.append(first == 0)  # a pass's first part
        return whole(first, *arguments)

    monkeypatch.setattr(Public, "_pick_eligible", picking)
    monkeypatch.setattr(measures, "sums_of_rows", counted)
    scenario, profile, _ = load_with_profile(
        "baseline", {"run.population": 2000, "run.burn_in": 0, "population.elite_share": 0.2}
    )
    for number in (1, 3):
        with threads.using(number):
            model = MultivectorModel(scenario, profile, seed=4, until="2018-12")
            public = model.public
            while model.month < model.last_month:  # four years
                passes.clear()
                model.step()
                assert sum(passes) == 1
                revision, table, sums, answers = public._sums  # kept from the update, mended
                assert revision == public.revision
                public._sums = None
                fresh, fresh_answers = public.sums(table)
                np.testing.assert_array_equal(sums, fresh)
                np.testing.assert_array_equal(answers, fresh_answers)
    assert {"elite", "ngo"} <= set(passed)  # both roles passed on to persons drawn


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 1, width=32),
            st.floats(0, 1, width=32),
            st.floats(0, 1),
            st.booleans(),
            st.booleans(),
        ),
        min_size=1,
        max_size=60,
    ),
    st.data(),
)
def test_sums_of_whole_numbers_split_and_mend_exactly(persons, data):
    """The measures' sums are whole numbers: summed in any two parts they are the whole
    pass's, a person's part taken out and put back leaves them as they were, and they are
    the means numpy gives to within 2**-40 a person."""
    from sim.model import measures

    attraction = np.array([p[:2] for p in persons], np.float32)
    identity = np.array([p[2] for p in persons])
    elite = np.array([p[3] for p in persons])
    ngo = np.array([p[4] for p in persons])
    table = measures.poll_table(SimpleNamespace(favourable_cut=0.4, approval_cut=0.6, spread=0.03))
    arrays = (attraction, elite, ngo, identity, table)
    n = len(persons)
    whole, whole_answers = measures.sums_of_rows(0, n, *arrays)
    cut = data.draw(st.integers(0, n))
    (a, a_answers), (b, b_answers) = (
        measures.sums_of_rows(*rows, *arrays) for rows in ((0, cut), (cut, n))
    )
    np.testing.assert_array_equal(a + b, whole)
    np.testing.assert_array_equal(a_answers + b_answers, whole_answers)
    rows = np.array(data.draw(st.lists(st.integers(0, n - 1), unique=True)), np.int64)
    sums, answers = whole.copy(), whole_answers.copy()
    measures.count_rows(rows, -1, *arrays, sums, answers)
    measures.count_rows(rows, 1, *arrays, sums, answers)
    np.testing.assert_array_equal(sums, whole)
    np.testing.assert_array_equal(answers, whole_answers)
    scaled = whole / measures.FIXED
    np.testing.assert_allclose(scaled[0, :2], attraction.astype(float).sum(axis=0), atol=1e-12 * n)
    assert scaled[0, 3] == pytest.approx(identity.sum(), abs=1e-12 * n)
    assert whole[1, 2] == elite.sum() and whole[2, 2] == ngo.sum()
    # each person's chance of each answer, the table interpolated at their attraction
    cuts, grid = np.array([0.4, 0.6]), np.ascontiguousarray(table.T)  # (2, grid + 1)
    interpolated = rules.shares_on_table(attraction, cuts, 0.03, grid) * n
    np.testing.assert_allclose(whole_answers / measures.FIXED, interpolated, atol=1e-12 * n)


def test_the_measures_see_a_change_made_within_the_month():
    """A shock between two months (the dashboard's button) shows in the month's measures."""
    from sim.model import measures

    model = tiny_model(seed=5).run_to("2016-06")
    before = measures.attraction(model)[0]
    model.public.shock(0, 0.5, np.ones(model.public.size, bool))
    assert measures.attraction(model)[0] == pytest.approx(
        model.public.persons.attraction[:, 0].mean()
    )
    assert measures.attraction(model)[0] > before


def _copy_goes_on_alike(copied: str, until: str) -> None:
    """A model on two threads, copied at ``copied``: the copy and the model both run to
    ``until`` and give the same tables to the bit."""
    import copy

    with threads.using(2):
        model = tiny_model(seed=8).run_to(copied)
        twin = copy.deepcopy(model)
        model.run_to(until)
        twin.run_to(until)
    for one, other in zip(_tables(model), _tables(twin), strict=True):
        pd.testing.assert_frame_equal(one, other, check_exact=True)


def test_a_model_drawing_ahead_can_be_copied(small_blocks):
    """A copy taken while next month's draws are being made ahead goes on as the model does."""
    _copy_goes_on_alike("2016-03", "2016-12")


def test_a_copy_waits_for_the_draws_being_made(monkeypatch):
    """A copy taken while next month's exposure is still being drawn on another thread
    copies the stream once the draw is done: both go on alike (fails if the stream is
    copied first, as the model's attributes come in order, before the draw). The update
    is shared between threads; the month's sums are not, so nothing else waits for the
    draw before the copy."""
    import time

    monkeypatch.setattr(threads, "ROWS_PER_THREAD", 40)
    made_ahead = threads.ahead

    def slowly(rows, work, *arguments, **options):
        def late(*a, **k):
            time.sleep(0.2)  # the copy starts before the draw
            return work(*a, **k)

        return made_ahead(rows, late, *arguments, **options)

    monkeypatch.setattr(threads, "ahead", slowly)
    _copy_goes_on_alike("2016-03", "2016-06")


def test_the_groups_table_is_the_groups_means(small_blocks):
    """The yearly table by group, in blocks of 50 on three threads: each group's persons,
    mean attraction and favourable share as numpy and the survey's answer function give
    them (the share to the table's 1e-6)."""
    from sim.model import measures, survey

    model = tiny_model(seed=5).run_to("2016-06")
    persons, s = model.public.persons, model.params.survey
    with threads.using(3):
        month = measures.group_month(model)
        labels = persons.labels
        table = pd.DataFrame(measures.group_rows([month], labels, tuple(model.powers)))
    rows = table[(table.dimension == "area") & (table.power == model.powers[0])]
    for _, row in rows.iterrows():
        members = persons.codes("area") == persons.labels["area"].index(row.group)
        a = persons.attraction[members, 0].astype(np.float64)
        assert row.persons == members.sum()
        assert row.attraction == pytest.approx(a.mean(), rel=1e-12)
        favourable = survey.favourable(a, s.favourable_cut, s.spread).mean()
        assert row.favourable == pytest.approx(favourable, abs=1e-6)


def test_draws_made_ahead_follow_each_stream(small_blocks):
    """Updates alternating between two exposure streams give the same numbers on one
    thread as on two (where the masks are drawn ahead on the spare thread): masks drawn
    ahead for one stream are kept for it while the other is used."""
    results = []
    for number in (1, 2):
        with threads.using(number):
            model = tiny_model(seed=4)
            public, params = model.public, model.params
            first, second = np.random.default_rng(1), np.random.default_rng(2)
            incidents = np.random.default_rng(3)
            for stream in (first, second, first, first, second):
                public.update(params, model.signals(), 0.0, stream, incidents)
            results.append(public.persons.attraction.copy())
    np.testing.assert_array_equal(results[0], results[1])


def test_exposure_made_ahead_follows_persons_changed_before_the_update(small_blocks):
    """Next month's exposure is drawn ahead with persons' engagement as it stands; the
    month's renewal lists the rows it may change, and the update draws their exposure
    again. If persons change otherwise before the update (here, between steps: roles
    flipped, their engagement recomputed, the change counted in ``Public.revision``),
    everyone's is drawn again: the same numbers on one thread and on two."""
    from sim.model.population import refresh_engagement

    results = []
    for number in (1, 2):
        with threads.using(number):
            model = tiny_model(seed=8)
            for month in range(6):
                model.step()
                if month % 2:
                    continue
                persons = model.public.persons
                rows = np.arange(month, persons.size, 5)
                persons.elite[rows] = ~persons.elite[rows]
                refresh_engagement(persons, rows)
                model.public.revision += 1
            results.append(_tables(model))
    for one, two in zip(*results, strict=True):
        pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_the_update_reads_draws_below_the_engagement_persons_have_then(small_blocks, monkeypatch):
    """The masks the update reads are draws below each person's engagement at the update:
    the draws made ahead (at the end of last month's update) for persons the renewal left
    as they were, and draws of their own, made at the update, for those it listed."""
    from concurrent.futures import Future

    model = tiny_model(seed=3)
    public = model.public
    persons = public.persons
    drawn_ahead, made = public._draw_ahead, public._exposure_masks
    states, checked = [], []

    def drawing_ahead(rng):
        states.append(rng.bit_generator.state)  # where the stream stood
        drawn_ahead(rng)

    def checking(rng):
        pending, changed = public._pending, public._renewed
        unchanged = public.revision == public._ahead_revision  # else (a shock) all again
        masks = made(rng)
        if pending is not None and pending[0] is rng:
            stream = np.random.Generator(type(rng.bit_generator)())
            stream.bit_generator.state = states[-1]
            shape = (public.size, public.gated.size)
            uniforms = stream.random(shape, dtype=np.float32)
            rows = np.unique(changed) if unchanged else np.arange(public.size)
            uniforms[rows] = stream.random((rows.size, shape[1]), dtype=np.float32)
            assert isinstance(pending[1], Future)  # drawn on the spare thread
            chances = persons.engagement_table[persons.engagement_cell]
            bits = (masks[:, None] >> np.arange(public.gated.size)) & 1
            np.testing.assert_array_equal(bits.astype(bool), uniforms < chances)
            checked.append(rows.size)
        return masks

    monkeypatch.setattr(public, "_draw_ahead", drawing_ahead)
    monkeypatch.setattr(public, "_exposure_masks", checking)
    with threads.using(2):
        model.run_to("2017-12")
    assert len(checked) > 30
    assert sum(size > 0 for size in checked) > 10  # months the renewal changed persons in


def test_a_pass_does_not_wait_for_work_started_ahead(small_blocks):
    """While the spare thread works ahead, a pass runs its parts on the other threads (here,
    all in one part on this one) instead of queueing one behind that work; once the work is
    done, the pass is shared again."""
    import threading
    import time

    parts = []

    def kernel(first, last):
        parts.append((first, last))

    deadline = time.monotonic() + 30
    while threads._ahead and time.monotonic() < deadline:  # earlier tests' work ahead
        time.sleep(0.01)
    release = threading.Event()
    with threads.using(2):
        future = threads.ahead(400, release.wait)
        assert future is not None
        threads.over_rows(kernel, 400)
        busy, parts[:] = list(parts), []
        release.set()
        future.result()
        threads.over_rows(kernel, 400)
    assert busy == [(0, 400)]
    assert sorted(parts) == [(0, 200), (200, 400)]


def test_work_started_ahead_has_started_when_ahead_returns(small_blocks):
    """ahead returns once its work has started on the spare thread (here, a pool thread
    already waiting for work), so the work does not wait for the caller to let go of
    Python's lock, which a month's Python may hold for milliseconds."""
    import threading

    with threads.using(2):
        threads.ahead(400, int).result()  # the pool's thread is up and waiting
        for _ in range(20):
            started, release = threading.Event(), threading.Event()

            def work(started=started, release=release):
                started.set()
                release.wait()

            future = threads.ahead(400, work)
            assert future is not None
            assert future.running() or future.done()
            release.set()
            future.result()
            assert started.is_set()


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")  # what is tested
def test_a_process_forked_while_draws_are_made_ahead_goes_on(small_blocks, monkeypatch):
    """A fork waits for work started ahead: the child has none of the parent's threads,
    and would wait forever for draws being made on one (a pool of worker processes forks
    so on Linux)."""
    import os
    import time

    made_ahead = threads.ahead

    def slowly(rows, work, *arguments, **options):
        def late(*a, **k):
            time.sleep(0.3)  # the fork comes while the draw is being made
            return work(*a, **k)

        return made_ahead(rows, late, *arguments, **options)

    monkeypatch.setattr(threads, "ahead", slowly)
    with threads.using(2):
        model = tiny_model(seed=3).run_to("2015-03")
        pid = os.fork()
        if pid == 0:  # the child: one more month, then out at once
            code = 1
            try:
                model.step()
                code = 0
            finally:
                os._exit(code)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked process waited for draws no thread of its own was making")
    assert os.waitstatus_to_exitcode(status) == 0
