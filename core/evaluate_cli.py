"""`restorefw evaluate`: metrics on prediction/ground-truth folders, or IS/FID/KID of a generator's samples.

Metrics come from the registry; without `-m`, the metrics in group "folders" or "generator". A metric
whose weights are missing is reported unavailable with the reason and the others go on; when no
metric at all could be computed the command says so and exits with code 1.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Iterator, Sequence

import click
import torch
import yaml

from restorefw.cli_context import get_plugins
from restorefw.device import resolve_device
from restorefw.errors import UserError, WorkError
from restorefw.evaluation import (
    RANDOM_BACKBONE,
    RANDOM_BACKBONE_FOOTNOTE,
    MetricSlot,
    build_metrics,
    metric_caption,
    paired_scores,
    set_scores,
)
from restorefw.generate import generator_spec, load_network, truncate
from restorefw.imageio import atomic_write_json, list_images, read_image
from restorefw.plugins import PluginSet
from restorefw.recipe import ComponentSpec
from restorefw.seeding import torch_generator


def parse_names(values: Sequence[str], default: Sequence[str]) -> list[str]:
    """`-m a -m b,c` → ['a', 'b', 'c'] (duplicates dropped)."""
    names: list[str] = []
    for value in values:
        for name in value.split(","):
            if name.strip() and name.strip() not in names:
                names.append(name.strip())
    return names or list(default)


def parse_assignment(text: str, option: str) -> tuple[str, Any]:
    """`key=value` with a YAML value (numbers, booleans, lists)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise UserError(f"{option} {text!r} is not of the form KEY=VALUE.")
    try:
        parsed = yaml.safe_load(value) if value else ""
    except yaml.YAMLError:
        parsed = value
    return key.strip(), parsed


def metric_specs(names: Sequence[str], params: Sequence[str]) -> list[ComponentSpec]:
    """Metric specs from names and `--metric-param METRIC.KEY=VALUE` options."""
    by_metric: dict[str, dict[str, Any]] = {name: {} for name in names}
    for text in params:
        target, value = parse_assignment(text, "--metric-param")
        metric, dot, key = target.partition(".")
        if not dot or metric not in by_metric:
            raise UserError(f"--metric-param {text!r}: give METRIC.KEY=VALUE for one of the evaluated metrics "
                            f"({', '.join(names)}).")
        by_metric[metric][key] = value
    return [ComponentSpec(type=name, params=by_metric[name]) for name in names]


def build_slots(plugins: PluginSet, specs: Sequence[ComponentSpec], device: torch.device) -> list[MetricSlot]:
    for spec in specs:
        plugins.registry.validate_params("metric", spec.type, spec.params, f"--metric {spec.type}")
    return build_metrics(specs, plugins.registry, device)


def match_folders(pred: Path, gt: Path) -> tuple[list[tuple[str, Path, Path]], list[str], list[str]]:
    """Pairs (stem, prediction, ground truth) matched by file stem, and the unmatched stems of each side."""
    preds = {p.stem: p for p in list_images(pred)}
    gts = {p.stem: p for p in list_images(gt)}
    pairs = [(stem, preds[stem], gts[stem]) for stem in sorted(preds) if stem in gts]
    return pairs, sorted(set(preds) - set(gts)), sorted(set(gts) - set(preds))


def _batches(tensors: Sequence[torch.Tensor], size: int) -> Iterator[tuple[int, int]]:
    """(start, end) index ranges of consecutive equal-shape tensors, at most `size` long."""
    start = 0
    while start < len(tensors):
        end = start + 1
        while end < len(tensors) and end - start < size and tensors[end].shape == tensors[start].shape:
            end += 1
        yield start, end
        start = end


def evaluate_folders(plugins: PluginSet, pred: Path, gt: Path, specs: Sequence[ComponentSpec],
                     device: torch.device, batch_size: int = 16) -> dict[str, Any]:
    """Paired metrics per matched image (and their means) plus set metrics over the matched sets."""
    pairs, pred_only, gt_only = match_folders(pred, gt)
    if not pairs:
        raise UserError(f"no file stem of {pred} matches one of {gt} (predictions: {len(pred_only)}, ground truths: "
                        f"{len(gt_only)}). Files are matched by name without extension, e.g. 0001.png ↔ 0001.jpg.")
    preds = [read_image(p, 3) for _, p, _ in pairs]
    refs = [read_image(g, 3) for _, _, g in pairs]
    for (stem, p, g), a, b in zip(pairs, preds, refs):
        if a.shape != b.shape:
            raise UserError(f"{p} is {a.shape[2]}×{a.shape[1]} but {g} is {b.shape[2]}×{b.shape[1]}; paired metrics "
                            "need equal sizes. Resize one side first.")
    slots = build_slots(plugins, specs, device)
    per_image: dict[str, dict[str, float]] = {stem: {} for stem, _, _ in pairs}
    for start, end in _batches(preds, batch_size):
        scores = paired_scores(slots, torch.stack(preds[start:end]), torch.stack(refs[start:end]))
        for name, values in scores.items():
            for (stem, _, _), value in zip(pairs[start:end], values or []):
                per_image[stem][name] = value
    pred_batches = [torch.stack(preds[s:e]) for s, e in _batches(preds, batch_size)]
    ref_batches = [torch.stack(refs[s:e]) for s, e in _batches(refs, batch_size)]
    set_values = set_scores(slots, pred_batches, ref_batches)
    report = {"mode": "folders", "pred": str(pred), "gt": str(gt), "matched": len(pairs),
              "unmatched": {"pred_only": pred_only, "gt_only": gt_only},
              "metrics": _metric_report(slots, per_image, set_values, plugins.registry), "per_image": per_image}
    return report


def _metric_report(slots: Sequence[MetricSlot], per_image: dict[str, dict[str, float]],
                   set_values: dict[str, float], registry) -> dict[str, Any]:
    out = {}
    for slot in slots:
        lower = bool(registry.get("metric", slot.name).lower_is_better)
        entry: dict[str, Any] = {"lower_is_better": lower, "value": None, "unavailable": slot.unavailable,
                                 "random_backbone": slot.random_backbone,
                                 "not_measured": slot.not_measured.get("images")}
        if slot.name in set_values:
            entry["value"] = set_values[slot.name]
            details = getattr(slot.metric, "details", None)
            if details:
                entry["details"] = details
        else:
            values = [scores[slot.name] for scores in per_image.values() if slot.name in scores]
            if values and slot.unavailable is None:
                entry["value"] = sum(values) / len(values)
        out[slot.name] = entry
    return out


def sample_generator(G, num: int, truncation_psi: float, seed: int, device: torch.device,
                     batch_size: int, noise_mode: str = "const") -> list[torch.Tensor]:
    """`num` samples in [0,1] (CPU batches); z (and class labels) derive from `seed` only; the
    per-layer noise is the stored constant one (as restoration renders), so samples are reproducible."""
    z_all = torch.randn(num, G.z_dim, generator=torch_generator(seed, "", "evaluate-z"))
    c_all = None
    if getattr(G, "c_dim", 0):
        classes = torch.randint(0, G.c_dim, (num,), generator=torch_generator(seed, "", "evaluate-c"))
        c_all = torch.nn.functional.one_hot(classes, G.c_dim).float()
    out = []
    with torch.no_grad():
        for start in range(0, num, batch_size):
            z = z_all[start:start + batch_size].to(device)
            c = c_all[start:start + batch_size].to(device) if c_all is not None else None
            ws = truncate(G, G.mapping(z, c), truncation_psi, None)
            images = (G.synthesis(ws, noise_mode=noise_mode) + 1) / 2
            out.append(images.clamp(0, 1).float().cpu())
    return out


def evaluate_generator(plugins: PluginSet, generator: ComponentSpec, real: Path, num: int, truncation_psi: float,
                       seed: int, specs: Sequence[ComponentSpec], device: torch.device,
                       batch_size: int = 16) -> dict[str, Any]:
    """IS, FID, KID (or any set metrics) of `num` samples against the real images in `real`."""
    real_files = list_images(real)
    if not real_files:
        raise UserError(f"{real}: no images found; --real needs a folder of real images.")
    G = load_network(plugins.registry, generator.type, generator.params, device)
    fakes = sample_generator(G, num, truncation_psi, seed, device, batch_size)
    reals = [read_image(p, 3)[None] for p in real_files]
    slots = build_slots(plugins, specs, device)
    paired = [s.name for s in slots if s.metric is not None and not s.metric.is_set_metric]
    if paired:
        raise UserError(f"{', '.join(paired)}: paired metrics need --pred/--gt; a generator is evaluated with set "
                        f"metrics such as {', '.join(plugins.registry.group('metric', 'generator')) or 'FID'}.")
    set_values = set_scores(slots, fakes, reals)
    return {"mode": "generator", "generator": generator.model_dump(mode="json"), "real": str(real),
            "real_images": len(real_files), "samples": num, "truncation_psi": truncation_psi, "seed": seed,
            "metrics": _metric_report(slots, {}, set_values, plugins.registry)}


def print_report(report: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if report["mode"] == "folders":
        title = f"{report['matched']} matched image(s): {report['pred']} vs {report['gt']}"
    else:
        title = f"{report['samples']} samples (ψ={report['truncation_psi']}, seed {report['seed']}) vs {report['real']}"
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, info in report["metrics"].items():
        arrow = {True: " ↓", False: " ↑"}.get(info["lower_is_better"], "")
        value = info["value"]
        shown = ("n/a" if info.get("not_measured") else "unavailable") if value is None else \
            f"{value:.4f}" if math.isfinite(value) else str(value)
        if info.get("details", {}).get("std") is not None:
            shown += f" ± {info['details']['std']:.4f}"
        table.add_row(metric_caption(name, info) + arrow, shown)
    console.print(table)
    for name, info in report["metrics"].items():
        if info["unavailable"]:
            console.print(f"[yellow]{name} unavailable:[/yellow] {info['unavailable']}", soft_wrap=True)
        if info.get("not_measured"):
            console.print(f"[yellow]{name} n/a:[/yellow] {info['not_measured']}", soft_wrap=True)
        if info.get("random_backbone"):
            console.print(f"[yellow]{name} ({RANDOM_BACKBONE}):[/yellow] {RANDOM_BACKBONE_FOOTNOTE}.", soft_wrap=True)
    unmatched = report.get("unmatched", {})
    for side, label in (("pred_only", "predictions without ground truth"),
                        ("gt_only", "ground truths without prediction")):
        if unmatched.get(side):
            shown = ", ".join(unmatched[side][:10]) + (" …" if len(unmatched[side]) > 10 else "")
            print(f"warning: {len(unmatched[side])} {label}: {shown}", file=sys.stderr)


def evaluate_command(plugins: PluginSet, *, pred, gt, generator, generator_type, generator_params, real, num,
                     truncation_psi, seed, metrics, metric_params, json_path, device, batch_size) -> dict[str, Any]:
    """The `restorefw evaluate` command body: pick the mode, run it, print and write the report."""
    folder_mode = pred is not None or gt is not None
    generator_mode = generator is not None or generator_type is not None or bool(generator_params) or real is not None
    if folder_mode == generator_mode:
        raise UserError("give either --pred and --gt (folders) or --generator/--generator-param with --real and "
                        "--num (a generator), not both or neither.")
    dev = resolve_device(device)
    if folder_mode:
        if pred is None or gt is None:
            raise UserError("folder mode needs both --pred (predictions) and --gt (ground truths).")
        specs = metric_specs(parse_names(metrics, plugins.registry.group("metric", "folders")), metric_params)
        report = evaluate_folders(plugins, Path(pred), Path(gt), specs, dev, batch_size)
        default_json = Path(pred) / "evaluation.json"
    else:
        if real is None:
            raise UserError("generator mode needs --real, a folder of real images to compare the samples with.")
        params = dict(parse_assignment(t, "--generator-param") for t in generator_params)
        name, params = generator_spec(plugins.registry, generator, generator_type, params)
        spec = ComponentSpec(type=name, params=params)
        specs = metric_specs(parse_names(metrics, plugins.registry.group("metric", "generator")), metric_params)
        report = evaluate_generator(plugins, spec, Path(real), num, truncation_psi, seed, specs, dev, batch_size)
        default_json = Path("evaluation.json")
    out = Path(json_path) if json_path else default_json
    atomic_write_json(out, report)
    print_report(report)
    print(f"report written to {out}", file=sys.stderr)
    if all(info["value"] is None for info in report["metrics"].values()):
        reasons = "; ".join(f"{n}: {i['unavailable'] or i.get('not_measured') or 'no value'}"
                            for n, i in report["metrics"].items())
        raise WorkError(f"no metric could be computed ({reasons}).")
    return report


@click.command()
@click.option("--pred", type=click.Path(file_okay=False), help="Folder of predictions (restored images).")
@click.option("--gt", type=click.Path(file_okay=False), help="Folder of ground truths, matched to --pred by file stem.")
@click.option("--generator", "generator", default=None, metavar="CKPT",
              help="Generator checkpoint to sample from (generator mode).")
@click.option("--generator-type", default=None,
              help="Registered generator name (default: the installed generator that loads checkpoint files).")
@click.option("--generator-param", "generator_params", multiple=True, metavar="KEY=VALUE",
              help="Extra generator parameter (YAML value), repeatable; e.g. init=random.")
@click.option("--real", type=click.Path(file_okay=False), help="Folder of real images (generator mode).")
@click.option("--num", type=click.IntRange(min=2), default=1000, show_default=True,
              help="Number of samples (generator mode).")
@click.option("--truncation-psi", type=float, default=1.0, show_default=True, help="Truncation ψ (1 = none).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sampled latents.")
@click.option("--metric", "-m", "metrics", multiple=True,
              help="Metric name, repeatable or comma-separated (default: the metrics in group \"folders\", or "
                   "\"generator\" for a generator; see `restorefw plugins`).")
@click.option("--metric-param", "metric_params", multiple=True, metavar="METRIC.KEY=VALUE",
              help="Metric parameter (YAML value), repeatable; e.g. fid.weights_path=/w/inception.pth.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Where to write the JSON report (default: evaluation.json in --pred, or ./evaluation.json).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=16, show_default=True)
def evaluate(pred, gt, generator, generator_type, generator_params, real, num, truncation_psi, seed, metrics,
             metric_params, json_path, device, batch_size) -> None:
    """Metrics on folders (--pred/--gt) or on a generator's samples (--generator/--real/--num)."""
    evaluate_command(get_plugins(), pred=pred, gt=gt, generator=generator, generator_type=generator_type,
                     generator_params=generator_params, real=real, num=num, truncation_psi=truncation_psi,
                     seed=seed, metrics=metrics, metric_params=metric_params, json_path=json_path,
                     device=device, batch_size=batch_size)
