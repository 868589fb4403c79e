"""Documents in every format (JSON, Markdown, CSV) and atomic writes to files."""

from __future__ import annotations

import contextlib
import io
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from advisor.errors import ExportError

Rows = tuple[list[str], list[list[str]]]


def _gb(n: int | None) -> str:
    return "" if n is None else f"{n / 1e9:.2f}"


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.1f}"


def flat_rows(result: Any) -> Rows:
    """The result as one table of strings: the shape Markdown and CSV share."""
    name = type(result).__name__
    if name == "ModelsResult":
        head = ["id", "hf_repo", "open_weights", "params_total", "params_active", "context_native",
                "context_max", "modalities_in", "tasks", "license", "commercial_use", "released"]
        return head, [[m.id, m.hf_repo or "", str(m.open_weights), str(m.params_total or ""),
                       str(m.params_active or ""), str(m.context_native), str(m.context_max),
                       "+".join(m.modalities.input), "+".join(m.tasks), m.license.id,
                       str(m.license.commercial_use), str(m.release_date or "")]
                      for m in result.models]
    if name == "DevicesResult":
        head = ["id", "class", "name", "memory_gib", "usable_fraction", "bandwidth_gb_s",
                "fp16_tflops", "runtimes"]
        return head, [[d.id, d.device_class, d.name, f"{d.memory_gib:g}",
                       f"{d.usable_memory_fraction:g}", f"{d.bandwidth_gb_s:g}",
                       "" if d.fp16_tflops is None else f"{d.fp16_tflops:g}", "+".join(d.runtimes)]
                      for d in result.devices]
    if name == "Recommendation":
        head = ["rank", "model_id", "deployment", "quant", "runtime", "memory_gb", "usable_gb",
                "decode_tokens_per_s", "max_context_tokens", "license", "score", "why"]
        rows = [[str(p.rank), p.model_id, p.deployment, p.quant or "", p.runtime or "",
                 _gb(p.memory.total_bytes if p.memory else None),
                 _gb(p.memory.usable_bytes if p.memory else None),
                 _num(p.speed.decode_tokens_per_s if p.speed else None),
                 str(p.max_context_tokens or ""), p.license, f"{p.score:.3f}", p.why]
                for p in result.recommendations]
        rows += [["", e.model_id, "excluded", "", "", "", "", "", "", "", "",
                  "; ".join(f"{r.rule}: {r.message}" for r in e.reasons)]
                 for e in result.excluded]
        return head, rows
    if name == "CompareResult":
        ids = list(result.models)
        return ["attribute", *ids, "best"], [
            [row.attribute, *row.values, "+".join(ids[i] for i in row.best)]
            for row in result.rows]
    from advisor.data.records import jsonable

    leaves = _leaves(jsonable(result, by_alias=False))
    return ["field", "value"], [[k, _text(v)] for k, v in leaves]


def _leaves(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Flatten nested objects to dotted keys (lists stay whole)."""
    if isinstance(data, dict):
        out: list[tuple[str, Any]] = []
        for key, value in data.items():
            out += _leaves(value, f"{prefix}{key}.")
        return out
    return [(prefix.rstrip("."), data)]


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def to_markdown(result: Any) -> str:
    head, rows = flat_rows(result)

    from advisor.errors import strip_controls

    def cell(text: str) -> str:  # a table for people: no escape sequences either
        return strip_controls(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def to_csv(result: Any) -> str:
    import csv

    head, rows = flat_rows(result)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(head)
    writer.writerows(rows)
    return buffer.getvalue()


def to_json(result: Any) -> str:
    """The versioned JSON document, byte for byte what pydantic's serialiser writes for its type
    (tests check it), without importing pydantic."""
    from advisor.data.records import dump_json

    return dump_json(result) + "\n"


def for_stdout(text: str, is_json: bool) -> str:
    """`text` as stdout's encoding can take it: JSON with `\\u` escapes where stdout is not
    UTF-8 (still the same document), other text with `?` for what it cannot show."""
    import sys

    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        if is_json:
            import json

            return json.dumps(json.loads(text), indent=2, ensure_ascii=True) + "\n"
        return text.encode("ascii", "replace").decode("ascii")
    return text


def render_text(tables: Callable[[], list[Any]], width: int = 120) -> str:
    from advisor.output.table import render_text

    return render_text(tables(), width)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, text: str) -> None:
    """Write the whole file or nothing: a temporary file beside it, then a rename.

    Only regular files are written: a directory, device, FIFO or socket at the path is refused
    (`>` is the way to write to those). A symlink is written through: the new file replaces
    the link's target, and the link stays. An existing file keeps its mode (and, where the
    writer may set it, its owner); a new one gets the umask's mode (0666 & ~umask)."""
    target = Path(path)

    def fail(why: str) -> ExportError:
        return ExportError(f"cannot write {target}: {why}")

    try:
        st: os.stat_result | None = os.stat(target)  # follows a symlink to what it names
    except FileNotFoundError:
        st = None
    except OSError as exc:  # ENAMETOOLONG, ENOTDIR, EACCES, ELOOP
        raise fail(exc.strerror or str(exc)) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise fail("it is a directory; give a file name")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise fail("not a regular file (a device, FIFO or socket); -o writes regular files "
                   "only: use > to write to it")
    real = Path(os.path.realpath(target)) if target.is_symlink() else target
    parent = real.parent if str(real.parent) else Path(".")
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    try:
        import tempfile

        fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{real.name[:40]}.", suffix=".tmp")
    except OSError as exc:
        raise fail(exc.strerror or str(exc)) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if st is not None and (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(OSError):  # only root may give a file away
                    os.fchown(f.fileno(), st.st_uid, st.st_gid)
            os.fchmod(f.fileno(), mode)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, real)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise fail(exc.strerror or str(exc)) from None
        raise
