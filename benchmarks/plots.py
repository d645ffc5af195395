"""Log-log plots of the sweeps: time against rows (and against columns)."""

from __future__ import annotations

import os

__all__ = ["plot_sweeps", "main"]


def _series(records, group, size_key):
    from .report import chosen

    series = {}
    for record in records:
        attempt = chosen(record)
        if record["group"] != group or attempt is None or attempt.get("error"):
            continue
        label = record["fitter"] + (" (dask)" if record["input"] == "dask" else "")
        series.setdefault(label, []).append(
            (record[size_key], attempt["seconds"], attempt["counts"], record["ours"]))
    return series


def _plot_one(series, xlabel, title, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    markers = "osD^v<>ph*"
    colors = plt.get_cmap("tab20").colors
    for index, (label, points) in enumerate(sorted(series.items())):
        points.sort()
        sizes = [p[0] for p in points]
        seconds = [p[1] for p in points]
        ours = points[0][3]
        line, = ax.plot(sizes, seconds, marker=markers[index % len(markers)],
                        linestyle="-" if ours else "--", linewidth=2.2 if ours else 1.2,
                        color=colors[index % len(colors)], label=label)
        missed = [(s, t) for s, t, counts, _ in points if not counts]
        if missed:  # hollow markers: the fit did not reach 1e-6
            ax.plot(*zip(*missed, strict=True), linestyle="none",
                    marker=markers[index % len(markers)], markersize=11,
                    markerfacecolor="white", color=line.get_color())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("wall time to max |Δcoef| ≤ 1e-6 or gap ≤ 1e-6 [s]")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_sweeps(records, out_dir, tag):
    """Write ``<tag>_rows.png`` / ``<tag>_cols.png`` for the sweeps present."""
    paths = []
    for group, size_key, xlabel in (("rows", "n_rows", "rows (p = 20)"),
                                    ("cols", "n_features", "features")):
        series = _series(records, group, size_key)
        if series:
            title = f"logistic regression, {group} sweep (hollow: did not reach 1e-6)"
            paths.append(_plot_one(series, xlabel, title,
                                   os.path.join(out_dir, f"{tag}_{group}.png")))
    return paths


def main(argv=None):
    """``python -m benchmarks.plots results/full.json``: redraw the plots of a run."""
    import json
    import sys

    argv = sys.argv[1:] if argv is None else argv
    for path in argv:
        with open(path) as handle:
            records = json.load(handle)["records"]
        stem = os.path.splitext(os.path.basename(path))[0]
        for figure in plot_sweeps(records, os.path.dirname(path) or ".", stem):
            print(f"wrote {figure}")


if __name__ == "__main__":
    main()
