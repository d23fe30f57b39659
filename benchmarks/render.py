"""Rewrite the tables of docs/*.md from docs/results/*.json; nothing is trained or measured.

``benchmarks/<name>.py`` writes ``docs/results/<name>.json`` and defines ``tables(results) ->
{table: markdown}``; each region of a docs page between ``<!-- BEGIN <name>:<table> -->`` and
``<!-- END <name>:<table> -->`` becomes that table. The prose around it is written by hand.
``--check`` writes nothing and exits 1 when a page is out of date.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path

from infoclr.io import atomic_write_text

HERE = Path(__file__).resolve().parent
DOCS = HERE.parent / "docs"
REGION = re.compile(r"(<!-- BEGIN ([\w-]+):(\S+) -->\n)(.*?)(<!-- END \2:\3 -->)", re.DOTALL)


def all_tables() -> dict[tuple[str, str], str]:
    """``{(script, table): markdown}`` from every results file and its script."""
    out = {}
    for path in sorted((DOCS / "results").glob("*.json")):
        script = HERE / f"{path.stem}.py"
        if not script.is_file():
            sys.exit(f"error: {path} has no script {script}")
        spec = importlib.util.spec_from_file_location(f"_bench_{path.stem}", script)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while defined
        spec.loader.exec_module(module)
        for table, text in module.tables(json.loads(path.read_text())).items():
            out[path.stem, table] = text
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale pages")
    args = parser.parse_args(argv)
    tables, used, stale = all_tables(), set(), []

    def fill(match: re.Match[str]) -> str:
        key = (match[2], match[3])
        if key not in tables:
            sys.exit(f"error: docs ask for table {key[0]}:{key[1]}, which no results file has")
        used.add(key)
        return match[1] + tables[key] + match[5]

    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text()
        new = REGION.sub(fill, text)
        if new != text:
            stale.append(page)
            if not args.check:
                atomic_write_text(page, new)
    for script, table in sorted(tables.keys() - used):
        print(f"note: table {script}:{table} appears on no docs page")
    verb = "out of date" if args.check else "rewritten"
    names = ", ".join(page.name for page in stale)
    print(f"{len(stale)} page(s) {verb}: {names}" if stale else "up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
