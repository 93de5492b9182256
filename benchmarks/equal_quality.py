"""Equal-quality benchmark: time per image and PSNR of RUSIR's schedule against faster recipes.

Problem set: an FFHQ-like random generator (channel_base 32768, channel_max 512, 8 mapping layers,
z = w = 512; its w_avg is the mean of 10 000 mapped codes, as training would have tracked it),
ground truths G(w*) with w* = w_avg + 0.5·(mapping(z) − w_avg), one z per seed, inside the prior's
range by construction; targets for the four tasks at level M made by the true operators (seeded).

Reference: examples/rusir.yaml's schedule and loss (W/W+/W++ 150 NGD steps each), float32, batch 1.
Contenders: each recipe's schedule, losses, precision and batch size (benchmarks/rusir-bfloat16.yaml is
RUSIR's method with the generator in bfloat16: whether `precision: bfloat16` alone keeps the quality).
Reference and contenders run interleaved image by image (batch-1 contenders) so that load on a shared
machine hits them alike; the load average is printed with every table. The LPIPS backbone is a seeded random VGG by
default (no pretrained weights on the benchmark machine; `--backbone pretrained` to change it):
both sides optimise the same loss, and PSNR is measured against the ground truth.

    python benchmarks/equal_quality.py [--sizes 64 256] [--seeds 4 | --seeds 4 1] [--first-seed 0]
        [--tasks upsampling ...] [--contenders examples/fast.yaml] [--channel-base 32768 --channel-max 512] [--phases]
        [--record eq.jsonl [--table-only]]

With `--record`, every finished image is appended to a JSON-lines file as soon as it ends. Started again
with the same file, the run skips the images it already holds (same method, problem and clock: each
line carries a fingerprint of them) and its tables cover all of them: a stopped run resumes, seeds can
be added later, and `--table-only` prints the tables of what the file holds without running anything.
Each line also names the invocation that ran it (its start, UTC) and the commit of the checkout it ran
from ("+changes" when tracked files differed from it); every table ends with how many of its images
came from each, so a table from one run and one version of the code says so.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import platform
import statistics
import subprocess
import threading
import time
import weakref
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import yaml

from restorefw.build import Generators, build
from restorefw.degradation import ImageKey
from restorefw.device import resolve_device
from restorefw.plugins import load_plugins
from restorefw.recipe import ComponentSpec, Recipe, of_full, parse_recipe

ROOT = Path(__file__).resolve().parent.parent
TASKS = ("upsampling", "denoising", "deartifacting", "inpainting")
PSI = 0.5


def generator_spec(size: int, channel_base: int, channel_max: int) -> dict:
    config = {"z_dim": 512, "c_dim": 0, "w_dim": 512, "img_resolution": size, "img_channels": 3,
              "mapping_kwargs": {"num_layers": 8},
              "synthesis_kwargs": {"channel_base": channel_base, "channel_max": channel_max}}
    return {"type": "stylegan2-ada", "params": {"init": "random", "seed": 0, "config": config}}


PROBLEM_PARAMS = ("checkpoint", "sha256", "init", "seed", "config")  # generator params the problem sets


def benchmark_recipe(path: Path, generator: dict, task: str, backbone: str, reference: bool) -> dict:
    """A recipe file's method on the benchmark problem: its generator's weights, degradation and inputs
    replaced (generator params that choose how it computes, e.g. `convolution`, kept); a `tasks:` entry
    of the recipe for `task` keeps its schedule changes."""
    data = yaml.safe_load(path.read_text())
    own = ((data.get("generator") or {}).get("params") or {})
    kept = {k: v for k, v in own.items() if k not in PROBLEM_PARAMS}
    generator = {**generator, "params": {**generator["params"], **kept}}
    overrides = {entry.get("task"): entry.get("schedule") for entry in data.pop("tasks", None) or []
                 if isinstance(entry, dict)}
    data.update(generator=generator, degradation={"task": task, "level": "M"}, inputs={"path": "unused"})
    if overrides.get(task):  # the recipe's own schedule changes for this task (`tasks:` entries)
        data.update(degradation=None, tasks=[{"task": task, "level": "M", "schedule": overrides[task]}])
    for loss in data["losses"]:
        if str(loss.get("type", "")).startswith("lpips"):
            loss.setdefault("params", {})["backbone"] = backbone
    if reference:
        data.update(precision="float32", loss_precision="float32", batch_size=1)
    return data


def cpu_flags() -> set[str]:
    """The CPU's feature flags (Linux; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    return next((set(line.split(":", 1)[1].split()) for line in text.splitlines() if line.startswith("flags")),
                set())


def shown_flags(flags: set[str]) -> str:
    """The flags that decide float32/bfloat16 speed here, or '-'."""
    return " ".join(f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags) or "-"


def machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, flags {shown_flags(cpu_flags())}, "
            f"torch {torch.__version__}, {torch.get_num_threads()} threads")


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


@torch.no_grad()
def ground_truth(G: torch.nn.Module, seed: int) -> torch.Tensor:
    """G(w*) in [0, 1], [1, C, H, W], for w* = w_avg + ψ(mapping(z) − w_avg), z seeded by `seed`."""
    z = torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(1000 + seed))
    w = G.mapping(z.to(G.mapping.w_avg.device))
    w_avg = G.mapping.w_avg
    ws = w_avg + PSI * (w - w_avg)
    return ((G.synthesis(ws, noise_mode="const") + 1) / 2).clamp(0, 1)


def ground_truths(G: torch.nn.Module, seeds: list[int]) -> torch.Tensor:
    """The ground truths of `seeds`, rendered one at a time: a batch's convolutions round differently from
    one image's (seed 0 at 64² moved by up to 1.6e-6 in a batch of four), so rendering them together made
    an image's problem depend on the run's seed list."""
    return torch.cat([ground_truth(G, seed) for seed in seeds])


def problem_generator(generators: Generators, spec: dict, device: torch.device) -> torch.nn.Module:
    """The generator the ground truths come from: the problem's spec as it is (float32, direct convolution),
    whichever methods run; its w_avg tracked."""
    G = generators.get(ComponentSpec.model_validate(spec), device)
    track_w_avg(G)
    return G


_TRACKED: "weakref.WeakSet[torch.nn.Module]" = weakref.WeakSet()  # generators whose w_avg is tracked already


@torch.no_grad()
def track_w_avg(G: torch.nn.Module, count: int = 10_000) -> None:
    """G's w_avg := the mean of `count` mapped codes (seeded), once per generator instance: the reference's
    generator is also the problem's, and every task of a recipe shares one."""
    if G in _TRACKED:
        return
    _TRACKED.add(G)
    z = torch.randn(count, G.z_dim, generator=torch.Generator().manual_seed(12345)).to(G.mapping.w_avg.device)
    G.mapping.w_avg.copy_(G.mapping(z)[:, 0].mean(0))


def psnr(x: torch.Tensor, y: torch.Tensor) -> list[float]:
    mse = (x.float() - y.float()).pow(2).mean((1, 2, 3))
    return [10 * math.log10(1 / max(m, 1e-12)) for m in mse.tolist()]


@dataclass
class Result:
    seeds: list[int] = field(default_factory=list)  # per image: its ground truth's seed
    seconds: list[float] = field(default_factory=list)  # per image
    psnr: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)  # final objective, degraded space
    phase_psnr: dict[str, list[float]] = field(default_factory=dict)
    origin: list[str] = field(default_factory=list)  # per image: the run and commit that produced it

    def add(self, seconds: float, clean: torch.Tensor, restoration, seeds: list[int]) -> None:
        self.seeds += seeds
        self.seconds += [seconds / len(seeds)] * len(seeds)
        self.psnr += psnr(restoration.restored, clean)
        for log in restoration.log:
            last = [k for k in log if k.endswith("/total")][-1]
            self.loss.append(log[last][-1])
        for name, images in restoration.phase_images.items():
            self.phase_psnr.setdefault(name, []).extend(psnr(images, clean))

    def image(self, index: int) -> dict:
        """One image's figures, as a record line holds them."""
        return {"seconds": self.seconds[index], "psnr": self.psnr[index], "loss": self.loss[index],
                "phase_psnr": {name: values[index] for name, values in self.phase_psnr.items()}}

    def reset(self, images: list[dict]) -> None:
        """Hold exactly `images` (record lines), in that order."""
        self.seeds, self.seconds, self.psnr, self.loss, self.phase_psnr, self.origin = [], [], [], [], {}, []
        for figures in images:
            self.add_image(figures)

    def add_image(self, figures: dict) -> None:
        """Append one image's line read back from a record."""
        self.seeds.append(figures["seed"])
        self.seconds.append(figures["seconds"])
        self.psnr.append(figures["psnr"])
        self.loss.append(figures["loss"])
        for name, value in figures["phase_psnr"].items():
            self.phase_psnr.setdefault(name, []).append(value)
        self.origin.append(origin(figures))


def origin(entry: dict) -> str:
    """Which run, at which commit, produced a record line (lines written before they said so: unknown)."""
    return f"run {entry.get('run', 'unknown')} at {entry.get('commit', 'an unknown commit')}"


def source_commit() -> str:
    """The checkout's short commit, "+changes" when tracked files differ from it; "unknown" outside git."""
    def git(*argv: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *argv], capture_output=True, text=True, check=True,
                              timeout=30).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+changes" if changed else "")


class Record:
    """The images a run has finished, one JSON line each, appended as each image ends (`--record`)."""

    def __init__(self, path: Path | None, clock: str = "", provenance: dict | None = None) -> None:
        self.path, self.clock, self.provenance = path, clock, provenance or {}
        self.lines: dict[tuple, dict] = {}
        if path is not None and path.exists():
            text = path.read_text()
            if text and not text.endswith("\n"):  # a line cut short: later lines must not join it
                with path.open("a") as file:
                    file.write("\n")
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    self.lines[self.key(entry)] = entry
                except (json.JSONDecodeError, KeyError, TypeError):
                    print(f"{path}:{number}: not a record line (a run stopped while writing it?); ignored")

    @staticmethod
    def key(entry: dict) -> tuple:
        return (entry["size"], entry["task"], entry["method"], entry["seed"], entry["fingerprint"], entry["clock"],
                entry.get("cpu"))

    def get(self, size: int, task: str, method: "Method", seed: int) -> dict | None:
        """The image's line made on this CPU (the same float32 method gives other PSNRs on another: up to 1.4 dB
        on one image between an AVX2 and an AVX-512 CPU), or a line from before lines named their CPU."""
        key = (size, task, method.name, seed, method.fingerprint, self.clock)
        return self.lines.get((*key, self.provenance.get("cpu"))) or self.lines.get((*key, None))

    def add(self, size: int, task: str, method: "Method", seed: int, figures: dict) -> dict:
        """Keep one image's line (and append it to the file); returns the line."""
        entry = {"size": size, "task": task, "method": method.name, "seed": seed, "fingerprint": method.fingerprint,
                 "clock": self.clock, "load": load(), **self.provenance, **figures}
        self.lines[self.key(entry)] = entry
        if self.path is None:
            return entry
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:  # one write per line on an O_APPEND file: workers appending side by side do not interleave
            os.write(descriptor, (json.dumps(entry) + "\n").encode())
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        return entry


def as_computed(recipe: Recipe, precision: str, loss_precision: str, device: str) -> dict:
    """The recipe as `device` runs it: `auto` precisions replaced by what they resolved to, the generator's and
    the losses' `convolution` left out where it cannot apply (Winograd runs on the CPU in float32 only), and so
    are phases' render and loss resolutions at or above the image's size; `full/N` is written as the size it
    names. A recipe that says `auto` therefore matches records of the same method made when it named its
    precision, or before a phase became coarse at larger sizes only, or named its coarse size as a number."""
    data = recipe.model_dump(mode="json")
    data.update(precision=precision, loss_precision=loss_precision)
    if device != "cpu" or precision != "float32":
        data["generator"]["params"].pop("convolution", None)
    if device != "cpu" or loss_precision != "float32":
        for loss in data["losses"]:
            loss["params"].pop("convolution", None)
    size = (data["generator"]["params"].get("config") or {}).get("img_resolution")
    for phase in data["schedule"]["phases"] if size else []:  # sizes at or above the image's change nothing
        for name in ("render_resolution", "loss_resolution"):
            resolution = of_full(phase.get(name), size)
            if isinstance(resolution, int) and resolution >= size:
                del phase[name]
            elif resolution is not None:
                phase[name] = resolution
    return data


def fingerprint(recipe: Recipe, precision: str, loss_precision: str, device: str) -> str:
    """What a recorded image must share with this run to stand in for it (`--record`): the method as built for
    the problem (recipe with generator, task and backbone) and computed on `device`, and torch's version."""
    setup = {"recipe": as_computed(recipe, precision, loss_precision, device), "device": device,
             "torch": torch.__version__}
    return hashlib.sha256(json.dumps(setup, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Method:
    """A recipe built for the benchmark problem (its generator shared through `generators`)."""

    def __init__(self, name: str, recipe: Recipe, registry, generators: Generators, device: torch.device,
                 keep_phases: bool) -> None:
        self.name, self.recipe, self.device, self.keep_phases = name, recipe, device, keep_phases
        built = build(recipe, registry, device, generators)
        self.G, self.restorer, self.degradation = built.generator, built.restorer, built.degradation
        self.warm_up = build(parse_recipe(_short(recipe), registry), registry, device, generators).restorer
        self.result = Result()
        self.fingerprint = fingerprint(recipe, self.restorer.precision, self.restorer.loss_precision, device.type)

    def _problem(self, clean: torch.Tensor, keys: list[ImageKey]):
        operator = self.degradation.realize(tuple(clean.shape), keys, self.device)
        with torch.no_grad():
            return operator.true(clean), operator

    def warm(self, clean: torch.Tensor) -> None:
        """Two steps per phase off the clock: first-call allocations and kernel selection."""
        keys = [ImageKey(self.recipe.seed, "warm-up")] * clean.shape[0]
        self.warm_up.restore(*self._problem(clean, keys), keys)

    def run(self, clean: torch.Tensor, seeds: list[int], clock=time.perf_counter) -> None:
        keys = [ImageKey(self.recipe.seed, f"eq{s}") for s in seeds]
        target, operator = self._problem(clean, keys)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        start = clock()
        restoration = self.restorer.restore(target, operator, keys, keep_phases=self.keep_phases)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        self.result.add(clock() - start, clean.cpu(), restoration, seeds)


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def run_all(args, device: torch.device):
    """Yield (size, rows) for every size: in this process, size by size, or over `--jobs` N worker
    processes (one thread each unless `--threads` says otherwise), each size's tasks dealt into N
    groups and every (size, group) submitted at once, so that a worker done with one size starts on
    the next; a worker goes seed by seed over its group's tasks, so a stopped run still has whole
    seeds of every task in its log. Rows in task order."""
    if args.jobs == 1:
        for size in args.sizes:
            print(f"\n{size}²: start ({load()})", flush=True)
            yield size, run_tasks(size, args.tasks, args, device)
        return
    context = multiprocessing.get_context("spawn")
    print(f"\nstart ({load()})", flush=True)
    with ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
        groups = [args.tasks[i::args.jobs] for i in range(args.jobs) if args.tasks[i::args.jobs]]
        futures = {size: [pool.submit(_worker, size, group, args, str(device)) for group in groups]
                   for size in args.sizes}
        order = {task: i for i, task in enumerate(args.tasks)}
        for size in args.sizes:
            rows = [row for future in futures[size] for row in future.result()]
            yield size, sorted(rows, key=lambda row: order[row[0]])


def _exit_with_parent() -> None:
    """End this worker when the benchmark process that started it is gone (killed or interrupted)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _worker(size: int, tasks: list[str], args, device: str) -> list[tuple[str, str, Result]]:
    _exit_with_parent()
    torch.set_num_threads(args.threads or 1)
    torch.manual_seed(0)
    return run_tasks(size, tasks, args, resolve_device(device))


def for_the_task(recipe: Recipe) -> Recipe:
    return recipe.for_task(0) if recipe.tasks else recipe


def seeds_at(args, size: int) -> int:
    """The seed count for `size`: `--seeds` gives one count for all sizes or one per size."""
    if len(args.seeds) == 1:
        return args.seeds[0]
    return args.seeds[args.sizes.index(size)]


def run_tasks(size: int, tasks: list[str], args, device: torch.device) -> list[tuple[str, str, Result]]:
    """All methods on `tasks`, seed by seed (so that an interrupted run still has whole seeds); batch-1
    methods interleaved image by image, batched contenders run on all seeds at the start."""
    plugins = load_plugins()
    clock = CLOCKS[args.clock]
    generator = generator_spec(size, args.channel_base, args.channel_max)
    recipes = {"reference": (args.reference, True)} | {p.stem: (p, False) for p in args.contenders}
    generators = Generators(plugins.registry)
    methods = {task: [Method(name, for_the_task(parse_recipe(benchmark_recipe(path, generator, task, args.backbone,
                                                                              is_reference), plugins.registry)),
                             plugins.registry, generators, device, args.phases and is_reference)
                      for name, (path, is_reference) in recipes.items()]
               for task in tasks}
    for network in {id(m.G): m.G for task in tasks for m in methods[task]}.values():
        track_w_avg(network)  # every method's generator: one that computes differently is another instance
    seeds = list(range(args.first_seed, args.first_seed + seeds_at(args, size)))
    clean = ground_truths(problem_generator(generators, generator, device), seeds)
    rows = [(task, m.name, m.result) for task in tasks for m in methods[task]]
    record = Record(args.record, args.clock, {"run": args.run, "commit": args.commit,
                                              "cpu": shown_flags(cpu_flags())})
    try:
        for task in tasks:
            for method in methods[task]:
                todo = [] if args.table_only else [s for s in seeds if record.get(size, task, method, s) is None]
                if todo:
                    method.warm(clean[:method.recipe.batch_size])
                if method.recipe.batch_size == 1:
                    continue
                for start in range(0, len(todo), method.recipe.batch_size):
                    chunk = todo[start:start + method.recipe.batch_size]
                    method.run(clean[[seeds.index(s) for s in chunk]], chunk, clock)
                    for offset, s in enumerate(chunk):
                        record.add(size, task, method, s, method.result.image(offset - len(chunk)))
                method.result.reset([f for f in (record.get(size, task, method, s) for s in seeds) if f is not None])
        for i, seed in enumerate(seeds):
            for task in tasks:
                for method in [m for m in methods[task] if m.recipe.batch_size == 1]:
                    recorded = record.get(size, task, method, seed)
                    if recorded is not None:
                        method.result.add_image(recorded)
                        continue
                    if args.table_only:
                        continue
                    method.run(clean[i:i + 1], [seed], clock)
                    entry = record.add(size, task, method, seed, method.result.image(-1))
                    method.result.origin.append(origin(entry))
                    r = method.result
                    print(f"  {size}² seed {seed} {task} {method.name}: {r.seconds[-1]:.1f} s, PSNR {r.psnr[-1]:.2f}, "
                          f"loss {r.loss[-1]:.4f} ({load()})", flush=True)
    except KeyboardInterrupt:
        print("  interrupted: the table has the images finished so far", flush=True)
    return rows


def _short(recipe: Recipe) -> dict:
    """The recipe with at most two steps per phase (warm-up)."""
    data = recipe.model_dump()
    for phase in data["schedule"]["phases"]:
        phase["steps"] = min(phase["steps"], 2)
    return data


def paired(r: Result, ref: Result) -> list[tuple[int, int]]:
    """(index in r, index in ref) of every seed both hold, in seed order: images are compared seed by seed, so a
    record with a seed missing for one method (a stopped or split run) pairs no image with another's."""
    where = {seed: j for j, seed in enumerate(ref.seeds)}
    return sorted(((i, where[seed]) for i, seed in enumerate(r.seeds) if seed in where), key=lambda p: r.seeds[p[0]])


def standard_error(gains: list[float]) -> str:
    """The standard error of the mean gain over the images (their sample standard deviation / √n): how far the
    mean would move with other seeds. One image's PSNR also moves by up to 0.7 dB when its target moves by 1e-6
    (benchmarks/sensitivity.py), which this spread includes."""
    if len(gains) < 2:
        return ""
    return f"{statistics.stdev(gains) / math.sqrt(len(gains)):.2f}"


def report(size: int, rows: list[tuple[str, str, Result]], phases: bool) -> None:
    """The table of means over the seeds each method shares with the reference (with each contender's worst single
    image), then every image against the reference's, by seed."""
    print("\n| size | task | method | images | s/image | PSNR dB | final loss | time / reference | ΔPSNR dB "
          "| worst image ΔPSNR dB | ΔPSNR standard error dB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    reference = {task: r for task, name, r in rows if name == "reference"}
    per_image: list[tuple[str, dict[int, str]]] = []
    for task, name, r in rows:
        ref = reference[task]
        pairs = paired(r, ref)
        if not pairs:
            continue
        mine, theirs = [i for i, _ in pairs], [j for _, j in pairs]
        t, p = statistics.mean(r.seconds[i] for i in mine), statistics.mean(r.psnr[i] for i in mine)
        gains = [r.psnr[i] - ref.psnr[j] for i, j in pairs]
        print(f"| {size} | {task} | {name} | {len(pairs)} | {t:.1f} | {p:.2f} | "
              f"{statistics.mean(r.loss[i] for i in mine):.4f} | "
              f"{t / statistics.mean(ref.seconds[j] for j in theirs):.2f} | "
              f"{p - statistics.mean(ref.psnr[j] for j in theirs):+.2f} | {'' if r is ref else f'{min(gains):+.2f}'} | "
              f"{standard_error(gains) if r is not ref else ''} |")
        if r is not ref:
            cells = {r.seeds[i]: f"{ref.psnr[j]:.2f} → {r.psnr[i]:.2f} dB, {r.seconds[i] / ref.seconds[j]:.2f}×"
                     for i, j in pairs}
            per_image.append((f"| {size} | {task} | {name} | ", cells))
    if per_image:
        columns = sorted({seed for _, cells in per_image for seed in cells})
        print("\nper image (reference → method PSNR, time ratio):\n")
        print("| size | task | method | " + " | ".join(f"seed {seed}" for seed in columns) + " |")
        print("|---|---|---|" + "---|" * len(columns))
        print("\n".join(start + " | ".join(cells.get(seed, "") for seed in columns) + " |"
                        for start, cells in per_image))
    if phases:
        print("\nreference PSNR at the end of each phase (mean over seeds):")
        for task, r in reference.items():
            if r.phase_psnr:
                print(f"  {task}: " + ", ".join(f"{k} {statistics.mean(v):.2f}" for k, v in r.phase_psnr.items()))
    origins = Counter(label for _, _, r in rows for label in r.origin)
    if origins:
        print("\nimages by origin: " + "; ".join(f"{label}: {count}" for label, count in sorted(origins.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--seeds", type=int, nargs="+", default=[4],
                        help="ground-truth images per task: one count, or one per size")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first-seed … first-seed + count − 1 (to add seeds to a stopped run)")
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=TASKS)
    parser.add_argument("--reference", type=Path, default=ROOT / "examples" / "rusir.yaml")
    parser.add_argument("--contenders", type=Path, nargs="+", default=[ROOT / "examples" / "fast.yaml"])
    parser.add_argument("--channel-base", type=int, default=32768)
    parser.add_argument("--channel-max", type=int, default=512)
    parser.add_argument("--backbone", choices=["random", "pretrained"], default="random")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--phases", action="store_true", help="also print the reference's PSNR after each phase")
    parser.add_argument("--json", type=Path, help="also write every image's figures to this file")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes, tasks split between them (CPU)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per process (default: torch's; "
                                                                  "1 per worker with --jobs)")
    parser.add_argument("--clock", choices=list(CLOCKS), default="wall",
                        help="time per image as wall seconds or the process's CPU seconds (shared machines)")
    parser.add_argument("--record", type=Path, help=(
        "append every finished image to this JSON-lines file, and skip the images it already holds for the "
        "same method, problem and clock (a stopped run resumes; seeds can be added later)"))
    parser.add_argument("--table-only", action="store_true",
                        help="print the tables of what --record holds for these sizes, seeds and tasks; run nothing")
    args = parser.parse_args()
    if len(args.seeds) not in (1, len(args.sizes)):
        parser.error("--seeds takes one count, or one per size")
    if args.table_only and args.record is None:
        parser.error("--table-only needs --record FILE")
    args.run, args.commit = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), source_commit()
    held = Record(args.record).lines if args.record is not None else {}
    if args.table_only:
        args.jobs = 1
        others = {entry["clock"] for entry in held.values()} - {args.clock}
        if others:
            print(f"record {args.record}: it also holds images timed with --clock {', '.join(sorted(others))}; "
                  f"this table shows only those timed with --clock {args.clock}")
    elif held:
        print(f"record {args.record}: {len(held)} image(s) held; this run's are not run again")
    torch.manual_seed(0)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    threads = f"{args.threads or 1} thread(s) per worker, " if args.jobs > 1 else ""
    print(f"machine: {machine()}; device {device}; {args.jobs} job(s), {threads}clock {args.clock}")
    print(f"generator: channel_base {args.channel_base}, channel_max {args.channel_max}; "
          f"seeds {' '.join(map(str, args.seeds))}; level M; LPIPS backbone {args.backbone}; "
          f"contenders {', '.join(str(p) for p in args.contenders)}")
    saved: dict[int, dict] = {}
    for size, rows in run_all(args, device):
        report(size, rows, args.phases)
        if args.json is not None:
            saved[size] = {f"{task}/{name}": asdict(result) for task, name, result in rows}
            args.json.write_text(json.dumps(saved, indent=1))
        print(f"{size}²: end ({load()})", flush=True)


if __name__ == "__main__":
    main()
