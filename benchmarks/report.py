"""Records of fits, their accuracy, and the markdown / JSON / plots written from them."""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess

import numpy as np

__all__ = ["new_record", "score", "judge", "progress_line", "environment", "write",
           "headline_markdown", "problem_markdown", "sweep_markdown", "targets_markdown"]

_MiB = 2 ** 20


# -- records ---------------------------------------------------------------------------
def new_record(problem, fitter, chunk_rows):
    """An empty record of one fitter on one problem."""
    return dict(
        problem=problem.name, label=problem.label, group=problem.group, family=problem.family,
        n_rows=problem.n_rows, n_features=problem.n_features, n_coef=problem.n_coef,
        l1=problem.l1, design_bytes=problem.design_nbytes,
        fitter=fitter.name, library=fitter.library, input=fitter.input, order=fitter.order,
        ours=fitter.ours, solver=fitter.solver or fitter.name.split(" ", 1)[-1],
        chunk_rows=chunk_rows if fitter.input == "dask" else None,
        n_chunks=-(-problem.n_rows // chunk_rows) if fitter.input == "dask" else None,
        status="ran", reason="", attempts=[],
    )


def score(attempt, reference, order, accuracy):
    """max |Δcoef|, relative objective gap, and whether the attempt counts."""
    if attempt.get("error") or attempt["coef"] is None or reference is None:
        attempt.update(max_dcoef=float("inf"), rel_gap=float("inf"), counts=False)
        return attempt
    coef = attempt["coef"]
    dcoef = float(np.max(np.abs(coef - reference["coef"]))) if coef.shape == \
        reference["coef"].shape else float("inf")
    gap = (attempt["objective"] - reference["objective"]) / max(abs(reference["objective"]),
                                                                1e-300)
    counts = dcoef <= accuracy if order == 2 else gap <= accuracy
    attempt.update(max_dcoef=dcoef, rel_gap=float(gap), counts=bool(counts))
    return attempt


def judge(record, reference, problem, accuracy):
    """Rescore every attempt against the final reference and pick the one reported.

    The reported attempt is the first (loosest tolerance) that counts, else
    the last one tried.
    """
    record["reference"] = {k: v for k, v in reference.items() if k != "coef"}
    attempts = record["attempts"]
    for attempt in attempts:
        score(attempt, reference, record["order"], accuracy)
    if not attempts:
        record["chosen"] = None
        return record
    counting = [i for i, a in enumerate(attempts) if a["counts"]]
    record["chosen"] = counting[0] if counting else len(attempts) - 1
    return record


def chosen(record):
    """The reported attempt of a record, or None."""
    if record.get("chosen") is None:
        return None
    return record["attempts"][record["chosen"]]


def progress_line(fitter, attempt):
    if attempt.get("error"):
        return (f"   {fitter.name:26s} {fitter.input:5s} tol={attempt['tol']}: "
                f"ERROR {attempt['error']}")
    return (f"   {fitter.name:26s} {fitter.input:5s} tol={attempt['tol']!s:14s} "
            f"{attempt['seconds']:8.2f} s  |Δcoef| {attempt['max_dcoef']:.1e}  "
            f"gap {attempt['rel_gap']:.1e}  {'counts' if attempt['counts'] else 'not yet'}  "
            f"iters {attempt['n_iter']}  passes {attempt['n_passes']}  "
            f"cpu {attempt['cpu_seconds']:.2f} s  "
            f"+{attempt['peak_extra_bytes'] / _MiB:.0f} MiB")


# -- the environment --------------------------------------------------------------------
def _version(module):
    try:
        return __import__(module).__version__
    except Exception:  # not installed, or no version: say so in the table
        return "-"


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_revision():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True, cwd=os.path.dirname(__file__)).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "-"


def environment(threads, unavailable, options):
    import psutil

    from .measure import memory_method

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return dict(
        date=datetime.datetime.now().isoformat(timespec="minutes"),
        machine=f"{cores} cores ({_cpu_model()}), "
                f"{psutil.virtual_memory().total / 2**30:.0f} GiB memory",
        python=platform.python_version(),
        versions={name: _version(module) for name, module in [
            ("daskglm", "daskglm"), ("numpy", "numpy"), ("scipy", "scipy"),
            ("dask", "dask"), ("statsmodels", "statsmodels"), ("scikit-learn", "sklearn"),
            ("glum", "glum"), ("dask-glm", "dask_glm"), ("dask-ml", "dask_ml"),
            ("numba", "numba")]},
        revision=_git_revision(), threads=threads, unavailable=unavailable,
        memory_method=memory_method(), load_before=os.getloadavg(),
        quick=bool(options.quick), repeat=options.repeat,
    )


def _environment_markdown(env):
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    lines = [
        f"- date: {env['date']}; machine: {env['machine']}; Python {env['python']}; "
        f"daskglm revision {env['revision']}",
        f"- versions: {versions}",
        "- BLAS/OpenMP threads for in-memory libraries: "
        f"{[tuple(pool) for pool in env['threads']]} (dask tasks of "
        "daskglm limit BLAS to one thread each); dask: local threaded scheduler",
        f"- peak memory: {env['memory_method']}, reported as the peak above the resident "
        "memory before the fit (the data already in memory), and as a multiple of the "
        "design's size",
        f"- load average before / after: {_load(env['load_before'])} / "
        f"{_load(env.get('load_after', (np.nan,) * 3))} (a shared machine: timings are noisy); "
        f"fastest of up to {env['repeat']} run(s) per counted fit",
        "- a fit *counts* when max |Δcoef| <= 1e-6 (second-order solvers) or the objective is "
        "within 1e-6 relative of the reference (first-order); otherwise its tightest attempt is "
        "shown and 'counts' is 'no'",
        "- overhead ms/pass: seconds per pass on dask input minus per pass on numpy input, for "
        "our solvers; negative where the numpy run works its blocks one after the other (admm, "
        "saga) and the dask run uses both cores",
    ]
    for library, reason in env["unavailable"].items():
        lines.append(f"- skipped {library}: {reason}")
    return "\n".join(lines)


def _load(values):
    return "/".join(f"{v:.1f}" for v in values)


# -- markdown ----------------------------------------------------------------------------
def _fmt(value, spec):
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return format(value, spec)


def _label(record):
    if record["input"] == "dask":
        return f"{record['fitter']} (dask, {record['n_chunks']} chunks)"
    return record["fitter"]


def _numpy_twin(records, record):
    for other in records:
        if other["problem"] == record["problem"] and other["fitter"] == record["fitter"] \
                and other["input"] == "numpy":
            return other
    return None


def scheduler_overhead(records, record):
    """Seconds per pass on dask input minus per pass on numpy input (ours only)."""
    if not record["ours"] or record["input"] != "dask":
        return None
    twin = _numpy_twin(records, record)
    mine, theirs = chosen(record), chosen(twin) if twin else None
    if not mine or not theirs or not mine.get("n_passes") or not theirs.get("n_passes"):
        return None
    return mine["seconds"] / mine["n_passes"] - theirs["seconds"] / theirs["n_passes"]


def _newton_seconds(records, problem, input_kind="dask"):
    for record in records:
        if record["problem"] == problem and record["fitter"] == "daskglm newton" \
                and record["input"] == input_kind and chosen(record) and chosen(record)["counts"]:
            return chosen(record)["seconds"]
    return None


def problem_markdown(records, problem):
    rows = [r for r in records if r["problem"] == problem]
    first = rows[0]
    reference = next((r["reference"] for r in rows if "reference" in r), {})
    newton = _newton_seconds(records, problem)
    out = [f"### {problem}: {first['family']}, {first['n_rows']:,} rows x {first['n_coef']} "
           f"coefficients" + (f", L1 alpha = {first['l1']:g}" if first["l1"] else ""),
           "",
           f"Reference: {reference.get('source', '-')}, F* = "
           f"{_fmt(reference.get('objective'), '.12g')}"
           + (f", max |gradient| {reference['gradient_norm']:.1e}"
              if "gradient_norm" in reference else ""),
           "",
           "| fitter | tol | time [s] | cpu [s] | ÷ newton (dask) | max abs Δcoef | rel. gap "
           "| counts | iters | passes | peak extra MiB (× X) | overhead ms/pass | notes |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: "
           "| --- |"]
    for record in rows:
        out.append(_row_markdown(records, record, newton))
    return "\n".join(out)


def _tol(attempt):
    """The tolerance as it was given (JSON turns a tuple into a list)."""
    tol = attempt["tol"]
    return tuple(tol) if isinstance(tol, list) else tol


def _row_markdown(records, record, newton):
    attempt = chosen(record)
    if attempt is None:
        return f"| {_label(record)} | | | | | | | skipped | | | | | {record['reason']} |"
    if attempt.get("error"):
        return (f"| {_label(record)} | {_tol(attempt)} | | | | | | error | | | | | "
                f"{attempt['error']} |")
    ratio = attempt["seconds"] / newton if newton else None
    overhead = scheduler_overhead(records, record)
    peak = attempt["peak_extra_bytes"]
    notes = "; ".join(w for w in attempt["warnings"][:2])
    return (f"| {_label(record)} | {_tol(attempt)} | {attempt['seconds']:.2f} | "
            f"{attempt['cpu_seconds']:.2f} | {_fmt(ratio, '.2f')} | "
            f"{_fmt(attempt['max_dcoef'], '.1e')} | "
            f"{_fmt(attempt['rel_gap'], '.1e')} | {'yes' if attempt['counts'] else 'no'} | "
            f"{_fmt(attempt['n_iter'], 'd')} | {_fmt(attempt['n_passes'], 'd')} | "
            f"{peak / _MiB:.0f} ({peak / record['design_bytes']:.2f}) | "
            f"{_fmt(None if overhead is None else 1e3 * overhead, '.1f')} | "
            f"{notes.replace('|', '/')} |")


def sweep_markdown(records, group):
    """Time [s] per fitter (rows) and size (columns); † marks fits that do not count."""
    rows = [r for r in records if r["group"] == group]
    if not rows:
        return ""
    size_key = "n_rows" if group == "rows" else "n_features"
    sizes = sorted({r[size_key] for r in rows})
    labels = list(dict.fromkeys((r["fitter"], r["input"]) for r in rows if r["attempts"]))
    head = "rows" if group == "rows" else "features"
    out = [f"### {group} sweep: time [s] by {head} († = did not reach 1e-6, - = skipped)", "",
           "| fitter | " + " | ".join(f"{s:,}" for s in sizes) + " |",
           "| --- |" + " ---: |" * len(sizes)]
    for fitter, input_kind in labels:
        cells = []
        for size in sizes:
            match = [r for r in rows if r["fitter"] == fitter and r["input"] == input_kind
                     and r[size_key] == size]
            attempt = chosen(match[0]) if match else None
            if attempt is None or attempt.get("error"):
                cells.append("-")
            else:
                cells.append(f"{attempt['seconds']:.2f}" + ("" if attempt["counts"] else "†"))
        name = fitter + (" (dask)" if input_kind == "dask" else "")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def headline_markdown(records):
    """Our newton against each peer, per main problem: ratio of times at equal accuracy."""
    out = ["### Headline: daskglm newton time ÷ peer time (same run, both at 1e-6)", "",
           "| problem | newton numpy [s] | newton dask [s] | peer | peer [s] | ratio (dask) "
           "| ratio (numpy) |", "| --- | ---: | ---: | --- | ---: | ---: | ---: |"]
    main = list(dict.fromkeys(r["problem"] for r in records if r["group"] == "main"))
    if not main:
        return ""
    for problem in main:
        dask_s, numpy_s = _newton_seconds(records, problem), \
            _newton_seconds(records, problem, "numpy")
        for record in records:
            attempt = chosen(record)
            if record["problem"] != problem or record["ours"] or attempt is None \
                    or attempt.get("error"):
                continue
            peer = attempt["seconds"] if attempt["counts"] else None
            tag = "" if attempt["counts"] else " (did not reach 1e-6)"
            out.append(
                f"| {problem} | {_fmt(numpy_s, '.2f')} | {_fmt(dask_s, '.2f')} | "
                f"{_label(record)}{tag} | {attempt['seconds']:.2f} | "
                f"{_fmt(dask_s / peer if dask_s and peer else None, '.3f')} | "
                f"{_fmt(numpy_s / peer if numpy_s and peer else None, '.3f')} |")
    return "\n".join(out)


# -- the issue's targets -------------------------------------------------------------------
def _time(records, label, fitter, input_kind=None):
    """Seconds of a counted fit of ``fitter`` on the main problem ``label``, else None."""
    for record in records:
        attempt = chosen(record)
        if record.get("label") == label and record["group"] == "main" \
                and record["fitter"] == fitter and attempt and attempt.get("counts") \
                and (input_kind is None or record["input"] == input_kind):
            return attempt["seconds"]
    return None


def _ratio_target(records, label, ours, peer, limit, text, input_kind="dask"):
    mine, theirs = _time(records, label, ours, input_kind), _time(records, label, peer)
    if mine is None or theirs is None:
        missing = ours if mine is None else peer
        return (text, f"not measured ({missing} did not run or did not reach 1e-6)", "-")
    ratio = mine / theirs
    return (text, f"{mine:.2f} s / {theirs:.2f} s = {ratio:.3f}", "yes" if ratio <= limit else "no")


def _growth_target(records):
    rows = {}
    for record in records:
        attempt = chosen(record)
        if record["group"] == "rows" and record["fitter"] == "daskglm newton" \
                and record["input"] == "dask" and attempt and attempt.get("counts"):
            rows[record["n_rows"]] = attempt["seconds"] / record["n_rows"]
    text = "newton time per row within 1.5x between 1e6 rows and the largest size"
    if 1_000_000 not in rows or max(rows) <= 1_000_000:
        return (text, "not measured (row sweep without 1e6 and a larger size)", "-")
    ratio = rows[max(rows)] / rows[1_000_000]
    return (text, f"per row at {max(rows):,} / at 1e6 = {ratio:.2f}",
            "yes" if ratio <= 1.5 else "no")


def _memory_target(records, label="logistic"):
    text = "peak memory of a persisted newton fit <= 1.5 x the size of X (extra <= 0.5 x)"
    for record in records:
        attempt = chosen(record)
        if record.get("label") == label and record["fitter"] == "daskglm newton" \
                and record["input"] == "dask" and attempt and not attempt.get("error"):
            extra = attempt["peak_extra_bytes"] / record["design_bytes"]
            return (text, f"extra {extra:.2f} x X on {record['problem']}",
                    "yes" if extra <= 0.5 else "no")
    return (text, "not measured", "-")


def targets_markdown(records):
    """Issue 6's targets, checked on this run's numbers (our solvers on dask input).

    Targets on problems this run left out are not listed.
    """
    newton = "daskglm newton"
    historical = _time(records, "historical", newton, "dask")
    checks = [
        ("logistic", _ratio_target(records, "logistic", newton, "glum irls-ls", 0.5,
                                   "logistic: newton <= 0.5 x glum")),
        ("logistic", _ratio_target(records, "logistic", newton, "statsmodels IRLS", 0.05,
                                   "logistic: newton <= 0.05 x statsmodels")),
        ("logistic", _ratio_target(records, "logistic", newton, "dask-glm newton", 0.2,
                                   "logistic: newton >= 5x faster than dask-glm newton")),
        ("logistic", _ratio_target(records, "logistic", newton, "dask-ml newton", 0.2,
                                   "logistic: newton >= 5x faster than dask-ml newton")),
        ("historical", ("historical 8e6 x 15: newton < 5 s",
                        "not measured" if historical is None else f"{historical:.2f} s",
                        "-" if historical is None else ("yes" if historical < 5 else "no"))),
        ("historical", _ratio_target(records, "historical", "daskglm admm", "dask-glm admm", 0.2,
                                     "historical: admm >= 5x faster than dask-glm admm")),
        ("l1_logistic", _ratio_target(records, "l1_logistic", newton, "glum irls-cd", 1.0,
                                      "L1 logistic: newton <= 1.0 x glum irls-cd")),
        ("logistic", _ratio_target(records, "logistic", "daskglm saga", "sklearn saga", 1.0,
                                   "logistic: saga <= 1.0 x sklearn saga")),
        ("rows", _growth_target(records)),
        ("logistic", _memory_target(records)),
    ]
    ran = {r.get("label") for r in records} | {r["group"] for r in records}
    out = ["### Issue 6 targets (our solvers on dask input; sizes as run)", "",
           "| target | measured | met |", "| --- | --- | --- |"]
    out += [f"| {text} | {measured} | {met} |"
            for label, (text, measured, met) in checks if label in ran]
    return "\n".join(out)


# -- files --------------------------------------------------------------------------------
def _jsonable(records):
    clean = []
    for record in records:
        record = dict(record)
        record["attempts"] = [{k: v for k, v in a.items() if k != "coef"}
                              for a in record["attempts"]]
        clean.append(record)
    return clean


def write(records, env, out_dir, tag, *, plot=True):
    """Write ``<tag>.md``, ``<tag>.json`` and the sweep plots; return the paths."""
    os.makedirs(out_dir, exist_ok=True)
    problems = list(dict.fromkeys(r["problem"] for r in records if r["group"] == "main"))
    parts = [f"# daskglm benchmarks ({tag})", "", _environment_markdown(env), "",
             targets_markdown(records), ""]
    headline = headline_markdown(records)
    if headline:
        parts += [headline, ""]
    parts += [problem_markdown(records, p) + "\n" for p in problems]
    for group in ("rows", "cols"):
        table = sweep_markdown(records, group)
        if table:
            parts += [table, ""]
    paths = [os.path.join(out_dir, f"{tag}.md"), os.path.join(out_dir, f"{tag}.json")]
    if plot:
        from .plots import plot_sweeps

        figures = plot_sweeps(records, out_dir, tag)
        parts += [f"![{os.path.basename(f)}]({os.path.basename(f)})" for f in figures]
        paths += figures
    with open(paths[0], "w") as handle:
        handle.write("\n".join(parts) + "\n")
    with open(paths[1], "w") as handle:
        json.dump(dict(environment=env, records=_jsonable(records)), handle, indent=1,
                  default=_json_default)
    return paths


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def main(argv=None):
    """``python -m benchmarks.report results/full.json``: rewrite a run's markdown and plots."""
    import sys

    argv = sys.argv[1:] if argv is None else argv
    for path in argv:
        with open(path) as handle:
            run = json.load(handle)
        stem = os.path.splitext(os.path.basename(path))[0]
        for written in write(run["records"], run["environment"], os.path.dirname(path) or ".",
                             stem):
            print(f"wrote {written}")


if __name__ == "__main__":
    main()
