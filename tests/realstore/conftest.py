"""The real store, built once per test session under pytest's temporary root (see _wpstore.py).

Skipped, with one line, only where the plugins are absent; a missing package or a failed build
is an error, not a skip (CI always has both)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _wpstore import RealStore, StoreUnavailable, build_store, plugins_dir


@pytest.fixture(scope="session")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealStore]:
    """A running WordPress + WooCommerce + AST + TrackShip store over HTTPS on loopback."""
    try:
        plugins = plugins_dir()
    except StoreUnavailable as exc:
        pytest.skip(str(exc))
    store = build_store(tmp_path_factory.mktemp("realstore"), plugins)
    try:
        yield store
    finally:
        store.stop()
