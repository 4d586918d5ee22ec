"""The README stays true: every command and option is documented, every documented SQL call
works as written (as datasette's docs test keeps its documentation honest)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from rficat.cli import build_parser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _section(title: str) -> str:
    start = README.index(f"## {title}")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command path, its long options) for every leaf command of the CLI."""
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands:
        options = [s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"]
        yield path, options
        return
    for name, sub in subcommands[0].choices.items():
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(build_parser()))


@pytest.mark.parametrize("path, options", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_and_option_is_documented(path, options):
    command = f"rficat {' '.join(path)}"
    rows = [line for line in _section("Command line").splitlines()
            if re.search(rf"`{re.escape(command)}(?![\w-])", line) or line.startswith("| filters")]
    assert any("filters" not in row[:12] for row in rows), f"`{command}` has no row in the README's CLI table"
    documented = "\n".join(rows)
    options = [o for o in options if o != "--json"]  # documented once for every command
    missing = [o for o in options if not re.search(rf"{re.escape(o)}(?![\w-])", documented)]
    assert not missing, f"{command}: options missing from its README row: {missing}"


def test_json_output_is_documented_once_for_all_commands():
    assert "Every command that prints results takes `--json`" in _section("Command line")


def _documented_calls() -> list[tuple[str, list[str]]]:
    """Function names and the parameter names their README signature uses by name."""
    calls = []
    for row in _section("SQL interface (for notebooks)").splitlines():
        if not row.startswith("| `rficat_"):
            continue
        for name, args in re.findall(r"`(rficat_\w+)\(([^)`]*)\)", row.split("|")[1]):
            named = []
            for arg in (a.strip() for a in args.split(",")):
                if "=>" in arg:
                    named.append(arg.split("=>")[0].strip())
                elif arg.startswith("p_"):
                    named.append(arg)
            calls.append((name, named))
    return calls


def test_sql_signatures_in_the_readme_name_real_parameters(catalogue):
    calls = _documented_calls()
    assert len(calls) >= 8
    with catalogue.engine.connect() as conn:
        for name, named in calls:
            rows = conn.execute(sa.text("SELECT proargnames FROM pg_proc WHERE proname = :n"), {"n": name}).all()
            assert rows, f"README documents {name}, which does not exist"
            parameters = {p for (names,) in rows for p in (names or [])}
            unknown = [p for p in named if p not in parameters]
            assert not unknown, f"README calls {name} with parameters it does not have: {unknown}"


def test_sql_examples_in_the_readme_run(fresh_engine, observation):
    """Each statement of the README's SQL examples runs on a small real catalogue."""
    from rficat.catalogue import ingest
    from rficat.store import db

    db.migrate(fresh_engine)
    ingest.ingest_file(fresh_engine, observation["h5"], n_noise_per_channel=5)  # > 42 snippets
    blocks = re.findall(r"```sql\n(.*?)```", README, flags=re.S)
    statements = [s.strip() for block in blocks for s in block.split(";") if s.strip()
                  and not all(line.strip().startswith("--") for line in s.strip().splitlines())]
    assert statements
    with fresh_engine.connect() as conn:
        for statement in statements:
            conn.execute(sa.text(statement.replace(":", r"\:")))
