"""Fine-tuning memory and speed for one Qwen model: pure functions over catalog/finetune.toml.

Per GPU, in bytes:
- weights: 16-bit for full and LoRA; NF4 (4.127 bits with double quantization) for QLoRA linear
  layers, embeddings and output head kept at 16 bits; vision/audio towers frozen at 16 bits;
- adapters (LoRA/QLoRA): rank x (in + out) for every linear layer of every decoder layer
  (LLaMA-Factory `lora_target: all`, ms-swift `all-linear`), trained in fp32;
- gradients and optimizer states: of the trained parameters (AdamW fp32, or 8-bit AdamW);
- activations: per token per layer 8h + 4q + 4kv + 8f bytes without gradient checkpointing,
  or 2h per layer plus one layer's worth with it; plus the logits the loss upcasts to fp32;
- framework overhead: CUDA context and allocator slack (an assumption).
Full fine-tuning on N GPUs shards weights, gradients and optimizer states (DeepSpeed ZeRO-3);
LoRA/QLoRA replicate the model on every GPU (data parallel).
Training tokens/s = GPUs x FP16 TFLOPS x MFU / (FLOPs per token: 6N full, 4N frozen base,
+2N recompute with checkpointing), N the active parameters.
"""

from __future__ import annotations

import shlex
from functools import lru_cache
from typing import Any, Literal

from advisor.data.hardware import GIB, Hardware
from advisor.data.records import SCHEMA_VERSION, Record, record
from advisor.data.schema import ModelConfig, ModelEntry
from advisor.estimation.estimate import weight_counts
from advisor.i18n import msg

Method = Literal["full", "lora", "qlora"]
METHODS: tuple[str, ...] = ("full", "lora", "qlora")
FRAMEWORKS: tuple[str, ...] = ("llama-factory", "ms-swift", "unsloth")


@lru_cache(maxsize=1)
def finetune_data() -> dict[str, Any]:
    """catalog/finetune.toml as read, checked for its tables and sources."""
    from advisor.data.loader import packaged_path, read_toml
    from advisor.errors import CatalogError

    data = read_toml(packaged_path("finetune.toml"))
    needed = ("states", "adapters", "adam8bit", "qlora", "activations", "training",
              "frameworks", "templates")
    problems = [f"finetune.toml: missing [{k}]" for k in needed if k not in data]
    for k in needed:
        rows = data.get(k, {})
        tables = rows.values() if k == "frameworks" else [rows]
        problems += [f"finetune.toml: [{k}] has no source" for t in tables
                     if not str(t.get("source", "")).strip()]
    missing = [f for f in FRAMEWORKS if f not in data.get("frameworks", {})]
    problems += [f"finetune.toml: no [frameworks.{f}]" for f in missing]
    if problems:
        raise CatalogError(problems)
    return data


@record
class TrainMemory(Record):
    """Bytes per GPU, by component."""

    weights_bytes: int
    adapters_bytes: int
    gradients_bytes: int
    optimizer_bytes: int
    activations_bytes: int
    activations_without_checkpointing_bytes: int
    activations_with_checkpointing_bytes: int
    overhead_bytes: int
    total_bytes: int


@record
class FinetuneResult(Record):
    """`advisor finetune`: memory per GPU, whether it fits, training speed, the start command."""

    schema_version: int = SCHEMA_VERSION
    model_id: str
    license: str
    method: str
    framework: str
    rank: int
    seq_len: int
    batch: int
    gpus: int
    gradient_checkpointing: bool
    optimizer: str
    trainable_params: int
    device: str | None
    device_id: str | None
    usable_bytes_per_gpu: int | None
    fits: bool | None
    memory: TrainMemory
    training_tokens_per_s: float | None
    config_file: str
    config_text: str
    command: str
    notes: tuple[str, ...]
    sources: tuple[str, ...]


@record
class FitRow(Record):
    """One model in `advisor finetune --list`."""

    model_id: str
    license: str
    params_total: int
    total_bytes: int
    fits: bool


@record
class FinetuneList(Record):
    """`advisor finetune --list`: which models fit a device for a method."""

    schema_version: int = SCHEMA_VERSION
    method: str
    framework: str
    device: str
    gpus: int
    seq_len: int
    batch: int
    rank: int
    fitting: tuple[FitRow, ...]
    not_fitting: tuple[FitRow, ...]


def ffn_width(c: ModelConfig) -> int:
    """Feed-forward width one token passes through (active experts + shared expert for MoE)."""
    if c.is_moe:
        return (c.moe_intermediate_size or 0) * (c.num_experts_per_tok or 1) + (
            c.shared_expert_intermediate_size or 0)
    return c.intermediate_size or 0


def adapter_params(c: ModelConfig, rank: int) -> int:
    """LoRA parameters on every linear layer: q, k, v, o and the (expert) MLP projections."""
    h, q, kv = c.hidden_size, c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim
    attention = (h + q) + 2 * (h + kv) + (q + h)
    if c.is_moe:
        experts = (c.num_experts or 0) * 3 * (h + (c.moe_intermediate_size or 0))
        shared = 3 * (h + c.shared_expert_intermediate_size) if c.shared_expert_intermediate_size \
            else 0
        mlp = experts + shared
    else:
        mlp = 3 * (h + (c.intermediate_size or 0))
    return rank * c.num_hidden_layers * (attention + mlp)


def activation_bytes(c: ModelConfig, tokens: int, checkpointing: bool,
                     act: dict[str, Any]) -> int:
    """Stored activations for `tokens` (batch x sequence) and the fp32 logits of the loss."""
    h, q, kv = c.hidden_size, c.num_attention_heads * c.head_dim, c.num_key_value_heads * c.head_dim
    layer = (act["hidden_terms"] * h + act["q_terms"] * q + act["kv_terms"] * kv
             + act["ffn_terms"] * ffn_width(c))
    logits = act["logit_bytes"] * c.vocab_size
    if checkpointing:
        per_token = act["checkpoint_hidden_bytes"] * h * c.num_hidden_layers + layer
    else:
        per_token = layer * c.num_hidden_layers
    return int((per_token + logits) * tokens)


def train_memory(model: ModelEntry, method: str, rank: int, seq_len: int, batch: int,
                 gpus: int, framework: str, checkpointing: bool | None = None,
                 ) -> tuple[TrainMemory, int, str, bool]:
    """Memory per GPU, trainable parameters, the optimizer and whether checkpointing is on."""
    assert model.config
    data = finetune_data()
    fw = data["frameworks"][framework]
    ckpt = fw["gradient_checkpointing"] if checkpointing is None else checkpointing
    c = model.config
    w = weight_counts(model)
    total = model.param_count.total
    st, ad = data["states"], data["adapters"]
    eight_bit = fw["optimizer"] == "adamw_8bit"
    optimizer = "AdamW 8-bit (bitsandbytes)" if eight_bit else "AdamW (fp32 states)"
    towers = w.towers * st["weight_bytes"]  # vision/audio towers: frozen, 16-bit, replicated
    if method == "full":
        trainable = total
        shard = gpus
        weights = total * st["weight_bytes"] // shard + towers
        adapters = 0
        grads = total * st["gradient_bytes"] // shard
        opt_per = (st["optimizer_bytes"] - 8 + data["adam8bit"]["optimizer_bytes"]) if eight_bit \
            else st["optimizer_bytes"]
        optim = total * opt_per // shard
    else:
        trainable = adapter_params(c, rank)
        if method == "qlora":
            head = 0 if w.tied else w.embed
            bits = w.linear * data["qlora"]["bits_per_weight"] + (w.embed + head + w.ngram) * 16
            weights = int(bits / 8) + towers
        else:
            weights = total * st["weight_bytes"] + towers
        adapters = trainable * ad["weight_bytes"]
        grads = trainable * ad["gradient_bytes"]
        optim = trainable * (data["adam8bit"]["optimizer_bytes"] if eight_bit
                             else ad["optimizer_bytes"])
    tokens = seq_len * batch
    with_ckpt = activation_bytes(c, tokens, True, data["activations"])
    without = activation_bytes(c, tokens, False, data["activations"])
    activations = with_ckpt if ckpt else without
    overhead = int(fw["overhead_gib"] * GIB)
    mem = TrainMemory(
        weights_bytes=weights, adapters_bytes=adapters, gradients_bytes=grads,
        optimizer_bytes=optim, activations_bytes=activations,
        activations_without_checkpointing_bytes=without,
        activations_with_checkpointing_bytes=with_ckpt, overhead_bytes=overhead,
        total_bytes=weights + adapters + grads + optim + activations + overhead,
    )
    return mem, trainable, optimizer, ckpt


def training_tokens_per_s(model: ModelEntry, method: str, checkpointing: bool,
                          hw: Hardware | None) -> float | None:
    """Tokens/s of training from FLOPs per token and the assumed MFU; None without TFLOPS."""
    if hw is None or not hw.fp16_tflops:
        return None
    t = finetune_data()["training"]
    per_param = t["full_flops_per_param"] if method == "full" else t["frozen_flops_per_param"]
    if checkpointing:
        per_param += t["recompute_flops_per_param"]
    flops = per_param * model.param_count.active
    return float(hw.gpus * hw.fp16_tflops * 1e12 * t["mfu"] / flops)  # fp16_tflops: per GPU


def template(model: ModelEntry) -> tuple[str, bool]:
    """LLaMA-Factory template name and whether it is verified."""
    t = finetune_data()["templates"]
    for name in ("qwen", "qwen3", "qwen3_5", "qwen3_next"):
        if model.family in t[name]:
            return name, name not in t["unverified"]
    return "qwen", False


def start_command(model: ModelEntry, method: str, framework: str, rank: int, seq_len: int,
                  batch: int, gpus: int, chinese: bool) -> tuple[str, str, str, list[str]]:
    """(config file name, its text, the shell command, notes)."""
    repo = (model.modelscope_repo if chinese and model.modelscope_repo else model.hf_repo) \
        or model.id
    notes: list[str] = []
    data = finetune_data()
    if framework == "llama-factory":
        name, verified = template(model)
        if not verified:
            notes.append(msg("template '{name}' not verified against LLaMA-Factory's template "
                             "list", name=name))
        lines = [
            f"model_name_or_path: {repo}",
            "stage: sft",
            "do_train: true",
            f"finetuning_type: {'full' if method == 'full' else 'lora'}",
        ]
        if method != "full":
            lines += ["lora_target: all", f"lora_rank: {rank}"]
        if method == "qlora":
            lines += ["quantization_bit: 4", "quantization_method: bnb"]
        if chinese:
            lines.append("use_modelscope_hub: true")
        lines += [
            "dataset: your_dataset  # register it in data/dataset_info.json",
            f"template: {name}",
            f"cutoff_len: {seq_len}",
            f"per_device_train_batch_size: {batch}",
            "gradient_accumulation_steps: 8",
            "learning_rate: 1.0e-4" if method != "full" else "learning_rate: 1.0e-5",
            "num_train_epochs: 3.0",
            "bf16: true",
            f"output_dir: saves/{model.id}/{method}",
        ]
        if method == "full" and gpus > 1:
            lines.append("deepspeed: examples/deepspeed/ds_z3_config.json")
        file = f"{model.id}_{method}_sft.yaml"
        env = [data["frameworks"]["llama-factory"]["hub_switch"]] if chinese else []
        if gpus > 1:
            env.append(f"CUDA_VISIBLE_DEVICES={','.join(str(i) for i in range(gpus))}")
        argv = ["llamafactory-cli", "train", file]
        return file, "\n".join(lines) + "\n", " ".join([*env, shlex.join(argv)]), notes
    if framework == "ms-swift":
        argv = ["swift", "sft", "--model", repo,
                "--tuner_type", "full" if method == "full" else "lora",
                "--dataset", "your_dataset.jsonl", "--torch_dtype", "bfloat16",
                "--max_length", str(seq_len), "--per_device_train_batch_size", str(batch)]
        if method != "full":
            argv += ["--lora_rank", str(rank), "--target_modules", "all-linear"]
        if method == "qlora":
            argv += ["--quant_method", "bnb", "--quant_bits", "4"]
        if method == "full" and gpus > 1:
            argv += ["--deepspeed", "zero3"]
        env = [] if chinese else ["USE_HF=1"]
        if gpus > 1:
            env.append(f"NPROC_PER_NODE={gpus}")
        notes.append(msg("older ms-swift releases spell --tuner_type as --train_type"))
        return "", "", " ".join([*env, shlex.join(argv)]), notes
    # unsloth: a Python script
    load_4bit = method == "qlora"
    text = "\n".join([
        "from unsloth import FastLanguageModel",
        "from trl import SFTConfig, SFTTrainer",
        "from datasets import load_dataset",
        "model, tokenizer = FastLanguageModel.from_pretrained(",
        f"    {repo!r}, max_seq_length={seq_len}, load_in_4bit={load_4bit},",
        f"    full_finetuning={method == 'full'})",
        *([] if method == "full" else [
            "model = FastLanguageModel.get_peft_model(",
            f"    model, r={rank}, lora_alpha={rank}, use_gradient_checkpointing='unsloth',",
            "    target_modules=['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', "
            "'up_proj', 'down_proj'])"]),
        "dataset = load_dataset('json', data_files='your_dataset.jsonl', split='train')",
        "trainer = SFTTrainer(model=model, tokenizer=tokenizer, train_dataset=dataset,",
        f"    args=SFTConfig(per_device_train_batch_size={batch}, "
        "gradient_accumulation_steps=8,",
        "                   optim='adamw_8bit', bf16=True, output_dir='outputs'))",
        "trainer.train()",
    ]) + "\n"
    file = f"{model.id}_{method}_unsloth.py"
    if chinese:
        notes.append(msg("Unsloth downloads from Hugging Face; for ModelScope download the model "
                         "first (modelscope download --model {repo}) and pass the local path",
                         repo=repo))
    if gpus > 1:
        notes.append(msg("Unsloth's open-source release trains on one GPU; --gpus is not used"))
    return file, text, shlex.join(["python", file]), notes


def finetune(model: ModelEntry, method: str, framework: str, rank: int, seq_len: int,
             batch: int, gpus: int, hw: Hardware | None, chinese: bool = False,
             ) -> FinetuneResult:
    """Memory per GPU, fit, training tokens/s and the start command."""
    data = finetune_data()
    mem, trainable, optimizer, ckpt = train_memory(model, method, rank, seq_len, batch, gpus,
                                                   framework)
    usable = hw.usable_memory_bytes // hw.gpus if hw else None
    file, text, command, notes = start_command(model, method, framework, rank, seq_len, batch,
                                               gpus, chinese)
    notes = [
        *notes,
        msg("full fine-tuning shards weights, gradients and optimizer over the GPUs (DeepSpeed "
            "ZeRO-3); LoRA/QLoRA keep a full copy on every GPU") if gpus > 1 else msg("one GPU"),
        msg("activations for {batch} x {seq_len} tokens, 16-bit, flash attention; gradient "
            "checkpointing on", batch=batch, seq_len=seq_len) if ckpt else
        msg("activations for {batch} x {seq_len} tokens, 16-bit, flash attention; gradient "
            "checkpointing off", batch=batch, seq_len=seq_len),
        msg("framework overhead {overhead:g} GiB is an assumption (CUDA context and allocator "
            "slack)", overhead=data["frameworks"][framework]["overhead_gib"]),
        msg("training speed assumes {mfu:.0%} of the device's FP16 TFLOPS",
            mfu=data["training"]["mfu"]),
    ]
    if model.config and model.config.full_attention_interval:
        notes.append(msg("hybrid linear-attention layers are counted as attention layers for "
                         "adapters and activations (an approximation)"))
    if model.config and model.config.is_moe and method != "full":
        notes.append(msg("LoRA on every expert's projections (lora_target: all); target "
                         "attention only to train far fewer parameters"))
    sources = tuple(str(data[k]["source"]) for k in
                    ("states", "adapters", "adam8bit", "qlora", "activations", "training"))
    return FinetuneResult(
        model_id=model.id, license=model.license.id, method=method, framework=framework,
        rank=rank, seq_len=seq_len, batch=batch, gpus=gpus, gradient_checkpointing=ckpt,
        optimizer=optimizer,
        trainable_params=trainable, device=hw.name if hw else None,
        device_id=hw.device_id if hw else None, usable_bytes_per_gpu=usable,
        fits=None if usable is None else mem.total_bytes <= usable, memory=mem,
        training_tokens_per_s=training_tokens_per_s(model, method, ckpt, hw),
        config_file=file, config_text=text, command=command, notes=tuple(notes),
        sources=(*sources, str(data["frameworks"][framework]["source"])),
    )


def fit_list(models: list[ModelEntry], method: str, framework: str, rank: int, seq_len: int,
             batch: int, hw: Hardware) -> FinetuneList:
    """Every open-weight text model, split into those that fit `hw` for `method` and the rest."""
    usable = hw.usable_memory_bytes // hw.gpus
    rows = []
    for m in models:
        if not m.open_weights or m.config is None:
            continue
        mem, *_ = train_memory(m, method, rank, seq_len, batch, hw.gpus, framework)
        rows.append(FitRow(model_id=m.id, license=m.license.id, params_total=m.param_count.total,
                           total_bytes=mem.total_bytes, fits=mem.total_bytes <= usable))
    rows.sort(key=lambda r: (-r.params_total, r.model_id))
    return FinetuneList(method=method, framework=framework, device=hw.name, gpus=hw.gpus,
                        seq_len=seq_len, batch=batch, rank=rank,
                        fitting=tuple(r for r in rows if r.fits),
                        not_fitting=tuple(r for r in rows if not r.fits))
