"""Fit one quality scale per task area from published benchmark tables; write catalog/quality.toml.

Method (plain Python, deterministic):
  * Inputs: every model's card benchmarks (catalog/qwen_models.toml `benchmarks`, one table per
    benchmark key) and independent boards (catalog/evidence.toml, one table per board).
  * A benchmark counts in the areas listed in AREAS; the area's own benchmarks weigh 1, the
    general benchmarks weigh GENERAL_WEIGHT in every other text area (general ability carries
    over), so each model with any evidence is placed. Tables with fewer than MIN_MODELS models
    link nothing and are skipped.
  * Each table is divided by its standard deviation across its models; the additive model
    z[b, m] = q[m] + a[b] + noise (a per-benchmark offset, a per-model score) is fitted by
    alternating weighted least squares, shrunk toward a prior with strength PRIOR_STRENGTH.
  * The prior is a least-squares line in log2(effective billions) (MoE: sqrt(total x active);
    n-gram lookup tables not counted) and generation index, fitted on the models with evidence;
    models without evidence get the prior alone and `estimated = true`. The line does not
    extrapolate: above the largest model with evidence the size term stops and the SD grows by
    slope x excess (`extrapolated`).
  * Uncertainty: residual SD / sqrt(weight of the model's evidence + prior strength); for
    estimated models the prior's residual SD.
  * Held-out check: each table with >= 4 models is left out in turn, the rest refitted, and the
    left-out table's order predicted; Kendall tau is reported (README, "How picks are ranked").

Run: python bench/fit_quality.py [--check]   (--check: exit 1 when quality.toml is stale)
"""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "catalog"
OUT = CATALOG / "quality.toml"

GENERATIONS = {"2.5": 0, "3": 1, "3-2507": 2, "3.5": 3, "3.6": 4, "3.8": 5}
MIN_MODELS = 3
GENERAL_WEIGHT = 0.35
PRIOR_STRENGTH = 1.0
ITERATIONS = 60

_GENERAL = ["mmlu-redux", "mmlu-pro", "mmlu", "ifeval", "livebench", "arena-hard", "arena-hard-v2",
            "multi-if", "writingbench", "creative-writing-v3", "mt-bench", "supergpqa", "simpleqa",
            "mmlu-redux-nothink", "ifeval-nothink", "livebench-nothink", "arena-hard-nothink",
            "multi-if-nothink", "aa-index"]
AREAS: dict[str, list[str]] = {
    "general": _GENERAL,
    "reasoning": ["gpqa", "gpqa-diamond", "gpqa-nothink", "supergpqa", "aime24", "aime25",
                  "aime26", "hmmt25", "math-500", "math", "gsm8k", "zebralogic", "polymath",
                  "hle", "arc-agi", "olympiadbench", "amc23", "math-tir", "aime24-nothink",
                  "aime25-nothink", "math-500-nothink", "polymath-nothink", "aa-index"],
    "code": ["livecodebench", "livecodebench-v5", "livecodebench-v6", "multipl-e", "humaneval",
             "mbpp", "aider-polyglot", "aider", "cfeval", "ojbench", "swe-bench-verified",
             "mceval", "mdeval", "livecodebench-v5-nothink", "aa-index"],
    "agent": ["bfcl-v3", "bfcl-v3-nothink", "swe-bench-verified", "aa-index"],
    "chinese": ["ceval", "ceval-nothink", "cmmlu", "alignbench", "csimpleqa"],
    "vision": ["mmmu", "mathvista-mini", "mathvision-full"],
    "long-context": ["ruler-1m-avg"],
    "embedding": ["mteb-multilingual", "mteb-eng-v2", "cmteb", "mteb-code", "mldr"],
    "rerank": ["mteb-r", "cmteb-r", "mmteb-r", "followir"],
}
# areas whose models are judged on their own benchmarks only (no general carry-over)
STANDALONE = {"embedding", "rerank"}

Table = dict[str, float]  # model id -> value


def load_inputs() -> tuple[list[dict], dict[str, Table], dict[str, str]]:
    """Models, tables (benchmark -> {model: value}) and each table's source label."""
    models = tomllib.loads((CATALOG / "qwen_models.toml").read_text())["models"]
    evidence = tomllib.loads((CATALOG / "evidence.toml").read_text())
    ids = {m["id"] for m in models}
    tables: dict[str, Table] = {}
    labels: dict[str, str] = {}
    for m in models:
        for key, value in m.get("benchmarks", {}).items():
            tables.setdefault(key, {})[m["id"]] = float(value)
            labels[key] = "card"
    board_areas(evidence)
    for row in evidence.get("results", []):
        if row["model"] in ids:
            tables.setdefault(row["board"], {})[row["model"]] = float(row["value"])
            labels[row["board"]] = evidence["boards"][row["board"]]["label"]
    return models, tables, labels


def board_areas(evidence: dict) -> None:
    """A board counts in the areas its evidence.toml entry lists (a card's benchmark tables, one
    board each); one listed in "general" also carries over to the other text areas."""
    for key, board in evidence.get("boards", {}).items():
        for area in board.get("areas", []):
            if key not in AREAS[area]:
                AREAS[area].append(key)
            if area == "general" and key not in _GENERAL:
                _GENERAL.append(key)


def inputs_hash(names: tuple[str, ...] = ("qwen_models.toml", "evidence.toml")) -> str:
    """BLAKE2 of the fit's inputs and this script. `method_hash` covers evidence.toml and the
    script only: the catalog may gain models before the next refit (they get the stored prior at
    run time, marked estimated)."""
    digest = hashlib.blake2b(digest_size=16)
    for name in names:
        digest.update((CATALOG / name).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def ngram_table_params(m: dict) -> int:
    """N-gram embedding tables (Qwen3.8-Flash-Next): looked up, not computed; no size for the
    prior."""
    c = m.get("config", {})
    return (c.get("ngram_vocab_size_base") or 0) * (c.get("ple_embed_dim") or 0) * len(
        c.get("ple_layer_ids") or ())


def effective_log_size(m: dict) -> float:
    total = (m.get("params_total") or 1e8) - ngram_table_params(m)
    active = m.get("params_active") or total
    return math.log2(max(math.sqrt(total * active) / 1e9, 0.1))


def extrapolated(m: dict, beta: list[float], top: float, prior_sd: float) -> tuple[float, float]:
    """The prior of a model larger than every model with evidence in the area (`top`: their
    largest log2 size): the size term stops at `top`, and the SD grows by the slope times the
    excess (we do not know that the size line goes on)."""
    size = effective_log_size(m)
    excess = max(0.0, size - top)
    score = prior_of(m, beta) - beta[1] * excess
    return score, math.hypot(prior_sd, beta[1] * excess)


def area_observations(tables: dict[str, Table], area: str, skip: str | None = None
                      ) -> list[tuple[str, str, float, float]]:
    """(benchmark, model, standardized value, weight) for one area."""
    own = AREAS[area]
    keys = dict.fromkeys(own, 1.0)
    if area not in STANDALONE and area != "general":
        for k in _GENERAL:
            keys.setdefault(k, GENERAL_WEIGHT)
    rows = []
    for key, weight in sorted(keys.items()):
        table = tables.get(key, {})
        if key == skip or len(table) < MIN_MODELS:
            continue
        values = list(table.values())
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) or 1.0
        rows += [(key, mid, (v - mean) / sd, weight) for mid, v in sorted(table.items())]
    return rows


def solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (3x3 normal equations)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for i in range(n):
        p = max(range(i, n), key=lambda r: abs(m[r][i]))
        m[i], m[p] = m[p], m[i]
        if abs(m[i][i]) < 1e-12:
            return [0.0] * n
        for r in range(n):
            if r != i:
                f = m[r][i] / m[i][i]
                m[r] = [x - f * y for x, y in zip(m[r], m[i], strict=True)]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit_prior(models: list[dict], q: dict[str, float]) -> tuple[list[float], float]:
    """Least squares q ~ b0 + b1 log2(size) + b2 generation over models with evidence."""
    rows = [(1.0, effective_log_size(m), float(GENERATIONS.get(m["generation"], 0)), q[m["id"]])
            for m in models if m["id"] in q]
    if len(rows) < 4:
        return [0.0, 0.0, 0.0], 1.0
    ata = [[sum(r[i] * r[j] for r in rows) for j in range(3)] for i in range(3)]
    atb = [sum(r[i] * r[3] for r in rows) for i in range(3)]
    beta = solve(ata, atb)
    resid = [r[3] - sum(b * x for b, x in zip(beta, r[:3], strict=True)) for r in rows]
    return beta, math.sqrt(sum(e * e for e in resid) / max(1, len(rows) - 3))


def prior_of(m: dict, beta: list[float]) -> float:
    return beta[0] + beta[1] * effective_log_size(m) + beta[2] * GENERATIONS.get(m["generation"], 0)


def fit_area(models: list[dict], obs: list[tuple[str, str, float, float]]) -> dict:
    """Alternating least squares for q[m] + a[b], shrunk toward the size/generation prior."""
    by_model: dict[str, list[tuple[str, float, float]]] = {}
    by_bench: dict[str, list[tuple[str, float, float]]] = {}
    for b, mid, z, w in obs:
        by_model.setdefault(mid, []).append((b, z, w))
        by_bench.setdefault(b, []).append((mid, z, w))
    q = dict.fromkeys(by_model, 0.0)
    a = dict.fromkeys(by_bench, 0.0)
    beta, prior_sd = [0.0, 0.0, 0.0], 1.0
    prior = {m["id"]: 0.0 for m in models}
    for step in range(ITERATIONS):
        strength = 1e-3 if step < ITERATIONS // 2 else PRIOR_STRENGTH
        for b, rows in by_bench.items():
            a[b] = sum(w * (z - q[mid]) for mid, z, w in rows) / sum(w for _, _, w in rows)
        for mid, rows in by_model.items():
            num = sum(w * (z - a[b]) for b, z, w in rows) + strength * prior[mid]
            q[mid] = num / (sum(w for _, _, w in rows) + strength)
        if step == ITERATIONS // 2 - 1:
            beta, prior_sd = fit_prior(models, q)
            prior = {m["id"]: prior_of(m, beta) for m in models}
    top = max((effective_log_size(m) for m in models if m["id"] in by_model), default=0.0)
    sse = sum(w * (z - q[mid] - a[b]) ** 2 for b, mid, z, w in obs)
    weight = sum(w for *_, w in obs)
    sigma = math.sqrt(sse / max(1.0, weight - len(q) - len(a))) if obs else 1.0
    out = {}
    for m in models:
        mid = m["id"]
        if mid in by_model:
            w = sum(x for *_, x in by_model[mid])
            out[mid] = (q[mid], sigma / math.sqrt(w + PRIOR_STRENGTH), False)
        else:
            out[mid] = (*extrapolated(m, beta, top, prior_sd), True)
    return {"scores": out, "beta": beta, "prior_sd": prior_sd, "sigma": sigma, "top": top}


def kendall_tau(xs: list[float], ys: list[float]) -> float:
    concordant = discordant = 0
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            s = (xs[i] - xs[j]) * (ys[i] - ys[j])
            concordant += s > 0
            discordant += s < 0
    pairs = concordant + discordant
    return (concordant - discordant) / pairs if pairs else 0.0


def held_out(models: list[dict], tables: dict[str, Table], area: str) -> tuple[float, int]:
    """Mean Kendall tau over the area's own tables (>= 4 models), each left out in turn."""
    taus = []
    for key in AREAS[area]:
        table = tables.get(key, {})
        if len(table) < 4:
            continue
        fit = fit_area(models, area_observations(tables, area, skip=key))["scores"]
        ids = sorted(table)
        taus.append(kendall_tau([fit[i][0] for i in ids], [table[i] for i in ids]))
    return (sum(taus) / len(taus) if taus else float("nan")), len(taus)


def evidence_line(mid: str, area: str, tables: dict[str, Table], labels: dict[str, str]) -> str:
    """Up to four of the model's results in the area (one line on the pick), card first, then
    boards; a model placed
    only through the general tables says so ("general: ...")."""
    def found(names: list[str]) -> list[str]:
        return [k for k in names if mid in tables.get(k, {}) and len(tables[k]) >= MIN_MODELS]

    keys = found(AREAS[area])
    if not keys and area not in STANDALONE:
        general = found(_GENERAL)
        return "general: " + evidence_line(mid, "general", tables, labels) if general else ""
    card = [k for k in keys if labels[k] == "card"][:3]
    def same(name: str) -> str:  # "MMLU-Redux no-think (3.5-2B card)" and "mmlu-redux" are one
        name = name.split(" (")[0].lower().replace("no-think", "").replace("nothink", "")
        return "".join(ch for ch in name if ch.isalnum())

    shown = {(same(k), tables[k][mid]) for k in card}
    boards = [k for k in keys if labels[k] != "card"
              and (same(labels[k]), tables[k][mid]) not in shown]  # a newer card quoting it again
    parts = []
    if card:
        parts.append(", ".join(f"{k} {tables[k][mid]:g}" for k in card) + " (card)")
    parts += [f"{labels[k]} {tables[k][mid]:g}" for k in boards][:max(1, 4 - len(parts))]
    return "; ".join(parts)


def render(models: list[dict], tables: dict[str, Table], labels: dict[str, str]) -> str:
    lines = ["# GENERATED by bench/fit_quality.py: do not edit. Re-run it after changing",
             "# qwen_models.toml benchmarks or evidence.toml. Scores are in standard deviations of",
             "# the area's benchmark tables (one scale per area, comparable across generations).",
             "schema_version = 1", f'inputs_hash = "{inputs_hash()}"',
             f'method_hash = "{inputs_hash(("evidence.toml",))}"', "",
             "[generations]  # generation -> index used by the prior",
             *(f'"{g}" = {i}' for g, i in GENERATIONS.items()), ""]
    for area in AREAS:
        fit = fit_area(models, area_observations(tables, area))
        tau, n = held_out(models, tables, area)
        beta = ", ".join(f"{b:.4f}" for b in fit["beta"])
        lines += [f'[areas.{area}]', f"prior = [{beta}]  # intercept, per log2(B), per generation",
                  f"prior_sd = {fit['prior_sd']:.4f}",
                  f"prior_top_log2_billions = {fit['top']:.4f}  # largest size with evidence",
                  f"residual_sd = {fit['sigma']:.4f}",
                  f"held_out_tau = {tau if tau == tau else 0.0:.3f}", f"held_out_tables = {n}", ""]
        for mid, (score, sd, estimated) in fit["scores"].items():
            ev = "" if estimated else evidence_line(mid, area, tables, labels)
            lines += [f'[[areas.{area}.models]]', f'model = "{mid}"', f"score = {score:.4f}",
                      f"sd = {sd:.4f}", f"estimated = {'true' if estimated else 'false'}",
                      f'evidence = "{ev}"', ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    models, tables, labels = load_inputs()
    if "--check" in argv:
        current = tomllib.loads(OUT.read_text()).get("inputs_hash") if OUT.exists() else None
        if current != inputs_hash():
            print("error: catalog/quality.toml is stale; run python bench/fit_quality.py",
                  file=sys.stderr)
            return 1
        return 0
    text = render(models, tables, labels)
    tmp = OUT.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(OUT)
    doc = tomllib.loads(text)
    for area, data in doc["areas"].items():
        print(f"{area:13} held-out Kendall tau {data['held_out_tau']:+.3f} over "
              f"{data['held_out_tables']} tables; residual sd {data['residual_sd']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
