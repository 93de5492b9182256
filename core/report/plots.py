"""Loss curves as SVG: one plot per image, every phase/term series of its log.json on a log scale."""

from __future__ import annotations

import io
from pathlib import Path

from restorefw.imageio import atomic_write_bytes

COLOURS = ("#1f5fa8", "#d1495b", "#2e933c", "#edae49", "#7b5ea7", "#00798c", "#8d6a3f", "#666666")


def split_log(log: dict[str, list[float]]) -> tuple[list[str], list[str]]:
    """The phases (in the order they ran) and terms (total first) named by `phase/term` keys."""
    phases: list[str] = []
    terms: list[str] = []
    for key in log:
        phase, _, term = key.rpartition("/")
        if phase not in phases:
            phases.append(phase)
        if term not in terms:
            terms.append(term)
    terms.sort(key=lambda t: t != "total")
    return phases, terms


def loss_figure(log: dict[str, list[float]]) -> bytes:
    """The SVG of one image's loss curves: steps run on across phases, phase boundaries dashed."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

    phases, terms = split_log(log)
    ylabel = "loss"
    if len(terms) == 2 and terms[0] == "total":  # one loss: its curve is the total's (times its weight)
        ylabel, terms = f"loss ({terms[1]})", ["total"]
    figure = Figure(figsize=(5.2, 2.4), dpi=100)
    figure.subplots_adjust(left=0.15, right=0.79, bottom=0.19, top=0.96)  # fixed: a layout engine costs 35 %
    axes = figure.add_subplot()
    start = 0
    positive = all(v > 0 for series in log.values() for v in series)
    for p, phase in enumerate(phases):
        length = max((len(log.get(f"{phase}/{t}", [])) for t in terms), default=0)
        for k, term in enumerate(terms):
            series = log.get(f"{phase}/{term}")
            if series:
                axes.plot(range(start, start + len(series)), series, color=COLOURS[k % len(COLOURS)],
                          linewidth=1.6 if term == "total" else 1.0, label=term if p == 0 else None)
        if p:
            axes.axvline(start - 0.5, color="#999999", linestyle="--", linewidth=0.8)
        axes.annotate(phase, xy=(start, 1), xycoords=("data", "axes fraction"), xytext=(3, -3),
                      textcoords="offset points", va="top", fontsize=7.5, fontweight="bold", color="#555555")
        start += length
    axes.set_yscale("log" if positive else "symlog")
    if positive:  # plain numbers (0.4, not 4×10⁻¹); minor ticks labelled only when there are few decades
        values = [v for series in log.values() for v in series]
        plain = FuncFormatter(lambda value, _: f"{value:.3g}")
        axes.yaxis.set_major_formatter(plain)
        axes.yaxis.set_minor_formatter(plain if max(values) < 20 * min(values) else NullFormatter())
    axes.set_xlabel("step", fontsize=8)
    axes.set_ylabel(ylabel, fontsize=8)
    axes.tick_params(which="both", labelsize=7)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(True, which="major", color="#e5e5e5", linewidth=0.6)
    axes.set_xlim(0, max(start - 1, 1))
    if len(terms) > 1:
        axes.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return buffer.getvalue()


def write_loss_plot(log_file: Path, plot: Path, log: dict[str, list[float]]) -> None:
    """Write `plot` from `log` unless it is newer than `log_file` and than this drawing code (reruns stay quick)."""
    made_from = max(log_file.stat().st_mtime_ns, Path(__file__).stat().st_mtime_ns)
    if plot.is_file() and plot.stat().st_mtime_ns >= made_from:
        return
    atomic_write_bytes(plot, loss_figure(log))
