"""README.md and docs/*.md name only things that exist: repo paths (and pytest node ids), linked
files and their heading anchors, cited documents, ``peakbench`` subcommands and flags (checked
against the real argparse parsers), benchmark scripts' flags (their own ``--help``), ``make``
targets, and profiles that validate. A path exists when git tracks it or would (untracked, not
ignored): a file only on one machine, such as a benchmark's output, does not count."""

from __future__ import annotations

import argparse
import functools
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_STOP = r"\s`'\"()\[\]<>{}*,;|…#"
PATH = re.compile(
    rf"(?<![\w/.$-])(?:\.\./)*(?:profiles|docs|benchmarks|tests|wordpress|mocks|peakbench"
    rf"|loadtests|results|\.ci)/[^{_STOP}]*"
)
MARKDOWN = re.compile(rf"(?<![\w/.*-])[^{_STOP}:]*\.md\b")
MACHINE = re.compile(r"(?<![\w.-])/(?:work|home|Users|root)/[^\s`'\")]*")
OUTSIDE = re.compile(r"(?<![\w.-])(?:\.\./)*shared/(?:reference|wordpress)\b")
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
INLINE = re.compile(r"`([^`\n]+)`")
COMMAND = re.compile(r"(?<![\w/.-])(?:\S*/)?peakbench[ \t]+(?=[a-z-])")
SCRIPT = re.compile(r"(?<![\w/.-])(benchmarks/bench_\w+\.py)\b")
SUBCOMMAND_SPAN = re.compile(r"^(?:mocks (?:serve|ca)|store serve|target check|results list)\b")
OUTPUTS = ("benchmarks/out/", "benchmarks/.cache/", "results/")
"""Git-ignored folders the tools write to: a doc may say where output goes, but a figure's source
is its command, not one machine's output file (a run folder or a timestamped result)."""
STAMPED = re.compile(r"\d{8}T\d{6}Z")
RUN_FILES = {"summary.md"}
"""Markdown a run writes into its results folder (not a document to resolve)."""
MAKE = re.compile(r"(?<![\w/.-])make[ \t]+([\w./-]+)")


@dataclass(frozen=True)
class Snippet:
    """A piece of a document: a prose line, an inline code span, or a code block's line
    (backslash continuations joined)."""

    doc: Path
    line: int
    text: str
    kind: str  # "prose", "inline" or "code"

    def where(self) -> str:
        return f"{self.doc.relative_to(ROOT)}:{self.line}"


def snippets(doc: Path, text: str | None = None) -> Iterator[Snippet]:
    """Every prose line, inline code span and code line, fenced or indented by four spaces after
    a blank line (backslash continuations joined)."""
    lines = (doc.read_text(encoding="utf-8") if text is None else text).splitlines()
    fenced = indented = False
    previous = ""
    pending: tuple[int, str] | None = None
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        indented = not fenced and line.startswith("    ") and (indented or not previous.strip())
        previous = line
        if not fenced and not indented:
            yield Snippet(doc, number, line, "prose")
            for span in INLINE.findall(line):
                yield Snippet(doc, number, span, "inline")
            continue
        start, joined = pending if pending else (number, "")
        joined += line.rstrip()
        if joined.endswith("\\"):
            pending = (start, joined[:-1] + " ")
            continue
        pending = None
        yield Snippet(doc, start, joined, "code")


@functools.cache
def repo_files() -> frozenset[str]:
    """Paths git tracks or would track (ignored files excluded), and every folder above them."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT, capture_output=True, text=True, timeout=30, check=True,
        ).stdout.splitlines()  # fmt: skip
    except (OSError, subprocess.SubprocessError):  # not a git checkout: what is on disk
        listed = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if ".venv" not in p.parts]
    names = {name for name in listed if (ROOT / name).exists()}
    return frozenset(
        names | {str(Path(n).parents[i]) for n in names for i in range(len(Path(n).parts) - 1)}
    )


def in_repo(path: Path) -> bool:
    try:
        relative = path.resolve().relative_to(ROOT)
    except ValueError:
        return False
    return str(relative) == "." or str(relative) in repo_files()


def missing_paths(snippet: Snippet) -> list[str]:
    """Repo-relative paths (``profiles/…``, ``docs/…``, …) and link targets that do not exist."""
    if snippet.kind == "inline":  # its prose line is checked
        return []
    problems = []
    for match in PATH.findall(snippet.text):
        token, _, test = re.sub(r":\d+$", "", match.rstrip(".:")).partition("::")
        if token.startswith(OUTPUTS) and not STAMPED.search(token):
            continue
        base = snippet.doc.parent if token.startswith("../") else ROOT
        if not in_repo(base / token):
            problems.append(f"{snippet.where()}: {token} is not in the repo")
        elif test and not _defines(base / token, test.split("[")[0]):
            problems.append(f"{snippet.where()}: {token} has no {test}")
    if snippet.kind == "prose":
        for target in LINK.findall(snippet.text):
            if re.match(r"[a-z]+:", target):
                continue
            name, _, fragment = target.partition("#")
            linked = snippet.doc.parent / name if name else snippet.doc
            if name and not PATH.fullmatch(name) and not in_repo(linked):  # PATH: checked above
                problems.append(f"{snippet.where()}: link {target} is not in the repo")
            elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
                problems.append(f"{snippet.where()}: link {target}: no such heading")
    problems += [
        f"{snippet.where()}: {p} is a path on one machine" for p in MACHINE.findall(snippet.text)
    ]
    return problems


@functools.cache
def anchors(doc: Path) -> frozenset[str]:
    """The heading anchors GitHub gives a markdown file (``## A: b`` → ``a-b``)."""
    if not doc.is_file():
        return frozenset()
    seen: dict[str, int] = {}
    fenced = False
    for line in doc.read_text(encoding="utf-8").splitlines():
        fenced ^= line.lstrip().startswith("```")
        heading = re.match(r"#{1,6} +(.*?) *#*$", line)
        if heading and not fenced:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            seen[slug] = seen.get(slug, -1) + 1
            if seen[slug]:
                seen[f"{slug}-{seen[slug]}"] = 0
    return frozenset(seen)


def _defines(path: Path, test: str) -> bool:
    return (
        re.search(rf"^def {re.escape(test)}\(", path.read_text(encoding="utf-8"), re.M) is not None
    )


def missing_documents(snippet: Snippet) -> list[str]:
    """Cited ``*.md`` files that are not in the repo (by the doc's folder, the root or docs/)."""
    if snippet.kind == "inline":
        return []
    problems = [
        f"{snippet.where()}: {m} is outside the repo" for m in OUTSIDE.findall(snippet.text)
    ]
    for name in MARKDOWN.findall(snippet.text):
        if Path(name).name in RUN_FILES and "/" not in name.lstrip("/"):
            continue
        bases = (snippet.doc.parent, ROOT, ROOT / "docs")
        if not any(in_repo(base / name) for base in bases):
            problems.append(f"{snippet.where()}: {name} is not in the repo")
    return problems


@dataclass(frozen=True)
class Command:
    options: frozenset[str]
    subcommands: dict[str, Command]


def _command(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> Command:
    options: set[str] = set()
    subcommands: dict[str, Command] = {}
    for action in parser._actions:
        options.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                subcommands[name] = _command(sub, (*path, name))
        elif action.nargs == argparse.REMAINDER:  # a server that parses its own options
            options.update(_help_options(path))
    return Command(frozenset(options | {"--debug"}), subcommands)


def _help_options(
    path: tuple[str, ...], program: tuple[str, ...] = ("-m", "peakbench")
) -> set[str]:
    done = subprocess.run(
        [sys.executable, *program, *path, "--help"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, f"{' '.join((*program, *path))} --help: {done.stderr}"
    rows = re.findall(r"^ +(-{1,2}[A-Za-z][\w-]*)(?:[^,\n]*, (--[\w-]+))?", done.stdout, re.M)
    return {flag for row in rows for flag in row if flag}


@functools.cache
def cli() -> Command:
    from peakbench.cli.main import build_parser

    return _command(build_parser(), ())


@functools.cache
def script(path: str) -> Command:
    """A benchmark script's options, from its own ``--help``."""
    return Command(frozenset(_help_options((), (path,))), {})


def bad_invocations(snippet: Snippet, root: Command) -> list[str]:
    """``peakbench`` subcommands and flags, and benchmark scripts' flags, in code that the real
    parsers do not have."""
    if snippet.kind == "prose":
        return []
    text = snippet.text
    starts = [(m.end(), root, "peakbench") for m in COMMAND.finditer(text)]
    if SUBCOMMAND_SPAN.match(text):
        starts.append((0, root, "peakbench"))
    for m in SCRIPT.finditer(text):
        if in_repo(ROOT / m.group(1)):  # a missing script is a missing path
            starts.append((m.end(), script(m.group(1)), m.group(1)))
    problems = []
    for start, program, name in starts:
        rest = re.split(r"\s#|['\"|>&;]", text[start:])[0]
        words = [w.strip("[]") for w in rest.split()]
        command, path = program, [name]
        for word in words:
            if word.startswith("-") and len(word) > 1 and not word[1].isdigit():
                flag = word.split("=")[0]
                if flag not in command.options:
                    problems.append(f"{snippet.where()}: {' '.join(path)} has no {flag}")
            elif command.subcommands and word:
                if word not in command.subcommands:
                    problems.append(f"{snippet.where()}: {' '.join(path)} has no command {word}")
                    break
                command, path = command.subcommands[word], [*path, word]
    return problems


@functools.cache
def make_targets() -> frozenset[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    variables = dict(re.findall(r"^(\w+)\s*:?=\s*(\S+)", text, re.M))

    def expand(word: str) -> str:
        for _ in range(5):
            word = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), ""), word)
        return word

    heads = re.findall(r"^([^\s:#=][^:=]*?):(?!=)", text, re.M)
    return frozenset(expand(t) for head in heads for t in head.split() if t != ".PHONY")


def bad_make_targets(snippet: Snippet) -> list[str]:
    if snippet.kind == "prose":
        return []
    return [
        f"{snippet.where()}: the Makefile has no target {target}"
        for target in MAKE.findall(snippet.text)
        if target not in make_targets()
    ]


def _all(check: object) -> list[str]:
    return [problem for doc in DOCS for s in snippets(doc) for problem in check(s)]  # type: ignore[operator]


def test_paths_and_links_the_docs_name_are_in_the_repo() -> None:
    assert _all(missing_paths) == []


def test_documents_the_docs_cite_are_in_the_repo() -> None:
    assert _all(missing_documents) == []


def test_peakbench_commands_and_flags_in_the_docs_exist() -> None:
    root = cli()
    assert _all(lambda s: bad_invocations(s, root)) == []


def test_make_targets_in_the_docs_exist() -> None:
    assert _all(bad_make_targets) == []


def test_profiles_and_fleets_the_docs_name_are_valid() -> None:
    from mocks.standalone import load_fleet_file
    from peakbench.config.loader import load_profile

    named = {
        token
        for doc in DOCS
        for s in snippets(doc)
        if s.kind != "inline"
        for token in PATH.findall(s.text)
        if token.startswith("profiles/") and token.endswith(".yaml")
    }
    assert "profiles/staging-woocommerce.yaml" in named
    for name in sorted(named):
        load = load_fleet_file if name.startswith("profiles/fleets/") else load_profile
        load(ROOT / name)  # raises ProfileError naming the file, line and field


def test_the_checks_catch_what_does_not_exist() -> None:
    doc = ROOT / "docs" / "example.md"
    text = (
        "See `profiles/fleet-example.yaml`, [the fleet](../profiles/fleets/nope.yaml),\n"
        "benchmarks/out/store-20261124T155021Z.json `shared/reference/peaks.md` (carriers.md),\n"
        "`tests/test_docs.py::test_nothing`, results/<run>/summary.md, [doc](missing.md).\n"
        "```\n"
        "peakbench mocks serve --fleet profiles/fleets/fleet-example.yaml --no-such-flag\n"
        "peakbench run profiles/black-friday.yaml \\\n"
        "  --procesess 2\n"
        ".venv/bin/python benchmarks/bench_store.py --seconds 8 --conections 32\n"
        "peakbench serve\n"
        "make runn\n"
        "```\n"
        "\n"
        "    peakbench run --ui --uii\n"
        "[a](#nowhere) [b](mocks.md#admin-api) [c](mocks.md#no-such) /work/x `/etc/peakbench/tls`\n"
        "Fine: `peakbench store serve --host 127.0.0.1`, [mocks](mocks.md), `make test`.\n"
    )
    found = [
        problem
        for s in snippets(doc, text)
        for problem in (
            *missing_paths(s), *missing_documents(s),
                *bad_invocations(s, cli()), *bad_make_targets(s),
        )
    ]  # fmt: skip
    assert found == [
        "docs/example.md:1: profiles/fleet-example.yaml is not in the repo",
        "docs/example.md:1: ../profiles/fleets/nope.yaml is not in the repo",
        "docs/example.md:2: benchmarks/out/store-20261124T155021Z.json is not in the repo",
        "docs/example.md:2: shared/reference is outside the repo",
        "docs/example.md:2: shared/reference/peaks.md is not in the repo",
        "docs/example.md:2: carriers.md is not in the repo",
        "docs/example.md:3: tests/test_docs.py has no test_nothing",
        "docs/example.md:3: link missing.md is not in the repo",
        "docs/example.md:3: missing.md is not in the repo",
        "docs/example.md:5: peakbench mocks serve has no --no-such-flag",
        "docs/example.md:6: peakbench run has no --procesess",
        "docs/example.md:8: benchmarks/bench_store.py has no --conections",
        "docs/example.md:9: peakbench has no command serve",
        "docs/example.md:10: the Makefile has no target runn",
        "docs/example.md:13: peakbench run has no --uii",
        "docs/example.md:14: link #nowhere: no such heading",
        "docs/example.md:14: link mocks.md#no-such: no such heading",
        "docs/example.md:14: /work/x is a path on one machine",
    ]
