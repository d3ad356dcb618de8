"""The ``multivector`` command line."""

from __future__ import annotations

import gc
import json
import os
import re
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

# One BLAS thread unless the user asked for more: the model's matrix products are small
# (persons x channels by channels x powers), and threads there cost more CPU than they save
# (a 100,000-person run used a third less CPU time with one). Set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sim.inputs.assignments import parse_assignments
from sim.inputs.errors import COMMAND_LINE, ScenarioError, refuse
from sim.inputs.limits import MAX_REPS
from sim.inputs.reading import check_path_argument
from sim.inputs.scenario import (
    DEFAULT_SCENARIO,
    load_with_profile,
    read_toml,
    shipped_scenarios,
)
from sim.inputs.schema import FEWEST_PERSONS, check_month, month_name
from sim.model import threads

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # reflows docstring paragraphs in --help
)
out_console = Console()
err_console = Console(stderr=True)


def _print_version(asked: bool) -> None:
    if asked:
        from sim.experiments.provenance import package_version, source_commit

        commit = source_commit()
        out_console.print(
            f"multivector {package_version()}" + (f" (commit {commit})" if commit else ""),
            highlight=False,
        )
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Soft power of great powers on a middle state, and how it balances them (an agent-based
    model of Kazakhstan, built on Mesa).

    A run of 10,000 persons or more shares its work between the cores, 5,000 persons or
    more each; set MULTIVECTOR_THREADS=N to use at most N threads. The results are the
    same whatever N."""
    try:
        threads.count()  # a bad MULTIVECTOR_THREADS is refused before any work
    except ValueError as err:
        raise fail(refuse("environment", "", str(err))) from None


def entry() -> None:
    """The ``multivector`` command (``[project.scripts]``): :data:`app`, then a quick exit.

    The objects a command leaves live until the process ends, and the interpreter's last
    garbage collections would walk every one of them (0.2-0.4 s after a run, a fifth of
    the command's time: Python's shutdown collects more than once). ``gc.freeze`` moves
    them out of the collector's reach first. Objects are still freed by their counts as the
    modules are torn down; only objects in reference cycles are left to the operating
    system, and the command closes every file it writes before it returns. Only here,
    never in :data:`app`, which tests and notebooks call in a process that goes on."""
    try:
        app()
    finally:
        gc.freeze()


def fail(error: ScenarioError) -> typer.Exit:
    """Print every problem of a user's input plainly and exit with status 2."""
    for problem in error.problems:
        err_console.print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def needs_extra(extra: str, *modules: str) -> None:
    """Exit with status 2 and one line naming the extra to install, if a module that a
    command needs is missing (the core install leaves out the dashboard, Dask and the EMA
    Workbench)."""
    from importlib.util import find_spec

    from rich.markup import escape

    if all(find_spec(module) is not None for module in modules):
        return
    install = escape(f"pip install 'multivector[{extra}]'")  # brackets are rich markup
    err_console.print(
        f"[bold red]error:[/] this needs the {extra} extra: {install}",
        highlight=False,
        soft_wrap=True,
    )
    raise typer.Exit(2)


@contextmanager
def _writing():
    """Writing outputs: a full disk or a folder gone read-only is one line (the path and
    the reason) and exit status 2, never a traceback; what was there is left intact."""
    try:
        yield
    except ScenarioError as err:
        raise fail(err) from None


def command_line_overrides(
    sets: list[str] | None, seed: int | None, population: int | None, profile: str | None = None
) -> dict[str, Any]:
    """Dotted-path overrides from --set, --seed, --population and --profile."""
    overrides = parse_assignments(sets or [])
    if seed is not None:
        overrides["run.seed"] = seed
    if population is not None:
        overrides["run.population"] = population
    if profile is not None:
        overrides["run.profile"] = profile
    return overrides


# Options that run and compare share.
Seed = Annotated[int | None, typer.Option(help="Root seed (default: the scenario's run.seed).")]
Until = Annotated[
    str | None, typer.Option(metavar="YYYY-MM", help="Stop at this month (default: run.end).")
]
Population = Annotated[int | None, typer.Option(help="Number of synthetic persons.")]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME_OR_PATH",
        help="Country profile: a shipped name or a .toml file (default: the scenario's).",
    ),
]
Sets = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="PATH=VALUE",
        help="Override a parameter, e.g. state.balance_strength=0.5 (repeatable).",
    ),
]
Reps = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=MAX_REPS,
        help="Run an ensemble of this many runs, seeds spawned from the root seed.",
    ),
]
PosteriorFile = Annotated[
    Path | None,
    typer.Option(
        "--posterior",
        metavar="FILE",
        help="With --reps: each run takes the parameter values of a row of this posterior "
        "sample (the posterior.csv of calibrate --method smc or abc, or 'kazakhstan', the "
        "shipped one), drawn with replacement and seeded by the root seed; the band then "
        "spans parameter uncertainty and seed noise. A --set of the same parameter wins.",
    ),
]
Workers = Annotated[
    int | None, typer.Option(min=1, help="Processes for an ensemble (default: every core).")
]
Overwrite = Annotated[
    bool, typer.Option("--overwrite", help="Replace a results folder multivector wrote.")
]
Quiet = Annotated[bool, typer.Option("--quiet", help="No progress bars and no tables.")]


@app.command()
def run(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help="Scenario file or shipped scenario name.", show_default=DEFAULT_SCENARIO
        ),
    ] = None,
    seed: Seed = None,
    until: Until = None,
    population: Population = None,
    profile: ProfileOption = None,
    snapshot: Annotated[
        list[str] | None,
        typer.Option(
            metavar="YYYY-MM",
            help="Also write person-level data at this month (repeatable; every run's with "
            "--reps). With two or more, changes.csv: the answers to 'has your attitude "
            "changed?' between each pair of consecutive dates (plot --kind changes).",
        ),
    ] = None,
    set_: Sets = None,
    reps: Reps = None,
    posterior: PosteriorFile = None,
    workers: Workers = None,
    out: Annotated[
        Path | None, typer.Option(help="Results folder (default: results/SCENARIO-UTCTIME).")
    ] = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Run a scenario (the baseline by default) and write its tables, figure and manifest.

    With --reps N, run an ensemble: N runs in parallel whose seeds are the children of one
    root seed, with the median and 5-95 % band of every measure in summary.csv. With
    --posterior too, each run also takes its parameters from a row of a posterior sample.
    """
    from sim.experiments import runner
    from sim.results import writing as output

    started = datetime.now(UTC)
    try:
        _month("--until", until)
        overrides = command_line_overrides(set_, seed, population, profile)
        plan = runner.plan(scenario, overrides=overrides, until=until, snapshots=snapshot)
        _draw_parameters(plan, posterior, reps)
        destination = out or output.default_out_dir(plan, started)
        output.check_out_dir(destination, overwrite)
    except ScenarioError as err:
        raise fail(err) from None
    result = _execute(plan, reps, workers, quiet)
    try:
        output.write(result, plan, destination, started, overwrite)
    except ScenarioError as err:  # a full disk, a folder gone read-only: one line
        raise fail(err) from None
    _warn(result.warnings, plan.file)
    if not quiet:
        dates = result.timeseries["date"]
        _print_summary(output.summary(result.timeseries), dates.iloc[0], dates.iloc[-1])
    out_console.print(f"results written to {destination}", highlight=False, soft_wrap=True)


def _draw_parameters(plan, posterior: Path | None, reps: int | None) -> None:
    """Give ``plan`` a row of the posterior for each of its ``reps`` runs (ScenarioError for
    a posterior without --reps or a file that cannot give them)."""
    if posterior is None:
        return
    if reps is None:
        raise refuse(
            COMMAND_LINE, "--posterior", "needs --reps N: each of the N runs takes a row of it"
        )
    from sim.experiments import draws

    plan.draws = draws.load(posterior, plan.spec, reps, plan.spec.run.seed, set(plan.overrides))


def _execute(plan, reps: int | None, workers: int | None, quiet: bool):
    """One run, or an ensemble of ``reps`` runs, with a progress bar."""
    from sim.experiments import runner

    unit = "months" if reps is None else "runs"
    with _progress(plan.spec.name, unit, quiet, total=reps) as update:
        if reps is None:
            return runner.execute(plan, update)
        from sim.experiments.ensemble import run_ensemble

        return run_ensemble(plan, reps, workers, update)


@contextmanager
def _progress(name: str, unit: str, quiet: bool, total: int | None = None):
    """A progress bar on standard error, from 0 of ``total`` when it is known; yields
    ``update(done, total)``."""
    with Progress(
        TextColumn(f"[bold]{name}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task(unit, total=total)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _print_summary(table, first: str, last: str) -> None:
    view = Table(title=f"{first} -> {last}", title_justify="left")
    view.add_column("power")
    for measure in ("attraction", "favourable", "alignment"):
        view.add_column(measure, justify="right")
    for power, row in table.iterrows():
        view.add_row(
            power,
            *(
                f"{row[f'{m} start']:.2f} -> {row[f'{m} end']:.2f}"
                for m in ("attraction", "favourable", "alignment")
            ),
        )
    _print_table(view)
    vectors = table.iloc[0]
    out_console.print(
        f"effective number of vectors: {vectors['effective_vectors start']:.2f} -> "
        f"{vectors['effective_vectors end']:.2f}",
        highlight=False,
    )
    out_console.print(GLOSSARY, highlight=False)


GLOSSARY = "What the numbers mean: docs/glossary.md"


def _print_table(view: Table) -> None:
    """A table on standard output. Into a pipe or a file it is as wide as its content, so
    no name is cut (``post2022_russia_we…``); a terminal keeps its own width."""
    if out_console.is_terminal:
        out_console.print(view)
        return
    wide = Console(width=100_000).measure(view).maximum
    Console(width=max(80, wide), highlight=False).print(view)


@app.command()
def scenarios() -> None:
    """List the shipped scenarios with a one-line description each."""
    view = Table(show_header=True)
    view.add_column("name")
    view.add_column("description")
    for name, path in shipped_scenarios().items():
        try:
            text = read_toml(path).data.get("description", "")
        except ScenarioError:
            text = "(unreadable)"
        view.add_row(name, _first_sentence(text))
    _print_table(view)


def _first_sentence(text: str) -> str:
    flat = " ".join(str(text).split())
    return re.split(r"(?<=[.?!])\s", flat)[0] if flat else ""


@app.command()
def check(
    files: Annotated[list[str], typer.Argument(help="Scenario files or shipped scenario names.")],
) -> None:
    """Validate scenario files and explain every problem in them (exit status 2 if any).

    Then warn (without failing) about events the powers' capacity would cut: an effort
    raised beyond what a power can spend, or a capacity that never binds (a short run of a
    hundred persons finds them; docs/scenarios.md, "When an event is cut").
    """
    failed = False
    for name in files:
        try:
            spec, profile, resolved = load_with_profile(name)
        except ScenarioError as err:
            failed = True
            for problem in err.problems:
                err_console.print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
            continue
        chain = " <- ".join(str(s.path) for s in resolved.chain)
        out_console.print(
            f"[green]ok[/] {spec.name}: {len(spec.powers)} powers, {len(spec.events)} events, "
            f"{spec.run.start} to {spec.run.end} ({chain})",
            highlight=False,
            soft_wrap=True,
        )
        _warn(_cut_events(spec, profile), resolved.chain[0].path)
    if failed:
        raise typer.Exit(2)


def _cut_events(spec, profile) -> list[str]:
    """Events the powers' capacity would cut: a run of the fewest persons to the last
    event's month (capacity and effort do not depend on the persons' number; the powers'
    adaptation does a little, so a full run may differ at the margin)."""
    from sim.inputs.schema import month_index
    from sim.model.events import WATCHED
    from sim.model.model import MultivectorModel

    watched = [e for e in spec.events if WATCHED.match(getattr(e, "path", ""))]
    if not watched:
        return []
    last = max(month_index(getattr(e, "until", None) or e.date) for e in watched)
    small = spec.model_copy(deep=True)
    small.run.population = FEWEST_PERSONS
    until = min(last + 12, month_index(spec.run.end))  # a year on: room a raise makes
    model = MultivectorModel(small, profile, tables=False, until=month_name(until))
    return model.run_to().cut_events()


def _warn(warnings: list[str], source) -> None:
    """Print warnings about a scenario on standard error (they do not change the status)."""
    for text in warnings:
        err_console.print(
            f"[bold yellow]warning:[/] {source}: {text}", highlight=False, soft_wrap=True
        )


@app.command()
def compare(
    items: Annotated[
        list[str],
        typer.Argument(help="Two or more scenarios (file or shipped name) or results folders."),
    ],
    at: Annotated[
        list[str] | None,
        typer.Option(
            metavar="YYYY-MM", help="Months for the table of differences (default: the last)."
        ),
    ] = None,
    seed: Seed = None,
    until: Until = None,
    population: Population = None,
    profile: ProfileOption = None,
    set_: Sets = None,
    reps: Reps = None,
    posterior: PosteriorFile = None,
    workers: Workers = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder (default: results/compare-UTCTIME).")
    ] = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Run scenarios with the same seeds (or read saved results) and set them side by side.

    Writes each run into a subfolder, comparison.png and differences.csv (each scenario
    against the first, at the months given by --at), and prints the differences. With
    --reps and --posterior, run i of every scenario takes the same row of the posterior.
    """
    from sim.experiments import provenance, runner
    from sim.results import compare as comparing
    from sim.results import saved as results
    from sim.results import writing as output

    started = datetime.now(UTC)
    try:
        if len(items) < 2:
            raise refuse(
                COMMAND_LINE, "SCENARIOS", "give at least two scenarios or results folders"
            )
        _month("--until", until)
        for item in items:
            check_path_argument("SCENARIOS", item)
        overrides = command_line_overrides(set_, seed, population, profile)
        plans = [
            None
            if results.is_results_folder(item)
            else runner.plan(item, overrides=overrides, until=until)
            for item in items
        ]
        if posterior is not None and not any(plans):
            raise refuse(
                COMMAND_LINE, "--posterior", "needs a scenario to run; saved results keep theirs"
            )
        for plan in filter(None, plans):  # the same rows for the same run of every scenario
            _draw_parameters(plan, posterior, reps)
        destination = out or Path("results") / f"compare-{started.strftime('%Y%m%dT%H%M%SZ')}"
        output.check_out_dir(destination, overwrite)
        loaded = {k: results.load(item) for k, item in enumerate(items) if plans[k] is None}
        for date in at or []:  # refuse a bad month before minutes of runs, not after
            for plan in filter(None, plans):
                runner.check_date("--at", date, plan.spec.run.start, plan.until)
            for k, one in loaded.items():
                if date not in set(one.timeseries["date"]):
                    raise refuse(COMMAND_LINE, "--at", f"{date} is not in {items[k]}")
    except ScenarioError as err:
        raise fail(err) from None
    try:  # everything into one staging folder, moved into place when complete
        with output.staged(destination, overwrite) as staging:
            saved = []
            for k, plan in enumerate(plans):
                if plan is None:
                    saved.append(loaded[k])
                    continue
                folder = staging / f"{k + 1}-{plan.spec.name}"
                output.write(_execute(plan, reps, workers, quiet), plan, folder, started)
                saved.append(results.load(folder))
            for warning in comparing.unlike(saved):
                err_console.print(
                    f"[bold yellow]warning:[/] {warning}", highlight=False, soft_wrap=True
                )
            dates = comparing.common_dates(saved)
            for date in at or []:
                if date not in dates:
                    span = f"{dates[0]} to {dates[-1]}" if dates else "none"
                    raise refuse(
                        COMMAND_LINE,
                        "--at",
                        f"{date} is not in every result; common months: {span}",
                    )
            table = comparing.differences(saved, at or dates[-1:])
            output.check_finite(table, destination / "differences.csv")
            table.to_csv(staging / "differences.csv", index=False)
            comparing.figure(saved, staging / "comparison.png", at)
            manifest = {
                **provenance.environment(started),
                "compared": [str(i) for i in items],
                "at": at,
            }
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    except ScenarioError as err:
        raise fail(err) from None
    if not quiet:
        _print_differences(table)
    out_console.print(f"comparison written to {destination}", highlight=False, soft_wrap=True)


def _print_differences(table) -> None:
    wide = table.pivot_table(
        index=["date", "scenario", "power"], columns="measure", values="difference", sort=False
    )
    view = Table(title=f"difference from {table['reference'].iloc[0]}", title_justify="left")
    for column in ("date", "scenario", "power", *wide.columns):
        view.add_column(column, justify="right" if column in wide.columns else "left")
    for (date, scenario, power), row in wide.iterrows():
        view.add_row(date, scenario, power, *(f"{v:+.3f}" for v in row))
    _print_table(view)


@app.command()
def plot(
    folder: Annotated[
        Path, typer.Argument(help="A results folder of 'multivector run', or of a sweep.")
    ],
    kind: Annotated[
        str,
        typer.Option(
            help="trajectories | alignment | balance | groups | channels | changes | sweep "
            "(changes: needs a run with two --snapshot dates)"
        ),
    ] = "trajectories",
    fmt: Annotated[str, typer.Option("--format", help="png | svg | pdf")] = "png",
    at: Annotated[
        str | None,
        typer.Option(
            metavar="YYYY-MM",
            help="Month of interest: the heatmap's date, the changes up to it, marked elsewhere.",
        ),
    ] = None,
    outcome: Annotated[
        str | None, typer.Option(help="Sweep: the outcome to draw (default: the first).")
    ] = None,
    x: Annotated[
        str | None, typer.Option(help="Sweep: parameter on the x axis (default: the first).")
    ] = None,
    y: Annotated[str | None, typer.Option(help="Sweep: a second parameter, for a heatmap.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Figure file (default: FOLDER/KIND.FORMAT).")
    ] = None,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Replace the --out file if it exists (a figure drawn into the results folder "
            "itself replaces the one there).",
        ),
    ] = False,
) -> None:
    """Draw a figure from saved results (no model is run).

    --kind changes draws the answers to "has your attitude changed?" between two snapshot
    dates (changes.csv; by default the last two, with --at the two up to that month).

    --kind sweep draws a sweep's outcome against one parameter (median and band over runs)
    or, with --y, against two (a heatmap).
    """
    from sim.experiments import sweep as sweeping
    from sim.results import plots
    from sim.results import saved as results
    from sim.results import writing as output

    kinds = (*plots.KINDS, "sweep")
    try:
        _allowed("--kind", kind, kinds)
        _allowed("--format", fmt, plots.FORMATS)
        check_path_argument("FOLDER", folder)
        if not folder.is_dir():
            raise refuse(folder, "", "no such results folder")
        target = out or folder / f"{kind}.{fmt}"
        overwrite = overwrite or out is None  # the folder's own figure, redrawn atomically
        if kind == "sweep":  # drawn under a temporary name, renamed when complete
            _plot_sweep(folder, outcome, x, y, target, overwrite)
            out_console.print(f"figure written to {target}", highlight=False, soft_wrap=True)
            return
        if sweeping.is_sweep_folder(folder):
            raise refuse(folder, "", "this is a sweep's folder: draw it with --kind sweep")
        if (folder / "differences.csv").is_file():
            runs = ", ".join(sorted(p.name for p in folder.iterdir() if p.is_dir())) or "none"
            raise refuse(
                folder, "", f"this is a comparison's folder: plot one of its runs ({runs})"
            )
        saved = results.load(folder)
        if kind == "changes" and saved.changes is None:
            raise refuse(
                folder / "changes.csv",
                "",
                "no such file: the run had fewer than two snapshot dates; run it with two "
                "--snapshot dates (e.g. --snapshot 2021-12 --snapshot 2023-06) to draw changes",
            )
        months = saved.timeseries["date"]
        if at is not None and not months.iloc[0] <= at <= months.iloc[-1]:
            raise refuse(
                COMMAND_LINE,
                "--at",
                f"{at} is not in the results; they run from {months.iloc[0]} to "
                f"{months.iloc[-1]} (the group table: the last year recorded at or before it)",
            )
        output.check_file_out(target, overwrite, plots.FORMATS)
        with output.atomic_file(target) as partial:
            plots.draw(kind, saved, partial, at)
    except ScenarioError as err:
        raise fail(err) from None
    out_console.print(f"figure written to {target}", highlight=False, soft_wrap=True)


def _plot_sweep(
    folder: Path, outcome: str | None, x: str | None, y: str | None, path: Path, overwrite: bool
):
    from sim.experiments import sweep as sweeping
    from sim.results import plots, sweep_figures
    from sim.results import writing as output

    if not sweeping.is_sweep_folder(folder):
        raise refuse(COMMAND_LINE, "FOLDER", f"{folder} holds no sweep (no sweep.toml)")
    spec = sweeping.stored(folder)
    outcomes = [o.name for o in spec.spec.outcomes]
    outcome = outcome or outcomes[0]
    _allowed("--outcome", outcome, tuple(outcomes))
    _allowed("--x", x := x or spec.names[0], tuple(spec.names))
    if y is not None:
        _allowed("--y", y, tuple(n for n in spec.names if n != x))
    if sweeping.results(folder).empty:
        raise refuse(COMMAND_LINE, "FOLDER", f"{folder} holds no finished runs yet")
    output.check_file_out(path, overwrite, plots.FORMATS)
    with output.atomic_file(path) as partial:
        sweep_figures.sweep_figure(folder, outcome, x, y, partial)
    return path


@app.command()
def validate(
    seeds: Annotated[
        int, typer.Option(min=1, max=MAX_REPS, help="Runs per scenario (seeds spawned).")
    ] = 10,
    population: Population = None,
    seed: Seed = None,
    check_: Annotated[
        list[str] | None,
        typer.Option("--check", metavar="ID", help="Only this check, e.g. P3 or T1 (repeatable)."),
    ] = None,
    workers: Workers = None,
    set_: Sets = None,
    perturb: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.9,
            help="Jitter every parameter of every run (each lever and uncertainty, state-side "
            "included) by a factor drawn within 1 +- this fraction, e.g. 0.2, and report which "
            "checks survive.",
        ),
    ] = 0.0,
    out: Annotated[
        Path | None, typer.Option(help="Also write the table, one figure per check, a manifest.")
    ] = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Check the patterns P1-P14 (docs/validation.md) and the calibration targets over an ensemble.

    Each check runs the shipped scenarios it needs on --seeds seeds and prints what it
    measured against its threshold, the margin of each condition (negative: failing), and
    its basis: in-sample (a calibration target), by construction (the equations force it),
    not fitted, or out-of-sample. Out-of-sample comparisons with polls from 2022 on
    (O1-O3), which no parameter was fitted to, are reported after them. With --set, every
    run has the parameter set (a check's own settings win: P9's screening, P6's ties); with
    --perturb, each seed's runs have every parameter jittered alike (docs/validation.md,
    "Perturbed"). The exit status is 1 if any pattern or target fails.
    """
    from sim.experiments import patterns, provenance
    from sim.results import check_figures
    from sim.results import writing as output

    started = datetime.now(UTC)
    try:
        try:
            checks = patterns.select(check_)
        except KeyError as err:
            raise refuse(COMMAND_LINE, "--check", err.args[0]) from None
        if out is not None:
            output.check_out_dir(out, overwrite)
        if population is not None and population < FEWEST_PERSONS:
            raise refuse(
                COMMAND_LINE, "--population", f"{population} is below {FEWEST_PERSONS} persons"
            )
        names = patterns.needed(checks)
        variants = patterns.with_overrides(names, parse_assignments(set_ or []))
    except ScenarioError as err:
        raise fail(err) from None
    with _progress("validate", "runs", quiet, total=len(names) * seeds) as update:
        runs = patterns.run_all(
            names,
            seeds,
            population,
            workers,
            update,
            seed=seed,
            variants=variants,
            perturb=perturb,
        )
    table = patterns.evaluate(checks, runs)
    if out is not None:
        with _writing(), output.staged(out, overwrite) as staging:
            table.to_csv(staging / "validation.csv", index=False)
            for check, passed in zip(checks, table["passed"], strict=True):
                check_figures.draw(check, runs, passed, staging / f"{check.id}.png")
            manifest = {
                **provenance.environment(started),
                "seeds": seeds,
                "seed": seed,
                "seeding": output.SEEDING,
                "population": population,
                "perturb": perturb,
                "set": parse_assignments(set_ or []),
                "checks": [c.id for c in checks],
                "runs": {n: dict(vars(variants[n])) for n in names},
            }
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    _print_checks(table, seeds, perturb, set_ or [])
    judged = table[table["kind"] != patterns.OUT_OF_SAMPLE]
    compared = table[table["kind"] == patterns.OUT_OF_SAMPLE]
    out_console.print(
        f"{int(judged['passed'].sum())} of {len(judged)} checks passed", highlight=False
    )
    if len(compared):
        out_console.print(
            f"{int(compared['passed'].sum())} of {len(compared)} out-of-sample comparisons "
            "within their band (reported, not counted)",
            highlight=False,
        )
    if out is not None:
        out_console.print(f"validation written to {out}", highlight=False, soft_wrap=True)
    failed = int((~judged["passed"]).sum())
    if failed:
        err_console.print(f"[bold red]{failed} of {len(judged)} checks failed[/]")
        raise typer.Exit(1)


def _print_checks(table, seeds: int, perturb: float = 0.0, sets: list[str] = ()) -> None:
    """Each check in four lines (its verdict and what its evidence is worth, what it
    measured, against what, by how much), each line
    left to the terminal to wrap: a four-column table of long sentences wrapped into
    some ninety lines."""
    jitter = f", every parameter jittered by up to {perturb:.0%}" if perturb else ""
    jitter += f", with {', '.join(sets)}" if sets else ""
    out_console.print(
        f"[bold]patterns and targets over {seeds} seeds{jitter}[/]", highlight=False, soft_wrap=True
    )
    for row in table.itertuples():
        verdict = "[green]pass[/]" if row.passed else "[bold red]FAIL[/]"
        if row.kind == "out-of-sample":
            verdict = "[green]within[/]" if row.passed else "[yellow]outside[/]"
        out_console.print(
            f"[bold]{row.id}[/] {verdict} ({row.basis}: {row.why})", highlight=False, soft_wrap=True
        )
        for name, text in (
            ("measured", row.measured),
            ("threshold", row.threshold),
            ("margin", row.margins),
        ):
            out_console.print(f"  {name}: {text}", highlight=False, soft_wrap=True, markup=False)


class CalibrationMethod(StrEnum):
    fit = "fit"
    abc = "abc"
    smc = "smc"


@app.command()
def calibrate(
    scenario: Annotated[
        str, typer.Argument(help="Scenario to start from (file or shipped name).")
    ] = DEFAULT_SCENARIO,
    seeds: Annotated[int, typer.Option(min=1, help="Common seeds of every evaluation.")] = 3,
    population: Annotated[int, typer.Option(min=FEWEST_PERSONS, help="Persons per run.")] = 4000,
    evaluations: Annotated[
        int, typer.Option(min=1, help="Most objective evaluations (each runs every seed).")
    ] = 150,
    method: Annotated[
        CalibrationMethod,
        typer.Option(
            help="fit: the point fit (bounded Nelder-Mead; uses --seeds and --evaluations); "
            "abc: a rejection-ABC sample on a Latin hypercube (uses --points and --accept); "
            "smc: ABC-SMC, generations of --points particles under shrinking tolerances "
            "(uses --generations and --quantile). docs/calibration.md compares them."
        ),
    ] = CalibrationMethod.fit,
    points: Annotated[
        int,
        typer.Option(min=2, help="abc: points drawn from the prior, one run each; smc: particles."),
    ] = 1000,
    accept: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="abc: share of the points kept (above 0)."),
    ] = 0.05,
    generations: Annotated[
        int, typer.Option(min=1, max=50, help="smc: most generations of particles.")
    ] = 6,
    quantile: Annotated[
        float,
        typer.Option(
            min=0.05,
            max=0.95,
            help="smc: each tolerance is this quantile of the previous generation's distances.",
        ),
    ] = 0.5,
    workers: Workers = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder (default: results/calibration-UTCTIME).")
    ] = None,
    overwrite: Overwrite = False,
    quiet: Quiet = False,
) -> None:
    """Fit the free parameters to the calibration targets (bounded Nelder-Mead), or draw a
    posterior sample of them (--method smc, ABC-SMC; --method abc, rejection ABC).

    The fit writes fitted.toml (the values, to paste into a scenario), residuals.csv,
    history.csv (every evaluation) and a manifest. With --method smc or abc: prior.csv
    (every run, its distance and what it measured; smc: its generation and whether it was
    kept), posterior.csv (the points kept; smc: the last generation with its weights, which
    run --posterior draws from), summary.csv (each parameter's median and 90 % interval)
    and a manifest.
    docs/calibration.md lists the free parameters, their bounds and the targets.
    """
    from sim.experiments import provenance
    from sim.results import writing as output

    started = datetime.now(UTC)
    if accept <= 0:
        raise typer.BadParameter("must be above 0", param_hint="'--accept'")
    try:
        from sim.experiments import calibrate as fitting  # reads the calibration data file

        spec, _, _ = load_with_profile(scenario)
        if spec.run.profile != fitting.COUNTRY:
            raise refuse(
                scenario,
                "run.profile",
                f"is {spec.run.profile!r}: the calibration's targets are {fitting.COUNTRY}'s "
                f"({fitting.setup_file().name}); allowed: a scenario of that profile",
            )
        destination = out or Path("results") / f"calibration-{started.strftime('%Y%m%dT%H%M%SZ')}"
        output.check_out_dir(destination, overwrite)
    except ScenarioError as err:
        raise fail(err) from None
    if method is CalibrationMethod.smc and points <= 2 * len(fitting.FREE):
        raise fail(
            refuse(
                COMMAND_LINE,
                "--points",
                f"{points} particles for {len(fitting.FREE)} free parameters: smc needs more "
                f"than {2 * len(fitting.FREE)} (the kernel's covariance is estimated from them)",
            )
        )
    if method is not CalibrationMethod.fit:
        sampler = {"accept": accept} if method is CalibrationMethod.abc else {}
        if method is CalibrationMethod.smc:
            sampler = {"generations": generations, "quantile": quantile}
        _sample_posterior(
            scenario, points, sampler, population, workers, destination, overwrite, quiet, started
        )
        return
    with _progress("calibrate", "evaluations", quiet) as update:
        fit = fitting.calibrate(scenario, seeds, population, evaluations, workers, update)
    with _writing(), output.staged(destination, overwrite) as staging:
        (staging / "fitted.toml").write_text(fitting.fitted_toml(fit))
        fit.residuals.to_csv(staging / "residuals.csv", index=False)
        fit.history.to_csv(staging / "history.csv", index=False)
        manifest = {
            **provenance.environment(started),
            "scenario": scenario,
            "seeds": seeds,
            "seeding": output.SEEDING,
            "population": population,
            "method": "bounded Nelder-Mead on the unit cube, common random numbers",
            "evaluations": fit.evaluations,
            "loss": fit.loss,
            "start": fit.start,
            "fitted": fit.fitted,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if not quiet:
        view = Table(title=f"fit after {fit.evaluations} evaluations, loss {fit.loss:.3f}")
        for column in ("parameter", "start", "fitted"):
            view.add_column(column, justify="left" if column == "parameter" else "right")
        for path, value in fit.fitted.items():
            view.add_row(path, f"{fit.start[path]:.3f}", f"{value:.3f}")
        _print_table(view)
        view = Table(title="targets")
        for column in ("target", "value", "band", "measured"):
            view.add_column(column, justify="left" if column == "target" else "right")
        for row in fit.residuals.itertuples():
            view.add_row(row.target, f"{row.value:.3f}", f"{row.band:.3f}", f"{row.measured:.3f}")
        _print_table(view)
    out_console.print(f"calibration written to {destination}", highlight=False, soft_wrap=True)


def _generations_kept(history) -> int:
    """Whole generations an ABC-SMC run completed (a last one cut short by the budget of
    runs keeps no particle)."""
    return int(history.loc[history["kept"], "generation"].max()) + 1


def _sample_posterior(
    scenario, points, sampler, population, workers, destination, overwrite, quiet, started
) -> None:
    """``calibrate --method abc`` (``sampler``: its accept share) or ``--method smc`` (its
    generations and quantile): the posterior sample and its summary."""
    from sim.experiments import posterior, provenance
    from sim.results import writing as output

    smc = "generations" in sampler
    unit = "runs (at most)" if smc else "points"
    with _progress(f"calibrate ({'smc' if smc else 'abc'})", unit, quiet) as update:
        draw = posterior.smc if smc else posterior.sample
        post = draw(
            scenario,
            points,
            *sampler.values(),
            population,
            seed=posterior.DESIGN_SEED,
            workers=workers,
            progress=update,
        )
    summary = post.summary()
    with _writing(), output.staged(destination, overwrite) as staging:
        post.prior.to_csv(staging / "prior.csv", index=False)
        post.accepted.to_csv(staging / "posterior.csv", index=False)
        summary.to_csv(staging / "summary.csv", index=False)
        manifest = {
            **provenance.environment(started),
            "scenario": scenario,
            "seeding": output.SEEDING,
            "population": population,
            "method": (
                "ABC-SMC (population Monte Carlo) from a Latin hypercube"
                if smc
                else "rejection ABC on a Latin hypercube"
            )
            + " over the free parameters' bounds (uniform prior), one run per point, "
            "distance in units of the targets' bands",
            "points": points,
            **sampler,
            "design_seed": posterior.DESIGN_SEED,
            "runs": len(post.prior),
            **({"generations_run": _generations_kept(post.prior)} if smc else {}),
            "kept": len(post.accepted),
            "tolerance": post.tolerance,
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    if not quiet:
        view = Table(
            title=f"posterior: {len(post.accepted)} of {len(post.prior)} runs, distance <= "
            f"{post.tolerance:.2f}"
        )
        for column in ("parameter", "prior", "median", "90 % interval", "of the prior"):
            view.add_column(column, justify="left" if column == "parameter" else "right")
        for row in summary.itertuples():
            view.add_row(
                row.parameter,
                f"{row.low:g} to {row.high:g}",
                f"{row.median:.3f}",
                f"{row.q05:.3f} to {row.q95:.3f}",
                f"{row.width_share:.0%}",
            )
        _print_table(view)
    if len(post.accepted) < posterior.FEWEST_KEPT:
        err_console.print(
            f"[yellow]warning:[/] only {len(post.accepted)} points kept: the intervals are not "
            f"estimated (keep at least {posterior.FEWEST_KEPT}: more --points"
            + ("" if smc else " or a larger --accept")
            + ")",
            highlight=False,
            soft_wrap=True,
        )
    out_console.print(f"posterior written to {destination}", highlight=False, soft_wrap=True)


@app.command()
def sweep(
    file: Annotated[Path, typer.Argument(help="Sweep file (TOML); see docs/sweeps.md.")],
    out: Annotated[Path, typer.Option(help="Results folder of the sweep.")],
    workers: Workers = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted sweep in --out.")
    ] = False,
    backend: Annotated[str, typer.Option(help="local | dask")] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (default: a local Dask cluster)."),
    ] = None,
    shard: Annotated[
        str | None,
        typer.Option(metavar="i/N", help="Run only the i-th of N slices (run % N == i)."),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, help="Runs per Parquet part.")] = 20,
    quiet: Quiet = False,
) -> None:
    """Run a parameter sweep: the design first, then every run, streamed to Parquet parts.

    Each run's seed derives from the design (SeedSequence with a spawn key per run), so the
    results are identical whatever the backend, the workers or the shards. A run that raises
    is recorded in failures/ and the sweep goes on; the exit status is 1 if any failed.
    """
    import os

    from sim.experiments import sweep as sweeping

    started = datetime.now(UTC)
    if backend == "dask":
        needs_extra("dask", "dask", "distributed")
    try:
        plan = sweeping.plan(file, out, backend, scheduler, shard, resume, started)
    except ScenarioError as err:
        raise fail(err) from None
    workers = workers or os.cpu_count() or 1
    for note in plan.notes:  # parts set aside in quarantine/: their runs run again
        err_console.print(f"[bold yellow]warning:[/] {note}", highlight=False, soft_wrap=True)
    if not quiet:
        err_console.print(
            f"{plan.sweep.spec.name}: {len(plan.points)} points x "
            f"{plan.sweep.spec.design.replications} replications; {len(plan.tasks)} runs in "
            f"this shard, {len(plan.tasks) - len(plan.todo)} already recorded, "
            f"{len(plan.todo)} to run on {workers} {backend} worker(s)",
            highlight=False,
        )
    with Progress(
        TextColumn(f"[bold]{plan.sweep.spec.name}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs, {task.fields[failed]} failed"),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("runs", total=len(plan.todo), failed=0)

        def update(counts: dict[str, int]) -> None:
            bar.update(task, completed=sum(counts.values()), failed=counts["failed"])

        with _writing():  # a full disk: one line; every part already written stays whole
            counts = sweeping.execute(plan, workers, batch, update)
    out_console.print(
        f"{counts['done']} runs done, {counts['failed']} failed, "
        f"{len(plan.tasks) - len(plan.todo)} were already recorded; results in {out}",
        highlight=False,
        soft_wrap=True,
    )
    if counts["failed"]:
        err_console.print(
            f"[bold red]{counts['failed']} runs failed[/]: tracebacks in {out / 'failures'}",
            highlight=False,
        )
        raise typer.Exit(1)


@app.command()
def analyze(
    folder: Annotated[Path, typer.Argument(help="Folder of a finished sweep.")],
    outcome: Annotated[
        list[str] | None, typer.Option(help="Only this outcome (repeatable).")
    ] = None,
    method: Annotated[
        str, typer.Option(help="indices (Sobol or Morris, as the design) | prim")
    ] = "indices",
    condition: Annotated[
        str | None,
        typer.Option(
            metavar="EXPR",
            help="prim: the runs of interest, 'OUTCOME OP NUMBER' with OP one of < <= > >= "
            "(e.g. 'dominant_share_2030 > 0.4').",
        ),
    ] = None,
    boxes: Annotated[int, typer.Option(min=1, help="prim: boxes to find, at most.")] = 1,
    min_density: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="prim: the density a box should reach."),
    ] = 0.8,
    quiet: Quiet = False,
) -> None:
    """Sensitivity indices, or scenario discovery (PRIM), of a finished sweep.

    Default: Sobol S1 and ST with 95 % intervals, or Morris mu* and sigma, as the sweep's
    design, replications averaged first; writes indices.csv and indices.png into the folder,
    and warns when the design is too small for stable indices. With --method prim and
    --condition (any design; needs the analysis extra): the boxes of the parameter space
    where the condition holds, each parameter's limits with the box's coverage and density;
    writes prim.csv and prim.png.
    """
    from sim.experiments import sensitivity
    from sim.experiments import sweep as sweeping
    from sim.results import sweep_figures

    if method == "prim":
        _analyze_prim(folder, condition, boxes, min_density, quiet)
        return
    try:
        _allowed("--method", method, ("indices", "prim"))
        if condition is not None:
            raise refuse(COMMAND_LINE, "--condition", "only with --method prim")
        check_path_argument("FOLDER", folder)
        if not sweeping.is_sweep_folder(folder):
            raise refuse(COMMAND_LINE, "FOLDER", f"{folder} holds no sweep (no sweep.toml)")
        table, warnings = sensitivity.analyze(folder, outcome)
    except ScenarioError as err:
        raise fail(err) from None
    from sim.results import writing as output

    method = sweeping.stored(folder).spec.design.method
    with _writing():  # each file whole or not at all: temporary names, then renamed
        if not table.empty:
            with output.atomic_file(folder / "indices.png") as partial:
                sweep_figures.indices_figure(table, method, partial)
        output.write_csv(table, folder / "indices.csv", index=False)
    if not quiet:
        view = Table(title=f"{method} indices", title_justify="left")
        for column in table.columns:
            left = column in ("outcome", "parameter", "role")
            view.add_column(column, justify="left" if left else "right")
        for row in table.itertuples(index=False):
            view.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row))
        _print_table(view)
    for warning in warnings:
        err_console.print(f"[bold yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    out_console.print(f"indices written to {folder / 'indices.csv'}", highlight=False)


def _analyze_prim(
    folder: Path, condition: str | None, boxes: int, min_density: float, quiet: bool
) -> None:
    from sim.experiments import sweep as sweeping

    try:
        if condition is None:
            raise refuse(COMMAND_LINE, "--condition", "--method prim needs --condition EXPR")
        if not sweeping.is_sweep_folder(folder):
            raise refuse(COMMAND_LINE, "FOLDER", f"{folder} holds no sweep (no sweep.toml)")
    except ScenarioError as err:
        raise fail(err) from None
    needs_extra("analysis", "ema_workbench")
    from sim.experiments import discovery
    from sim.results import prim_figures

    try:
        found = discovery.prim(folder, condition, boxes=boxes, min_density=min_density)
    except ScenarioError as err:
        raise fail(err) from None
    with _writing():  # each file whole or not at all: temporary names, then renamed
        table, _ = prim_figures.write_prim(found, folder)
    if not quiet:
        out_console.print(f"{found.condition}: {found.of_interest} of {found.runs} runs")
        for box in found.boxes:
            view = Table(
                title=f"box {box.number}: coverage {box.coverage:.2f}, density "
                f"{box.density:.2f}, {box.cases} runs ({box.mass:.0%} of all)",
                title_justify="left",
            )
            view.add_column("parameter", no_wrap=True)
            view.add_column("role", no_wrap=True)
            for column in ("low", "high", "sweep's range", "qp"):
                view.add_column(column, justify="right", no_wrap=True)
            for row in box.limits.itertuples():
                view.add_row(row.parameter, row.role, *_box_limits(row))
            _print_table(view)
    for warning in found.warnings:
        err_console.print(f"[bold yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    out_console.print(f"boxes written to {table}", highlight=False)


def _box_limits(row) -> tuple[str, str, str, str]:
    """A box's limits on one parameter as printed: low, high (blank where the box leaves
    the parameter its whole range), the sweep's range, and the restriction's quasi-p."""
    if isinstance(row.low, str):  # a list of switches or names: the values kept
        whole = str(row.range_low)
        return (row.low, "", whole, "") if row.restricted else ("", "", whole, "")
    whole = f"{row.range_low:.3g}-{row.range_high:.3g}"
    if not row.restricted:
        return "", "", whole, ""
    qps = [q for q in (row.qp_low, row.qp_high) if q == q]  # NaN: that side not restricted
    return f"{row.low:.4g}", f"{row.high:.4g}", whole, f"{min(qps):.2g}" if qps else ""


@app.command()
def dashboard(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help="Scenario to open (file or shipped name).", show_default=DEFAULT_SCENARIO
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this computer only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
    scenarios: Annotated[
        Path | None,
        typer.Option(
            help="A folder whose scenario files the page may open (besides the shipped ones); "
            "the page opens no other file."
        ),
    ] = None,
) -> None:
    """Start the classroom dashboard (a web page) and print its address.

    Lessons with their questions, levers in plain words (set them, then Reset), Play, Step
    and Reset, live charts, and sentences on what just happened. Ctrl-C stops it.
    """
    import os
    import signal
    import subprocess
    import sys

    # sim.app.dashboard.SCENARIO_ENV, not imported: the dashboard's imports take seconds,
    # and the server imports them again.
    SCENARIO_ENV, FOLDER_ENV = "MULTIVECTOR_DASHBOARD_SCENARIO", "MULTIVECTOR_DASHBOARD_FOLDER"

    needs_extra("dashboard", "solara", "ipyvuetify", "altair")
    name = scenario or DEFAULT_SCENARIO
    try:
        load_with_profile(name)
    except ScenarioError as err:
        raise fail(err) from None
    if Path(name).is_file():
        name = str(Path(name).resolve())  # the server may run elsewhere
    if scenarios is not None and not scenarios.is_dir():
        raise fail(refuse(COMMAND_LINE, "--scenarios", f"{scenarios} is not a folder"))
    if not _loopback(host):
        err_console.print(
            f"[bold yellow]warning:[/] --host {host} lets other computers on the network "
            "open the dashboard and run models on this one; 127.0.0.1 keeps it to this "
            "computer.",
            highlight=False,
            soft_wrap=True,
        )
    out_console.print(
        f"multivector dashboard: http://{host}:{port} (scenario {name}; Ctrl-C to stop)",
        highlight=False,
        soft_wrap=True,
    )
    command = [sys.executable, "-m", "solara", "run", "sim.app.dashboard:Page"]
    command += ["--host", host, "--port", str(port), "--production", "--no-open"]
    command += ["--no-check-version"]  # offline and quiet: no call to the package index
    env = {
        **os.environ,
        SCENARIO_ENV: name,
        FOLDER_ENV: str(scenarios.resolve()) if scenarios is not None else "",
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
        # Solara warns at the first page that plain http cannot set samesite=none cookies.
        "PYTHONWARNINGS": "ignore::UserWarning:solara.server.starlette",
    }
    # The server runs in its own process group, ended here whatever stops this command
    # (Ctrl-C, SIGTERM): `solara run` survives its parent's SIGTERM otherwise.
    server = subprocess.Popen(command, env=env, start_new_session=True)

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    try:
        code = server.wait()
    except KeyboardInterrupt:
        code = 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    raise typer.Exit(code)


def _loopback(host: str) -> bool:
    """Whether an address reaches this computer only."""
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _month(option: str, value: str | None) -> None:
    """A month option, if given, is a YYYY-MM month (an empty one is not 'not given')."""
    if value is not None:
        try:
            check_month(value)
        except ValueError as err:
            raise refuse(COMMAND_LINE, option, str(err)) from None


def _allowed(option: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise refuse(
            COMMAND_LINE, option, f"unknown value {value!r}; allowed: {', '.join(allowed)}"
        )


if __name__ == "__main__":
    app()
