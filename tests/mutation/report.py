"""Per-module mutation score from mutmut's results in ``mutants/`` (``make mutation``).

A module's score is killed / (mutants − listed equivalents): every mutant that is not listed in
``tests/mutation/equivalent.txt`` counts, whether it survived, had no test, or timed out. A
timeout counts as killed (the mutant made the tests hang, which they detect). Listed
equivalents that no longer exist, or that a test now kills, are reported as stale.

    python tests/mutation/report.py [--min 95] [--survivors]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENT = Path(__file__).with_name("equivalent.txt")

# mutmut 3's exit codes per mutant (mutmut/stats.py): 1 and 3 killed, 0 survived,
# 5 and 33 no tests, 36/24/-24/152/255 timeout, 37 caught by the type checker.
KILLED = {1, 3, 37}
TIMEOUT = {24, -24, 36, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}


def read_equivalent(path: Path = EQUIVALENT) -> dict[str, str]:
    """``mutant name -> why it is equivalent`` from lines ``name  reason``; ``#`` comments."""
    out: dict[str, str] = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, why = line.partition(" ")
        if not why.strip():
            raise SystemExit(f"{path}: {name}: every equivalent mutant needs a reason")
        out[name] = why.strip()
    return out


def read_results(mutants: Path) -> dict[str, dict[str, int | None]]:
    """``module path -> {mutant name: exit code}`` from mutmut's ``*.meta`` files."""
    out: dict[str, dict[str, int | None]] = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = meta.relative_to(mutants).as_posix().removesuffix(".meta")
        out[module] = json.loads(meta.read_text())["exit_code_by_key"]
    return out


def status(code: int | None) -> str:
    if code in KILLED:
        return "killed"
    if code in TIMEOUT:
        return "timeout"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    return "not checked" if code is None else f"suspicious ({code})"


def table(
    results: dict[str, dict[str, int | None]], equivalent: dict[str, str]
) -> tuple[list[tuple[str, int, int, int, int, float]], list[str], list[str]]:
    """Rows ``(module, mutants, equivalent, killed, not killed, score %)``, the names of the
    mutants not killed, and stale entries of the equivalent list."""
    rows, missed, stale = [], [], []
    known = {name for codes in results.values() for name in codes}
    modules = {m.removesuffix(".py").replace("/", ".") for m in results}
    stale += [
        f"{name}: no such mutant"
        for name in equivalent
        if name not in known and re.split(r"\.x[_ǁ]", name)[0] in modules
    ]
    for module, codes in results.items():
        counts: Counter[str] = Counter()
        for name, code in sorted(codes.items(), key=lambda kv: _order(kv[0])):
            s = status(code)
            if name in equivalent:
                counts["equivalent"] += 1
                if s in ("killed", "timeout"):
                    stale.append(f"{name}: listed as equivalent but killed")
                continue
            if s in ("killed", "timeout"):
                counts["killed"] += 1
            else:
                counts["missed"] += 1
                missed.append(f"{name}  [{s}]")
        counted = counts["killed"] + counts["missed"]
        score = 100.0 * counts["killed"] / counted if counted else 100.0
        rows.append(
            (module, len(codes), counts["equivalent"], counts["killed"], counts["missed"], score)
        )
    return rows, missed, stale


def _order(name: str) -> tuple[str, int]:
    head, _, n = name.rpartition("__mutmut_")
    return head, int(n) if n.isdigit() else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=ROOT / "mutants")
    parser.add_argument("--min", type=float, default=None, help="fail below this score (%%)")
    parser.add_argument("--survivors", action="store_true", help="list every mutant not killed")
    args = parser.parse_args(argv)
    results = read_results(args.mutants)
    if not results:
        print(f"no mutmut results under {args.mutants}: run `make mutation`", file=sys.stderr)
        return 2
    rows, missed, stale = table(results, read_equivalent())
    print(f"{'module':<28} {'mutants':>7} {'equiv.':>6} {'killed':>6} {'missed':>6} {'score':>7}")
    for module, n, eq, killed, miss, score in rows:
        print(f"{module:<28} {n:>7} {eq:>6} {killed:>6} {miss:>6} {score:>6.1f}%")
    total = [sum(r[i] for r in rows) for i in range(1, 5)]
    overall = 100.0 * total[2] / (total[2] + total[3]) if total[2] + total[3] else 100.0
    print(f"{'total':<28} {total[0]:>7} {total[1]:>6} {total[2]:>6} {total[3]:>6} {overall:>6.1f}%")
    if args.survivors and missed:
        print("\nnot killed (`mutmut show NAME` prints the diff):")
        print("\n".join(f"  {m}" for m in missed))
    for line in stale:
        print(f"stale equivalent entry: {line}", file=sys.stderr)
    low = [r[0] for r in rows if args.min is not None and r[5] < args.min]
    if low:
        print(f"below {args.min:g}%: {', '.join(low)}", file=sys.stderr)
        return 1
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
