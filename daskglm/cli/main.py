"""The ``daskglm`` command line: fit a formula GLM to data files, predict from a saved fit.

::

    daskglm fit FORMULA DATA --family poisson [--link log] [--method newton]
                [--family-PARAM VALUE ...] (e.g. --family tweedie --var-power 1.5)
                [--exposure COL] [--offset COL] [--freq-weights COL] [--var-weights COL]
                [--cov-type HC1 | --cov-type cluster --groups COL]
                [--penalty l1 --alpha 0.01 [--l1-ratio R]]
                [--max-iter N] [--tol T] [--option NAME=VALUE ...]
                [--scheduler ADDRESS | --workers N]
                [--format text|html|latex|json] [--progress] [--save FIT.json]
                [--overwrite] [--allow-python-formula]
    daskglm predict FIT.json DATA --output OUT.parquet|OUT.csv [--format parquet|csv]
                [--which mean|linear] [--exposure COL] [--offset COL] [--se] [--ci LEVEL]
                [--keep COL [--keep COL ...]] [--overwrite] [--allow-python-formula]
                [--scheduler ADDRESS | --workers N]

``DATA`` is a parquet file, a folder of parquet files (hive-partitioned
folders too), a glob such as ``'claims/*.parquet'``, or CSV (``.csv``,
``.tsv``, compressed or not, a file, a folder or a glob); the format is
told by the extension. It is read lazily with ``dask.dataframe``.

``fit`` prints statsmodels' summary (``--format text``, ``html`` or
``latex``) or the saved-fit JSON document (``--format json``: params,
standard errors, p-values, covariance, statistics, convergence and the
design), and with ``--save`` writes that document to a file, which
``predict`` applies to new data (column ``predicted``; with ``--se`` and
``--ci LEVEL`` also the standard error and the interval bounds, by
statsmodels' ``summary_frame`` names: ``mean_se``, ``mean_ci_lower``,
``mean_ci_upper``, or ``se``, ``ci_lower``, ``ci_upper`` for ``--which
linear``; computed in the same pass, from the saved covariance). The
document's format is described in
:mod:`daskglm.frontend.saved`. A formula (``fit``'s, or the one in a saved
fit) may hold only column names, operators and the transforms of
:mod:`daskglm.frontend.formula_safety` unless ``--allow-python-formula`` is
given. Outputs are checked before any work and written atomically
(:mod:`.io`).

Without ``--scheduler`` or ``--workers`` dask's default threaded scheduler
runs everything; ``--workers N`` starts a local cluster of N one-thread
worker processes for the run; ``--scheduler ADDRESS`` connects to a running
``distributed`` scheduler (so does the environment variable
``DASK_SCHEDULER_ADDRESS``, dask's ``scheduler-address`` setting, when neither
option is given). This module is the one place where the command
line opens a ``distributed.Client`` (made current for the run only).

The parser is :mod:`.arguments`, reading and writing files :mod:`.io`; this
module runs the commands. Errors in the arguments or the data end the
command with a one-line message on stderr and exit status 1 (2 for
arguments argparse refuses); ``--traceback`` shows the full traceback
instead. Warnings (such as non-convergence) are printed on one line each.
Ctrl-C prints one line and exits 130, with ``--workers`` too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import dask
import numpy as np
import patsy

from ..messages import listing
from .arguments import build_parser, fit_family, fit_format, fit_penalty
from .interrupts import block_interrupts, ignore_interrupts, restore_interrupts, unblock_interrupts
from .io import (
    check_output_path,
    column_array,
    input_paths,
    prediction_format,
    read_data,
    refuse_overlap,
    replace_output,
    write_predictions,
)

__all__ = ["main", "read_data"]

#: Errors that bad arguments or bad data raise: reported in one line.
_USER_ERRORS = (ValueError, TypeError, OSError, LookupError, RuntimeError,
                NotImplementedError, ImportError, ArithmeticError, patsy.PatsyError)


# -- running ---------------------------------------------------------------------
@contextlib.contextmanager
def _scheduler(args):
    """Where dask computes during the run: threads, a local cluster, or a scheduler."""
    address = args.scheduler
    if address is None and args.workers is None:
        address = dask.config.get("scheduler-address", None)   # DASK_SCHEDULER_ADDRESS
    if address is None and args.workers is None:
        yield None
        return
    import distributed

    if args.workers is not None:
        with _local_cluster(distributed, args.workers) as cluster, \
                distributed.Client(cluster) as client, _quiet_when_interrupted(client):
            yield client
    else:
        with distributed.Client(address, timeout="20s") as client, \
                _quiet_when_interrupted(client):
            yield client


@contextlib.contextmanager
def _quiet_when_interrupted(client):
    """On Ctrl-C, silence the logs of distributed and asyncio before the client and
    cluster close: closing them under an interrupt logs a traceback per cancelled
    gather (``AllExit``), and the command says once that it was interrupted.

    The client's event loop may report a cancelled gather before the main
    thread sees the interrupt (its thread gets there first), so from the start
    its exception handler drops exactly those reports and passes on the rest."""
    loop = client.loop.asyncio_loop
    loop.call_soon_threadsafe(loop.set_exception_handler, _drop_cancelled_gathers)
    try:
        yield
    except KeyboardInterrupt:
        for name in ("distributed", "asyncio", "tornado"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        raise


def _drop_cancelled_gathers(loop, context):
    """An event loop exception handler: a gather that Ctrl-C cancelled
    (distributed's ``AllExit``) is not reported; anything else is, as usual."""
    if type(context.get("exception")).__name__ == "AllExit":
        return
    loop.default_exception_handler(context)


@contextlib.contextmanager
def _local_cluster(distributed, n_workers):
    """A local cluster whose worker processes never see Ctrl-C (see
    :mod:`daskglm.cli.interrupts`): SIGINT is ignored while it starts, and an
    interrupt that arrived meanwhile is raised once it is up, so that closing
    it on the way out stops the workers."""
    # multiprocessing's resource tracker unblocks SIGINT in the thread that
    # starts it, and every thread that thread starts inherits that: started
    # from the cluster's event loop, its threads would drop a Ctrl-C. Started
    # here, before SIGINT is held, it leaves the cluster's threads blocking it.
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()
    ignoring = ignore_interrupts()
    ignoring.__enter__()
    try:
        cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                           processes=True, dashboard_address=":0",
                                           silence_logs=logging.ERROR)
    except BaseException:
        ignoring.__exit__(None, None, None)
        raise
    with cluster:
        ignoring.__exit__(None, None, None)
        yield cluster


#: The names a command-line formula takes from Python, besides patsy's builtins.
_FORMULA_NAMESPACE = {"np": np, "log": np.log, "exp": np.exp, "sqrt": np.sqrt}


def _fit_model(args, data):
    from patsy import EvalEnvironment

    from ..frontend.formula_safety import check_formula_safe
    from ..frontend.model import glm

    roles = {"offset": args.offset, "exposure": args.exposure,
             "freq_weights": args.freq_weights, "var_weights": args.var_weights}
    if not args.allow_python_formula:
        check_formula_safe(args.formula, columns=data.columns, opt_out="--allow-python-formula")
    model = glm(args.formula, data, family=fit_family(args),
                missing=args.missing, eval_env=EvalEnvironment([_FORMULA_NAMESPACE]),
                **{role: column for role, column in roles.items() if column is not None})
    options = dict(args.option)
    common = dict(method=args.method, max_iter=args.max_iter, tol=args.tol,
                  progress=args.progress, **options)
    penalty = fit_penalty(args)
    if penalty is not None:
        return model.fit_regularized(penalty, **common)
    cov_kwds = None
    if args.groups is not None:            # fit_penalty checked that the type takes groups
        if args.groups not in data.columns:
            raise ValueError(f"--groups {args.groups!r} is not a column of the data")
        cov_kwds = {"groups": column_array(data, args.groups)}
    return model.fit(cov_type=args.cov_type, cov_kwds=cov_kwds, **common)


def _render(results, output):
    from ..frontend.saved import dumps, fit_document

    if output == "json":
        return dumps(fit_document(results))
    summary = results.summary()
    return {"text": summary.as_text, "html": summary.as_html,
            "latex": summary.as_latex}[output]()


def _run_fit(args, stdout, stderr):
    from ..frontend.saved import save_results

    output = fit_format(args)                           # refuse bad options before any work
    fit_penalty(args)
    fit_family(args)
    if args.save is not None:
        check_output_path(args.save, "file", "--save", input_paths(args.data), args.overwrite)
    start = time.perf_counter()
    with _scheduler(args):    # first: threads started before it could drop a Ctrl-C
        data = read_data(args.data)
        results = _fit_model(args, data)
        elapsed = time.perf_counter() - start
        print(_render(results, output).rstrip("\n"), file=stdout, flush=True)
        if args.save is not None:
            replace_output(args.save, lambda staging: save_results(results, staging))
    if args.progress:
        fit = results.solver_result
        state = "converged" if fit.converged else "did NOT converge"
        print(f"daskglm: {fit.solver} {state} in {fit.n_iter} iterations "
              f"({fit.n_passes} passes over the data); fit took {elapsed:.1f} s",
              file=stderr)
    return 0


def _run_predict(args, stdout, stderr):
    from ..frontend.saved import load_fit

    inputs = [*input_paths(args.data), Path(args.fit)]
    refuse_overlap(args.output, "--output", inputs)
    kind = prediction_format(args.output, args.format)
    check_output_path(args.output, "folder" if kind == "parquet" else "file", "--output",
                      inputs, args.overwrite)
    fit = load_fit(args.fit, safe=not args.allow_python_formula)
    data = read_data(args.data)
    absent = [c for c in args.keep if c not in data.columns]
    if absent:
        raise ValueError(f"--keep: the data has no column(s) {listing(absent)}")
    written = _interval_columns(args)
    taken = [c for c in ["predicted", *written.values()] if c in args.keep]
    if taken:
        raise ValueError(f"--keep: {listing(taken)} name(s) the predictions' columns")
    with _scheduler(args):
        if written:            # one pass: the prediction, its standard error, its interval
            summary = fit.get_prediction(data, which=args.which, offset=args.offset,
                                         exposure=args.exposure,
                                         unseen=args.unseen).summary_frame(
                alpha=1.0 - (0.95 if args.ci is None else args.ci))
            predictions = summary[["predicted", *written]].rename(columns=written)
        else:
            predictions = fit.predict(data, which=args.which, offset=args.offset,
                                      exposure=args.exposure,
                                      unseen=args.unseen).to_frame("predicted")
        frame = data[args.keep].assign(**{c: predictions[c] for c in predictions.columns}) \
            if args.keep else predictions
        write_predictions(frame, args.output, kind)
    return 0


def _interval_columns(args):
    """``{summary_frame column: written name}`` of what ``--se`` and ``--ci`` add
    (statsmodels' names: ``mean_se`` ... for the mean, ``se`` ... for ``linear``)."""
    asked = (["se"] if args.se else []) + (["ci_lower", "ci_upper"] if args.ci is not None else [])
    prefix = "mean_" if args.which == "mean" else ""
    return {name: prefix + name for name in asked}


#: The subcommands, by name.
_COMMANDS = {"fit": _run_fit, "predict": _run_predict}


# -- errors and warnings ---------------------------------------------------------
def _one_line(error):
    """An exception as one line: the first line of its message (patsy's and dask's
    run over several), with the formula patsy points into, and the exception's
    type where the message alone says little."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    message = lines[0] if lines else ""
    for above, line in zip(lines[1:], lines[2:]):
        if set(line) == {"^"}:              # patsy marks the culprit under the formula
            message = f"{message}, in {above!r}"
            break
    if isinstance(error, KeyError) or not message:
        return f"{type(error).__name__}: {message}".rstrip(": ")
    return message


def _reported_in_one_line(error):
    """Bad arguments, bad data, and a cluster that failed the run (distributed's
    errors, such as ``KilledWorker`` when workers keep dying) are reported in one
    line; anything else is a bug, shown with its traceback."""
    return isinstance(error, _USER_ERRORS) or \
        type(error).__module__.split(".")[0] == "distributed"


def _show_warning(stderr):
    def show(message, category, filename, lineno, file=None, line=None):
        text = _one_line(message) if isinstance(message, Warning) else str(message)
        print(f"daskglm: warning: {category.__name__}: {text}", file=stderr)

    return show


def _silence_stdout():
    """Point stdout at devnull, so that flushing it at exit does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def main(argv=None) -> int:
    """Run the ``daskglm`` command line with ``argv`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 1 for bad data or arguments found
        while running, 130 when interrupted (argparse exits with 2 itself).
    """
    was_blocked = block_interrupts()   # see daskglm.cli.interrupts
    try:
        return _main(argv)
    finally:
        restore_interrupts(was_blocked)


def _main(argv):
    args = build_parser().parse_args(argv)  # --help exits here, before sklearn loads
    from ..exceptions import ConvergenceWarning, PerfectSeparationWarning

    stdout, stderr = sys.stdout, sys.stderr
    with warnings.catch_warnings():
        for category in (ConvergenceWarning, PerfectSeparationWarning):
            warnings.simplefilter("default", category)
        warnings.showwarning = _show_warning(stderr)
        try:
            if getattr(args, "workers", None) is None:   # no workers to start: Ctrl-C now
                unblock_interrupts()
            return _COMMANDS[args.command](args, stdout, stderr)
        except KeyboardInterrupt:
            print("daskglm: interrupted", file=stderr)
            return 130
        except BrokenPipeError:      # the reader went away: `daskglm fit ... | head`
            _silence_stdout()
            return 1
        except Exception as error:
            if args.traceback or not _reported_in_one_line(error):
                raise
            print(f"daskglm: error: {_one_line(error)}", file=stderr)
            return 1
