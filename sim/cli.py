"""The ``multivector`` command line."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from sim.errors import ScenarioError, refuse
from sim.scenario import (
    COMMAND_LINE,
    DEFAULT_SCENARIO,
    load_with_profile,
    read_toml,
    shipped_scenarios,
)

app = typer.Typer(
    help="Soft power of great powers on a middle state, and how it balances them "
    "(an agent-based model of Kazakhstan, built on Mesa).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out_console = Console()
err_console = Console(stderr=True)


def fail(error: ScenarioError) -> typer.Exit:
    """Print every problem of a user's input plainly and exit with status 2."""
    for problem in error.problems:
        err_console.print(f"[bold red]error:[/] {problem}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def parse_sets(sets: list[str]) -> dict[str, Any]:
    """``path=value`` pairs; values are read as TOML (``0.5``, ``true``, ``"text"``)."""
    overrides = {}
    for item in sets:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise refuse(COMMAND_LINE, "--set", f"{item!r} is not of the form path=value")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            value = text.strip()
        overrides[path.strip()] = value
    return overrides


@app.command()
def run(
    scenario: Annotated[
        str | None,
        typer.Argument(
            help="Scenario file or shipped scenario name.", show_default=DEFAULT_SCENARIO
        ),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Root seed (default: the scenario's run.seed).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(metavar="YYYY-MM", help="Stop at this month (default: run.end).")
    ] = None,
    population: Annotated[int | None, typer.Option(help="Number of synthetic persons.")] = None,
    snapshot: Annotated[
        list[str] | None,
        typer.Option(
            metavar="YYYY-MM", help="Also write person-level data at this month (repeatable)."
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="PATH=VALUE",
            help="Override a parameter: path=value, e.g. state.balance_strength=0.5 (repeatable).",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Results folder (default: results/<scenario>-<UTC time>).")
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the results folder if it holds files.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="No progress bar and no summary table.")
    ] = False,
) -> None:
    """Run a scenario (the baseline by default) and write its tables, figure and manifest."""
    from sim import output, runner

    started = datetime.now(UTC)
    try:
        overrides = parse_sets(set_ or [])
        if seed is not None:
            overrides["run.seed"] = seed
        if population is not None:
            overrides["run.population"] = population
        plan = runner.plan(scenario, overrides=overrides, until=until, snapshots=snapshot)
        destination = out or output.default_out_dir(plan, started)
        output.check_out_dir(destination, overwrite)
    except ScenarioError as err:
        raise fail(err) from None
    with Progress(
        TextColumn(f"[bold]{plan.scenario.name}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("months"),
        TimeRemainingColumn(),
        console=err_console,
        disable=quiet,
        transient=True,
    ) as bar:
        task = bar.add_task("run", total=None)
        result = runner.execute(
            plan, lambda done, total: bar.update(task, completed=done, total=total)
        )
    output.write(result, plan, destination, started, overwrite)
    if not quiet:
        dates = result.timeseries["date"]
        _print_summary(output.summary(result.timeseries), dates.iloc[0], dates.iloc[-1])
    out_console.print(f"results written to {destination}", highlight=False, soft_wrap=True)


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
    out_console.print(view)
    vectors = table.iloc[0]
    out_console.print(
        f"effective number of vectors: {vectors['effective_vectors start']:.2f} -> "
        f"{vectors['effective_vectors end']:.2f}",
        highlight=False,
    )


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
    out_console.print(view)


def _first_sentence(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat.split(". ")[0].rstrip(".") + "." if flat else ""


@app.command()
def check(
    files: Annotated[list[str], typer.Argument(help="Scenario files or shipped scenario names.")],
) -> None:
    """Validate scenario files and explain every problem in them (exit status 2 if any)."""
    failed = False
    for name in files:
        try:
            spec, _, resolved = load_with_profile(name)
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
    if failed:
        raise typer.Exit(2)


if __name__ == "__main__":
    app()
