"""Load and validate catalog files: the packaged ones or a user's, with located error messages."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from advisor.data import cache
from advisor.data.records import SCHEMA_VERSION
from advisor.data.schema import Catalog, ModelEntry, lineage_problems
from advisor.errors import CatalogError, InputError
from advisor.i18n import N_, msg

if TYPE_CHECKING:
    from pydantic import ValidationError

MODELS_FILE = "qwen_models.toml"
CATALOG_ENV = "ADVISOR_CATALOG"
T = TypeVar("T")
V = TypeVar("V")


def packaged_path(name: str) -> Path:
    """Path of a packaged catalog file (`catalog/` in the source tree, `advisor/catalog` installed).

    The package is always a directory on disk (no zip installs), so its `__file__` locates the
    files without importing `importlib.resources` (a tenth of the start-up time)."""
    from importlib import import_module

    return Path(import_module("advisor.catalog").__file__ or ".").parent / name


def display_name(path: Path) -> str:
    """Packaged files are named as in the repository (`catalog/qwen_models.toml`)."""
    try:
        if path.resolve().parent == packaged_path(MODELS_FILE).resolve().parent:
            return f"catalog/{path.name}"
    except OSError:
        pass
    return str(path)


def read_raw(path: Path) -> bytes:
    """A catalog file's bytes; every failure becomes a CatalogError naming the file."""
    name = display_name(path)
    try:
        if path.is_dir():
            raise CatalogError([f"{name}: is a directory, not a TOML file"])
        return cache.read_file(path)
    except FileNotFoundError:
        raise CatalogError([f"{name}: no such file"]) from None
    except OSError as exc:
        raise CatalogError([f"{name}: cannot be read ({exc.strerror})"]) from None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; every failure becomes a CatalogError naming the file.

    tomli is the standard library's tomllib, compiled: about 3x faster on a large catalog."""
    import tomli

    name = display_name(path)
    raw = read_raw(path)
    if not raw.strip():
        raise CatalogError([f"{name}: the file is empty; expected TOML with [[models]] tables"])
    try:
        return tomli.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CatalogError([f"{name}: not UTF-8 text (binary file?)"]) from None
    except tomli.TOMLDecodeError as exc:
        raise CatalogError([f"{name}: TOML syntax error: {exc}"]) from None
    except RecursionError:  # tomli's own limit is 400 levels; deeper input ends up here
        raise CatalogError([f"{name}: TOML syntax error: arrays or tables nested too deeply; "
                            "expected a catalog of [[models]] tables"]) from None


def cached_toml(kind: str, path: Path) -> dict[str, Any]:
    """A packaged data file's TOML as plain data, from the cache while its bytes are unchanged
    (for files read as they are, without records; they must hold no dates, which JSON would
    turn into strings)."""
    return cache.load(kind, [path], lambda: read_toml(path), dict[str, Any])


def _field_path(loc: Iterable[int | str]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1]}[{part}]" if parts else f"[{part}]"]
        else:
            parts.append(part)
    return ".".join(parts)


def located_errors(exc: ValidationError, prefix: str) -> list[str]:
    """One `prefix: field: message` line per problem in a pydantic error."""
    lines = []
    for err in exc.errors(include_url=False):
        where = _field_path(err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            message = "unknown key"
        elif err["type"] == "missing":
            message = "required field is missing"
        lines.extend(f"{prefix}: {where}: {line}" if where else f"{prefix}: {line}"
                     for line in message.split("\n"))
    return lines


def checked(kind: Any, data: Any, where: str) -> tuple[Any, list[str]]:
    """`data` validated as `kind`, or None and a located line per problem."""
    from advisor.data.validation import ValidationError, validate

    try:
        return validate(kind, data), []
    except ValidationError as exc:
        return None, located_errors(exc, where)


def validate_table(items: Any, model: type[T], where: str) -> tuple[dict[str, T], list[str]]:
    """Validate each value of a table of tables (`[defaults.phone]`), keyed as in the file."""
    if not isinstance(items, dict):
        return {}, [f"{where}: must be a table"]
    records: dict[str, T] = {}
    problems: list[str] = []
    for key, item in items.items():
        record, more = checked(model, item, f"{where}.{key}")
        if more:
            problems += more
        else:
            records[key] = record
    return records, problems


def validate_records(
    items: Any, model: type[T], name: str, kind: str, key: str
) -> tuple[list[T], list[str]]:
    """Validate each table of an array-of-tables, collecting every problem with its location."""
    if not isinstance(items, list):
        return [], [f"{name}: '{key}' must be an array of tables ([[{key}]])"]
    records: list[T] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        ident = item.get("id") if isinstance(item, dict) else None
        where = f"{name}: {kind} '{ident}'" if isinstance(ident, str) else f"{name}: {key}[{index}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be a table")
            continue
        if isinstance(ident, str):
            if ident in seen:
                problems.append(f"{where}: id: duplicate id")
            seen.add(ident)
        record, more = checked(model, item, where)
        if more:
            problems += more
        else:
            records.append(record)
    return records, problems


def _models_from(path: Path) -> tuple[list[ModelEntry], list[str], bool]:
    data = read_toml(path)
    name = display_name(path)
    problems = [
        f"{name}: unknown top-level key '{key}'"
        for key in data
        if key not in ("schema_version", "models", "extends_packaged")
    ]
    if "models" not in data:
        problems.append(f"{name}: no [[models]] tables")
    version = data.get("schema_version", SCHEMA_VERSION)
    if type(version) is not int or version != SCHEMA_VERSION:
        problems.append(f"{name}: schema_version: {version!r} is not supported; expected "
                        f"{SCHEMA_VERSION} (or no schema_version)")
    extends = data.get("extends_packaged", False)
    if not isinstance(extends, bool):  # "false" is a non-empty string, true to bool()
        problems.append(f"{name}: extends_packaged: must be true or false (a TOML boolean, "
                        f"unquoted), not {extends!r}")
        extends = False
    models, more = validate_records(data.get("models", []), ModelEntry, name, "model", "models")
    return models, problems + more + _control_problems(data.get("models"), name), extends


def _control_problems(items: Any, name: str) -> list[str]:
    """Strings of a catalog are printable text: an escape sequence, a control character (but a
    newline or tab) or a bidi override in any of them is a located error."""
    from advisor.errors import control_chars, printable

    found: list[str] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, str):
            bad = control_chars().search(value)
            if bad:
                quoted = printable(value[:60]).replace("\n", "\\n")  # one error line
                found.append(f"{where}: {printable(bad.group())} in '{quoted}': "
                             "control and invisible formatting characters are not allowed; "
                             "expected printable text")
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{where}.{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, f"{where}[{i}]")

    for index, model in enumerate(items if isinstance(items, list) else []):
        ident = model.get("id") if isinstance(model, dict) else None
        where = (f"{name}: model '{printable(ident)}'" if isinstance(ident, str)
                 else f"{name}: models[{index}]")
        if isinstance(model, dict):
            for key, item in model.items():
                walk(item, f"{where}: {key}")
    return found


def load_catalog(path: Path | None = None) -> Catalog:
    """Load the packaged catalog, or `path` (which may extend the packaged one)."""
    return _load_cached(str(path) if path else os.environ.get(CATALOG_ENV) or None)


@lru_cache(maxsize=8)
def _load_cached(path: str | None, use_cache: bool = True) -> Catalog:
    if not use_cache:
        return _validated(path)
    # quantization.toml is the vocabulary of quant names the validation checks against
    files = [packaged_path(MODELS_FILE), packaged_path("quantization.toml"),
             *([Path(path)] if path else [])]
    return cache.load("catalog", files, lambda: _validated(path), Catalog)


def _validated(path: str | None) -> Catalog:
    packaged = packaged_path(MODELS_FILE)
    if path is None:
        models, problems, _ = _models_from(packaged)
        problems += _vocabulary_problems(models, display_name(packaged))
    else:
        name = display_name(Path(path))
        models, problems, extends = _models_from(Path(path))
        problems += _vocabulary_problems(models, name)
        if extends:
            base, base_problems, _ = _models_from(packaged)
            problems = base_problems + problems + _shadowing(base, models, name)
            models = base + models
    problems += lineage_problems(models)
    if problems:
        raise CatalogError(problems)
    return Catalog(models=tuple(models))


def _shadowing(base: list[ModelEntry], mine: list[ModelEntry], name: str) -> list[str]:
    """A user's model may not take a packaged model's id or Hugging Face repo: `run qwen3-8b`
    and `show Qwen/Qwen3-8B` would quietly print the user's repo instead."""
    ids = {m.id for m in base}
    repos = {m.hf_repo.lower(): m.id for m in base if m.hf_repo}
    problems = [f"{name}: model '{m.id}': id: a packaged model has this id; give yours its own "
                "id (or drop extends_packaged to use your catalog alone)"
                for m in mine if m.id in ids]
    problems += [f"{name}: model '{m.id}': hf_repo: '{m.hf_repo}' is the repo of packaged model "
                 f"'{repos[m.hf_repo.lower()]}'; one repo names one model"
                 for m in mine if m.hf_repo and m.hf_repo.lower() in repos and m.id not in ids]
    return problems


def _vocabulary_problems(models: list[ModelEntry], name: str) -> list[str]:
    """One Hugging Face repo per model of a file, and quant names from the closed vocabulary."""
    from advisor.data.formats import load_tables
    from advisor.data.schema import GGUF_QUANT_TYPES

    tables = load_tables()
    known = {*tables.formats, *tables.format_aliases, *GGUF_QUANT_TYPES}
    problems: list[str] = []
    owner: dict[str, str] = {}
    for m in models:
        if m.hf_repo:
            first = owner.setdefault(m.hf_repo.lower(), m.id)
            if first != m.id:
                problems.append(f"{name}: model '{m.id}': hf_repo: '{m.hf_repo}' is already the "
                                f"repo of '{first}'; one repo names one model")
        for where, quants in [*((f"quantized[{i}]", q.quants) for i, q in enumerate(m.quantized)),
                              *((f"artifacts[{i}]", a.quants) for i, a in enumerate(m.artifacts))]:
            problems += [f"{name}: model '{m.id}': {where}.quants: unknown quantization '{q}'; "
                         "expected a weight format of catalog/quantization.toml or a llama.cpp "
                         "GGUF type"
                         for q in quants if q not in known]
    return problems


def check_catalog(path: Path | None) -> list[str]:
    """Every problem in a catalog file (empty when it is valid), validated afresh."""
    try:
        _load_cached(str(path) if path else os.environ.get(CATALOG_ENV) or None, use_cache=False)
    except CatalogError as exc:
        return exc.problems
    return []


def suggest(name: str, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest choice, or nothing."""
    import difflib

    close = difflib.get_close_matches(name.lower(), list(choices), n=1, cutoff=0.6)
    return msg("; did you mean '{choice}'?", choice=close[0]) if close else ""


def resolve(name: str, items: Mapping[str, V], what: str, aliases: dict[str, str] | None = None,
            hint: Callable[[], str] | None = None) -> V:
    """Find an item by id or alias, case-insensitively, or raise InputError with a suggestion."""
    key = name.strip().lower()
    aliases = aliases or {}
    if key in items:
        return items[key]
    if key in aliases:
        return items[aliases[key]]
    advice = suggest(key, [*items, *aliases]) or (hint() if hint else "")
    raise InputError(msg("unknown {what} '{name}'{advice}", what=what, name=name, advice=advice))


KINDS = (N_("model"), N_("task"), N_("family"), N_("device class"), N_("device"), N_("source"),
         N_("runtime"), N_("document"), N_("method"), N_("framework"), N_("quantization"),
         N_("KV cache dtype"))
"""What `resolve` is asked to find (its `what`), translated where the error is shown."""
PURPOSES = (N_("run locally"), N_("serve"), N_("host"), N_("draft for"), N_("fine-tune"))
"""`find_open_model`'s purposes, translated where the error is shown."""


def find_model(catalog: Catalog, name: str) -> ModelEntry:
    """A model by catalog id or Hugging Face repo id, case-insensitively."""
    models = catalog.by_id()
    repos = {m.hf_repo.lower(): m.id for m in catalog.models if m.hf_repo}
    return resolve(name, models, "model", repos, lambda: msg("; see `advisor models`"))


def find_open_model(catalog: Catalog, name: str, purpose: str) -> ModelEntry:
    """`find_model` for commands that need weights: an API-only model is an InputError saying
    there is nothing to `purpose` (run locally, serve, draft for ...)."""
    entry = find_model(catalog, name)
    if not entry.open_weights or entry.config is None:
        raise InputError(msg("'{model}' is API-only (no open weights): nothing to {purpose}",
                             model=entry.id, purpose=purpose))
    return entry
