"""First run as a new user sees it: `scripts/dev.sh` on a fresh instance and data folder (a free
port, a temp DAGSTER_HOME), timed from the command to the UI answering, to each sample's bundle, to
the warehouse, forecast and cost report; then every SQL query of the README is run against the
result (a query that fails is printed and fails the bench).

    .venv/bin/python bench/first_run.py            # this checkout (its .venv is reused)
    .venv/bin/python bench/first_run.py --clone    # a fresh `git clone` of HEAD: setup.sh
                                                   # creates the clone's .venv too
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

from medpipeline.devrun import DevRun

REPO = Path(__file__).resolve().parents[1]
_SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.DOTALL)
_INLINE_SQL = re.compile(r"`(SELECT [^`]+)`")


def readme_queries(readme: Path) -> list[str]:
    """Every statement of the README's ```sql blocks and its inline `SELECT ...` queries."""
    text = readme.read_text()
    statements = []
    for block in _SQL_BLOCK.findall(text):
        lines = [line for line in block.splitlines() if not line.strip().startswith("--")]
        statements += [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
    return statements + _INLINE_SQL.findall(text)


def run_queries(run: DevRun, queries: list[str]) -> list[tuple[str, str]]:
    """(query, error) of each failing query; paths like 'data/...' resolve from the data
    folder's parent, as in the README."""
    failures = []
    os.chdir(run.data_dir.parent)
    with duckdb.connect(
        str(run.data_dir / "warehouse" / "medpipeline.duckdb"), read_only=True
    ) as c:
        for query in queries:
            try:
                c.execute(query).fetchall()
            except duckdb.Error as error:
                failures.append((query, str(error).splitlines()[0]))
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clone", action="store_true", help="run in a fresh clone of HEAD")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per stage")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="medpipeline-first-run-") as temp:
        repo = REPO
        if args.clone:
            repo = Path(temp) / "clone"
            subprocess.run(["git", "clone", "-q", str(REPO), str(repo)], check=True)
        load = os.getloadavg()[0]
        with DevRun(repo, Path(temp) / "run") as run:
            ui = run.wait_until(run.ui_answers, args.timeout, "UI")
            first = run.wait_until(lambda: bool(run.bundles()), args.timeout, "bundle")
            bundles = run.wait_until(run.all_samples_bundled, args.timeout, "5 bundles")
            reports = run.wait_until(run.reports_ready, args.timeout, "warehouse and reports")
            queries = readme_queries(repo / "README.md")
            failures = run_queries(run, queries)
            with duckdb.connect(str(run.data_dir / "warehouse" / "medpipeline.duckdb"), True) as c:
                keys = c.execute("SELECT list(DISTINCT patient_key) FROM documents").fetchone()[0]
    checkout = "a fresh clone of HEAD" if args.clone else "this checkout"
    print(f"{checkout}; load average at the start {load:.1f} (2 cores)")
    print(f"UI answering:                {ui:6.0f} s after the command")
    print(f"first bundle:                {first:6.0f} s ({first - ui:.0f} s after the UI)")
    print(f"all 5 sample bundles:        {bundles:6.0f} s ({bundles - ui:.0f} s after the UI)")
    print(f"warehouse, forecast, report: {reports:6.0f} s ({reports - ui:.0f} s after the UI)")
    print(f"patient keys:                {len(keys):6d} distinct ({', '.join(sorted(keys))})")
    print(f"README queries:              {len(queries) - len(failures)}/{len(queries)} ran")
    for query, error in failures:
        print(f"  FAILED {query!r}: {error}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
