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


@pytest.fixture(autouse=True)
def stable_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.delenv("ADVISOR_CATALOG", raising=False)
    monkeypatch.delenv("ADVISOR_DEBUG", raising=False)


@pytest.fixture
def small_catalog() -> Path:
    return DATA / "small_catalog.toml"
