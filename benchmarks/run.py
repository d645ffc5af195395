"""Run the benchmark suite: ``python -m benchmarks.run [--quick] [options]``.

For every problem (see :mod:`benchmarks.problems`) the data are generated in
memory once; dask libraries get the same arrays as persisted dask arrays
(chunks that are views, no copy). Then:

1. the reference optimum: unpenalized problems take statsmodels' IRLS
   answer (its first attempt is also its timed fit) polished by plain Newton
   steps in numpy to ``max |gradient| <= 1e-12``, or Newton from zero where
   statsmodels is not run; L1 problems take the lowest objective among tight
   fits of glum (irls-cd, gradient_tol 1e-12) and our newton (tol 1e-12), and
   among every fit of the run;
2. every fitter climbs its ladder of tolerances, loose to tight, and stops at
   the first fit that reaches the accuracy asked for: max |Δcoef| <= 1e-6 for
   second-order solvers, objective within 1e-6 relative for first-order ones.
   A fitter that never reaches it is reported with its tightest attempt and
   "no" in the "counts" column.

Wall time is measured around the fit call alone, after a warm-up fit of every
fitter on a toy problem (imports, numba compilation). Peak memory and dask
passes: see :mod:`benchmarks.measure`. Timings on a shared machine are
noisy; ``--repeat N`` keeps the fastest of up to N runs of each counted fit
(fewer when they take more than ``--repeat-budget`` seconds together).
"""

from __future__ import annotations

import argparse
import fnmatch
import math
import os
import sys
import time

import numpy as np

from . import report
from .measure import measure, set_thread_limits
from .peers import FITTERS, available
from .problems import Problem, make_problems, objective_value, reference_newton

ACCURACY = 1e-6
DEFAULT_PROBLEMS = ["logistic", "historical", "poisson", "normal", "l1_logistic", "l1_normal",
                    "rows", "cols"]
_CHUNK_BYTES = 64 * 2 ** 20


def default_chunk_rows(problem: Problem, n_cores: int) -> int:
    """Rows per dask chunk: at least two chunks per core, at most ~64 MiB each."""
    n_chunks = max(2 * n_cores, math.ceil(problem.design_nbytes / _CHUNK_BYTES))
    return math.ceil(problem.n_rows / n_chunks)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="every problem at a tenth of its rows (sweeps: a hundredth)")
    parser.add_argument("--problems", nargs="+", default=DEFAULT_PROBLEMS,
                        help=f"which problems (default: all): {' '.join(DEFAULT_PROBLEMS)}")
    parser.add_argument("--fitters", nargs="+", default=["*"],
                        help="glob patterns on fitter names, e.g. 'daskglm*' 'glum*'; "
                             "'dask-ml admm' runs only when named exactly")
    parser.add_argument("--inputs", nargs="+", default=["numpy", "dask"],
                        choices=["numpy", "dask"], help="run our solvers on these inputs")
    parser.add_argument("--max-rows", type=float, default=1e7,
                        help="largest size of the row sweep (default 1e7; the issue's 2e7 "
                             "needs ~13 GiB with statsmodels in the same process)")
    parser.add_argument("--chunk-rows", type=int, default=None,
                        help="rows per dask chunk (default: 2 chunks per core, <= 64 MiB)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="time each counted fit up to this many times, keep the fastest")
    parser.add_argument("--repeat-budget", type=float, default=20.0,
                        help="stop repeating a fit once its runs took this many seconds")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="skip a fit whose time, predicted from the same fitter's earlier "
                             "fits (linear in rows x coefficients), exceeds this many seconds "
                             "(default 60, with --quick 15)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/OpenMP threads for in-memory libraries (default: all cores)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"),
                        help="directory for the results")
    parser.add_argument("--tag", default=None, help="file name stem (default: quick or full)")
    parser.add_argument("--no-plot", action="store_true", help="skip the matplotlib plots")
    parser.add_argument("--list", action="store_true", help="list problems and fitters, exit")
    options = parser.parse_args(argv)
    if options.time_limit is None:
        options.time_limit = 15.0 if options.quick else 60.0
    return options


def select_fitters(patterns, inputs):
    """The fitters whose name matches a pattern, and why the others cannot run."""
    chosen, unavailable = [], {}
    for fitter in FITTERS:
        if not any(fnmatch.fnmatch(fitter.name, pattern) for pattern in patterns):
            continue
        if fitter.optional and fitter.name not in patterns:
            continue
        if fitter.ours and fitter.input not in inputs:
            continue
        reason = unavailable.get(fitter.library) or available(fitter.library)
        if reason:
            unavailable[fitter.library] = reason
            continue
        chosen.append(fitter)
    return chosen, unavailable


def measure_fit(fitter, data, tol, chunk_rows):
    """Measure one fit under the fitter's BLAS/OpenMP thread setting."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    limit = threadpool_limits(limits=fitter.blas_threads) if fitter.blas_threads \
        else nullcontext()
    with limit:
        return measure(fitter.run, data, tol, chunk_rows)


def warm_up(fitters):
    """Fit each fitter once on toy data: imports and JIT compilation are not timed."""
    toy = {family: Problem("warmup", family, 4000, 3, seed=0).make()
           for family in ("logistic", "poisson", "normal")}
    toy["l1"] = Problem("warmup", "logistic", 4000, 3, l1=1e-3, seed=0).make()
    for fitter in fitters:
        for data in toy.values():
            if fitter.supports(data.problem) is None:
                measure_fit(fitter, data, fitter.tolerances[0], 1000)


class ProblemRun:
    """All fits of one problem: the reference and every fitter's ladder."""

    def __init__(self, problem, fitters, options, history):
        self.problem, self.fitters, self.options = problem, fitters, options
        self.history = history  # (fitter name, input) -> seconds per row x coefficient
        self.n_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
            else os.cpu_count()
        self.chunk_rows = options.chunk_rows or default_chunk_rows(problem, self.n_cores)
        self.records = []
        self.reference = None

    def run(self):
        problem = self.problem
        started = time.perf_counter()
        self.data = problem.make()
        _say(f"\n== {problem.name}: {problem.n_rows:,} x {problem.n_coef} "
             f"({problem.design_nbytes / 2**30:.2f} GiB), generated in "
             f"{time.perf_counter() - started:.1f} s; dask chunks of {self.chunk_rows:,} rows")
        if any(f.input == "dask" for f in self.fitters):  # made before any timing
            self.data.dask_arrays(self.chunk_rows)
            self.data.dask_arrays(self.chunk_rows, features=True)
        ordered = sorted(self.fitters, key=lambda f: f.name != "statsmodels IRLS")
        for fitter in ordered:
            self.records.append(self._run_fitter(fitter))
        if self.reference is None:
            return self.records  # nothing ran
        self._finish_reference()
        for record in self.records:
            report.judge(record, self.reference, self.problem, ACCURACY)
        return self.records

    # -- the reference optimum --------------------------------------------------
    def _ensure_reference(self, statsmodels_coef=None):
        if self.reference is not None:
            return
        started = time.perf_counter()
        if self.problem.l1:
            self.reference = self._l1_reference()
        else:
            coef, gnorm, iterations = reference_newton(self.data, statsmodels_coef)
            source = "statsmodels IRLS + numpy Newton polish" if statsmodels_coef is not None \
                else "numpy Newton from zero"
            self.reference = dict(coef=coef, objective=objective_value(self.data, coef),
                                  gradient_norm=gnorm, polish_iterations=iterations,
                                  source=source)
        _say(f"   reference ({self.reference['source']}): F = "
             f"{self.reference['objective']:.12g} in {time.perf_counter() - started:.1f} s")

    def _l1_reference(self):
        from .peers import FITTERS as every

        candidates = []
        for fitter in every:
            if fitter.name in ("glum irls-cd", "daskglm newton") and fitter.input == "numpy" \
                    and fitter.supports(self.problem) is None \
                    and available(fitter.library) is None:
                fit = measure_fit(fitter, self.data, 1e-12, self.chunk_rows).value
                candidates.append((objective_value(self.data, fit.coef), fit.coef, fitter.name))
        value, coef, name = min(candidates, key=lambda c: c[0])
        return dict(coef=coef, objective=value, source=f"best tight fit ({name}, tol 1e-12)")

    def _finish_reference(self):
        """Any fit that found a lower L1 objective becomes the reference."""
        if not self.problem.l1:
            return
        for record in self.records:
            for attempt in record.get("attempts", []):
                if attempt["objective"] < self.reference["objective"]:
                    self.reference = dict(coef=attempt["coef"], objective=attempt["objective"],
                                          source=f"best fit of the run ({record['fitter']})")

    # -- one fitter --------------------------------------------------------------
    def _run_fitter(self, fitter):
        problem = self.problem
        record = report.new_record(problem, fitter, self.chunk_rows)
        reason = fitter.supports(problem) or self._too_big(fitter) or self._too_slow(fitter)
        if reason:
            record.update(status="skipped", reason=reason)
            return record
        if problem.l1 or fitter.name != "statsmodels IRLS":
            self._ensure_reference()
        for tol in fitter.tolerances:
            attempt = self._attempt(fitter, tol)
            record["attempts"].append(attempt)
            if self.reference is None:  # statsmodels' first answer starts the polish
                self._ensure_reference(attempt["coef"])
            report.score(attempt, self.reference, fitter.order, ACCURACY)
            _say(report.progress_line(fitter, attempt))
            if attempt.get("error") or attempt["counts"]:
                break
        self._repeat(fitter, record)
        self._remember(fitter, record)
        return record

    def _attempt(self, fitter, tol):
        try:
            measurement = measure_fit(fitter, self.data, tol, self.chunk_rows)
        except Exception as error:  # a peer's failure is a result to report, not a crash
            return dict(tol=tol, error=f"{type(error).__name__}: {error}"[:300], counts=False,
                        seconds=float("nan"), objective=float("inf"), coef=None)
        fit = measurement.value
        coef = np.asarray(fit.coef, dtype=float)
        return dict(
            tol=tol, seconds=measurement.seconds, times=[measurement.seconds],
            cpu_seconds=measurement.cpu_seconds,
            peak_extra_bytes=measurement.peak_extra_bytes,
            dask_computes=measurement.dask_computes, n_iter=fit.n_iter,
            n_passes=fit.n_passes if fit.n_passes is not None
            else (measurement.dask_computes if fitter.input == "dask" else None),
            converged=fit.converged, warnings=measurement.warnings, coef=coef,
            objective=objective_value(self.data, coef) if np.all(np.isfinite(coef))
            else float("inf"),
        )

    def _repeat(self, fitter, record):
        attempt = record["attempts"][-1] if record["attempts"] else None
        if attempt is None or attempt.get("error") or not attempt["counts"]:
            return
        for _ in range(self.options.repeat - 1):
            if sum(attempt["times"]) > self.options.repeat_budget:
                break
            again = measure_fit(fitter, self.data, attempt["tol"], self.chunk_rows)
            attempt["times"].append(again.seconds)
            if again.seconds < attempt["seconds"]:
                attempt.update(seconds=again.seconds, cpu_seconds=again.cpu_seconds)

    # -- skipping what cannot run here ------------------------------------------------
    def _too_big(self, fitter):
        import psutil

        need = fitter.memory_factor * self.problem.design_nbytes
        free = psutil.virtual_memory().available
        if need > 0.6 * free:
            return f"needs ~{need / 2**30:.1f} GiB beside the data, {free / 2**30:.1f} GiB free"
        return None

    def _too_slow(self, fitter):
        """Skip a fit predicted (linearly in rows x coefficients) to exceed --time-limit."""
        key = (fitter.name, fitter.input)
        if key not in self.history:
            return None
        seconds_per_cell = self.history[key]
        predicted = seconds_per_cell * self.problem.n_rows * self.problem.n_coef
        if predicted > self.options.time_limit:
            return (f"predicted {predicted:.0f} s from its earlier fits "
                    f"(> --time-limit {self.options.time_limit:g} s)")
        return None

    def _remember(self, fitter, record):
        """Seconds per row x coefficient of the whole ladder, at its latest problem."""
        seconds = sum(a["seconds"] for a in record["attempts"] if np.isfinite(a["seconds"]))
        if seconds:
            rate = seconds / (self.problem.n_rows * self.problem.n_coef)
            self.history[(fitter.name, fitter.input)] = rate


def _say(text):
    print(text, flush=True)


def run_suite(problems, fitters, options, unavailable=None, after_problem=None):
    """Run every problem with every fitter; return ``(records, environment)``.

    ``after_problem(records, environment)``, when given, is called after each
    problem (the command line writes the tables so far: a run cut short keeps
    what it measured).
    """
    threads = set_thread_limits(options.threads)
    environment = report.environment(threads, unavailable or {}, options)
    _say(f"warming up {len(fitters)} fitters ...")
    warm_up(fitters)
    records, history = [], {}
    for problem in problems:
        records += ProblemRun(problem, fitters, options, history).run()
        environment["load_after"] = os.getloadavg()
        if after_problem is not None:
            after_problem(records, environment)
    return records, environment


def main(argv=None):
    options = parse_args(argv)
    problems = make_problems(options.problems, quick=options.quick,
                             max_rows=int(options.max_rows))
    fitters, unavailable = select_fitters(options.fitters, options.inputs)
    if options.list:
        for problem in problems:
            print(f"{problem.name:28s} {problem.family:9s} alpha={problem.l1:g}")
        for fitter in fitters:
            print(f"{fitter.name:28s} {fitter.input:6s} tolerances {fitter.tolerances}")
        return 0
    for library, reason in unavailable.items():
        _say(f"skipping {library}: {reason}")
    tag = options.tag or ("quick" if options.quick else "full")

    def write_so_far(records, environment):
        report.write(records, environment, options.out, tag, plot=False)

    records, environment = run_suite(problems, fitters, options, unavailable, write_so_far)
    paths = report.write(records, environment, options.out, tag, plot=not options.no_plot)
    _say("\n" + report.targets_markdown(records) + "\n\n" + report.headline_markdown(records))
    for path in paths:
        _say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
