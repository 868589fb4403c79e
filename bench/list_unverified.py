"""Rewrite catalog/UNVERIFIED.md from the catalog's `verified_via` notes.

Run after editing catalog/qwen_models.toml: python bench/list_unverified.py
(tests/test_loader.py fails while the list and the catalog disagree).
"""

from __future__ import annotations

from pathlib import Path

from advisor.data.loader import load_catalog

OUT = Path(__file__).resolve().parents[1] / "catalog" / "UNVERIFIED.md"
HEAD = """# Catalog values not read in an official copy

Hugging Face pages are not reachable from where this catalog was built, so model cards and
`config.json` files were read in copies kept in public repositories, and in the official QwenLM
repositories and blog. Where a value could not be read in such a copy, its source's
`verified_via` note says `UNVERIFIED` and why (for example: a config assumed equal to the base
model's, a parameter count taken from the model's name). `advisor show MODEL` prints those notes.

Every model below has at least one such field; the list names the fields backed by a source with
an `UNVERIFIED` note (a source often backs several fields, only some of which are unverified).
`tests/test_loader.py` keeps this list in step with the catalog; `python bench/list_unverified.py`
rewrites it. To fix an entry, read the official file, correct the value, and drop the word from
the note.
"""


def main() -> None:
    models = load_catalog().models
    marked = [m for m in models if m.unverified]
    rows = [f"| `{m.id}` | {', '.join(m.unverified)} |" for m in marked]
    table = ["| model | fields with an unverified part |", "| --- | --- |", *rows]
    OUT.write_text("\n".join([HEAD, *table, "", f"{len(marked)} of {len(models)} models.", ""]))
    print(f"{OUT}: {len(marked)} of {len(models)} models")


if __name__ == "__main__":
    main()
