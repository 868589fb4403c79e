"""The catalog cache cannot run code and uses only a directory and entries that are the user's
own."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from advisor.data import cache
from advisor.data.loader import _load_cached, load_catalog, packaged_path

DATA = Path(__file__).parent / "data"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(where))
    _load_cached.cache_clear()
    yield where
    _load_cached.cache_clear()


def packaged_key() -> Path:
    found = cache.location("catalog", [packaged_path("qwen_models.toml").read_bytes()])
    assert found is not None
    return found


class Payload:
    marker = ""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_at_the_key_is_never_run(store: Path, tmp_path: Path) -> None:
    Payload.marker = str(tmp_path / "code-ran")
    store.mkdir(mode=0o700)
    packaged_key().write_bytes(pickle.dumps(Payload()))
    assert len(load_catalog().models) > 50
    assert not (tmp_path / "code-ran").exists()


def test_a_fifo_at_the_key_does_not_hang(store: Path) -> None:
    store.mkdir(mode=0o700)
    os.mkfifo(packaged_key())
    assert cache.read(packaged_key(), dict) is None
    assert len(load_catalog().models) > 50


def test_an_entry_renamed_onto_another_key_is_ignored(store: Path) -> None:
    load_catalog(DATA / "user_extends.toml")  # an entry for packaged + user's models
    theirs = next(p for p in store.iterdir() if p.name.startswith("catalog-"))
    theirs.rename(packaged_key())
    _load_cached.cache_clear()
    ids = {m.id for m in load_catalog().models}
    assert "acme-qwen3-8b-ft" not in ids  # the packaged catalog, built afresh


@pytest.mark.parametrize("how", ["world-writable", "symlink"])
def test_a_directory_others_control_is_not_used(store: Path, tmp_path: Path, how: str) -> None:
    if how == "world-writable":
        store.mkdir()
        store.chmod(0o777)
    else:
        real = tmp_path / "elsewhere"
        real.mkdir(mode=0o700)
        store.symlink_to(real)
    assert len(load_catalog().models) > 50
    assert not any(store.iterdir())  # nothing written there
    assert cache.read(packaged_key(), dict) is None


def test_the_directory_is_made_private(store: Path) -> None:
    load_catalog()
    assert store.stat().st_mode & 0o777 == 0o700
    names = [p.name for p in store.iterdir()]
    assert names and all(cache.ENTRY.match(n) for n in names)


def test_pruning_touches_only_entries_it_wrote(store: Path) -> None:
    store.mkdir(mode=0o700)
    mine = [store / "catalog-notes.pickle", store / "catalog-mine.json", store / "catalog.json"]
    for path in mine:
        path.write_text("the user's own file")
    for i in range(cache.KEEP_PER_KIND + 3):
        cache.write(store / f"catalog-{i:032x}.json", {"i": i})
    entries = [p for p in store.iterdir() if cache.ENTRY.match(p.name)]
    assert len(entries) == cache.KEEP_PER_KIND
    assert all(p.exists() for p in mine)


@pytest.mark.parametrize(("value", "on"), [("0", True), ("false", True), ("", True),
                                           ("1", False), ("yes", False)])
def test_no_cache_switch_reads_as_a_boolean(monkeypatch: pytest.MonkeyPatch, value: str,
                                            on: bool) -> None:
    monkeypatch.setenv("ADVISOR_NO_CACHE", value)
    assert (cache.directory() is not None) is on


def test_a_relative_xdg_cache_home_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ADVISOR_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "relcache")
    where = cache.directory()
    assert where is not None and where.is_absolute()


def test_entries_decode_back_into_the_records(store: Path) -> None:
    first = load_catalog()
    _load_cached.cache_clear()
    assert load_catalog() == first  # from the JSON entry
    assert any(p.name.startswith("catalog-") for p in store.iterdir())


def test_a_catalog_from_a_pipe_is_read_once(tmp_path: Path) -> None:
    advisor = Path(sys.executable).with_name("advisor")
    env = {**os.environ, "ADVISOR_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run([str(advisor), "--catalog", "/dev/stdin", "models", "--json"],
                         input=(DATA / "small_catalog.toml").read_bytes(), capture_output=True,
                         env=env, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert b'"qwen3-8b"' in run.stdout
