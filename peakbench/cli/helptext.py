"""How the command line describes itself: ``--help`` with every default shown, ``--version``."""

from __future__ import annotations

import argparse
from typing import Any


class DefaultsShown(argparse.ArgumentDefaultsHelpFormatter):
    """Help with every default shown, except the ones that say nothing (off, none, empty)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if default is None or default is False or default == [] or default == argparse.SUPPRESS:
            return action.help
        if "default:" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``parser`` and every subcommand's parser below it."""
    out = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                out += all_parsers(sub)
    return out


def version_text() -> str:
    """``peakbench 0.1.0 (git 1a2b3c4d5e6f)``: the installed version, and the commit of the
    source it runs from when that is a git checkout."""
    from importlib import metadata

    from peakbench.measure.results import _git_commit

    try:
        version = metadata.version("peakbench")
    except metadata.PackageNotFoundError:
        version = "unknown"
    commit = _git_commit()
    return f"peakbench {version}" + (f" (git {commit[:12]})" if commit else "")


class VersionAction(argparse.Action):
    """``--version``: computed when asked (it runs git), not every time the parser is built."""

    def __init__(self, option_strings: list[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(version_text())
        parser.exit()
