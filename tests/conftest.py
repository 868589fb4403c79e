"""Shared fixtures: no network, stable terminal width, paths to fixture catalogs."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The advisor never touches the network: any socket creation fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the advisor tried to open a network socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("advisor-cache")


@pytest.fixture(autouse=True)
def stable_env(monkeypatch: pytest.MonkeyPatch, cache_dir: Path) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(cache_dir))
    monkeypatch.delenv("ADVISOR_NO_CACHE", raising=False)
    monkeypatch.delenv("ADVISOR_CATALOG", raising=False)
    monkeypatch.delenv("ADVISOR_DEBUG", raising=False)
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):  # English unless a test asks (issue 18)
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    from advisor import i18n

    i18n.set_language(None)


@pytest.fixture
def small_catalog() -> Path:
    return DATA / "small_catalog.toml"
