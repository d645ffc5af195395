"""The ``daskglm`` command line: fit a formula GLM to data files, predict from a saved fit.

::

    daskglm fit FORMULA DATA --family poisson [--link log] [--method newton]
                [--exposure COL] [--offset COL] [--freq-weights COL] [--var-weights COL]
                [--cov-type HC1 | --cov-type cluster --groups COL]
                [--penalty l1 --alpha 0.01 [--l1-ratio R]]
                [--max-iter N] [--tol T] [--option NAME=VALUE ...]
                [--scheduler ADDRESS | --workers N]
                [--output text|html|latex|json] [--progress] [--save FIT.json]
    daskglm predict FIT.json DATA --output OUT.parquet [--which mean|linear]
                [--exposure COL] [--offset COL] [--keep COL ...] [--overwrite]
                [--scheduler ADDRESS | --workers N]

``DATA`` is a parquet file, a folder of parquet files (hive-partitioned
folders too), a glob such as ``'claims/*.parquet'``, or CSV (``.csv``,
``.tsv``, compressed or not, a file, a folder or a glob); the format is
told by the extension. It is read lazily with ``dask.dataframe``.

``fit`` prints statsmodels' summary (``--output text``, ``html`` or
``latex``) or the saved-fit JSON document (``--output json``: params,
standard errors, p-values, covariance, statistics, convergence and the
design), and with ``--save`` writes that document to a file, which
``predict`` applies to new data. The document's format is described in
:mod:`daskglm.saved`. Formulas may use numpy as ``np`` and patsy's builtins
(``C``, ``Q``, ``I``, ``center``, ``standardize``, ...).

Without ``--scheduler`` or ``--workers`` dask's default threaded scheduler
runs everything; ``--workers N`` starts a local cluster of N one-thread
worker processes for the run; ``--scheduler ADDRESS`` connects to a running
``distributed`` scheduler. This module is the one place where the command
line opens a ``distributed.Client`` (made current for the run only).

Errors in the arguments or the data end the command with a one-line message
on stderr and exit status 1 (2 for arguments argparse refuses);
``--traceback`` shows the full traceback instead. Warnings (such as
non-convergence) are printed on one line each.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import glob
import logging
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import patsy

__all__ = ["main", "build_parser", "read_data"]

_PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip")
#: Errors that bad arguments or bad data raise: reported in one line.
_USER_ERRORS = (ValueError, TypeError, OSError, LookupError, RuntimeError,
                NotImplementedError, ImportError, ArithmeticError, patsy.PatsyError)


# -- reading data ---------------------------------------------------------------
def _format_of(name):
    """``"parquet"``, ``"csv"``, ``"tsv"`` or None, from a file name's extension."""
    name = name.lower()
    for suffix in _COMPRESSED_SUFFIXES:
        name = name.removesuffix(suffix)
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    for kind in ("csv", "tsv"):
        if name.endswith(f".{kind}"):
            return kind
    return None


def _read_files(source, files, kind):
    import dask.dataframe as dd

    if kind == "parquet":
        return dd.read_parquet(source)
    compressed = any(str(f).lower().endswith(_COMPRESSED_SUFFIXES) for f in files)
    options = {"sep": "\t"} if kind == "tsv" else {}
    if compressed:
        options["blocksize"] = None          # a compressed file cannot be split
    return dd.read_csv([str(f) for f in files], **options)


def _one_format(files, described):
    kinds = {_format_of(str(f)) for f in files}
    unknown = [str(f) for f in files if _format_of(str(f)) is None]
    if unknown:
        raise ValueError(f"{described} holds files that are neither parquet nor CSV by their "
                         f"extension, e.g. {unknown[0]!r}")
    if len(kinds) > 1:
        raise ValueError(f"{described} mixes formats ({', '.join(sorted(kinds))})")
    return kinds.pop()


def read_data(source):
    """A dask DataFrame from a parquet or CSV file, a folder, or a glob.

    Parameters
    ----------
    source : str or path-like
        A file (``.parquet``, ``.pq``, ``.csv``, ``.tsv``, optionally
        compressed), a folder of such files (read recursively, so
        hive-partitioned parquet folders work), or a glob pattern.

    Raises
    ------
    FileNotFoundError
        If nothing exists at ``source`` (or no file matches the glob).
    ValueError
        If the format cannot be told from the extensions, or formats are mixed.
    """
    text = str(source)
    if glob.has_magic(text):
        files = sorted(f for f in glob.glob(text, recursive=True) if Path(f).is_file())
        if not files:
            raise FileNotFoundError(f"no file matches {text!r}")
        kind = _one_format(files, f"the files matching {text!r}")
        return _read_files(files, files, kind)
    path = Path(text)
    if not path.exists():
        raise FileNotFoundError(f"{text!r} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and not p.name.startswith((".", "_")))
        if not files:
            raise ValueError(f"the folder {text!r} holds no data files")
        kind = _one_format(files, f"the folder {text!r}")
        return _read_files(text if kind == "parquet" else files, files, kind)
    kind = _format_of(path.name)
    if kind is None:
        raise ValueError(f"cannot tell the format of {text!r} from its extension; use "
                         f"{', '.join(_PARQUET_SUFFIXES)} for parquet or .csv/.tsv for CSV")
    return _read_files(text, [path], kind)


# -- the parser ------------------------------------------------------------------
def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def _cov_type(text):
    """statsmodels' spelling: ``HC0``/``HC1`` upper case, the others lower case."""
    return text.upper() if text.upper().startswith("HC") else text.lower()


def _solver_option(text):
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return name, value                  # a bare word: a string option


def _common(parser):
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="address of a running dask.distributed scheduler to run on")
    where.add_argument("--workers", type=_positive_int, metavar="N",
                       help="start a local cluster of N worker processes for this run")
    parser.add_argument("--traceback", action="store_true",
                        help="on an error, show the full traceback")


def _add_fit_parser(commands):
    from ..math.families import FAMILIES
    from ..math.links import LINKS
    from ..inference.results import COV_TYPES
    from ..solvers import SOLVERS

    fit = commands.add_parser(
        "fit", help="fit a GLM to data files and print its summary",
        description="Fit a GLM given by a patsy formula to data files and print its summary.")
    fit.add_argument("formula", help="patsy formula, e.g. 'claims ~ age + C(region)'")
    fit.add_argument("data", help="parquet or CSV file, folder, or glob")
    fit.add_argument("--family", default="gaussian", type=str.lower, choices=sorted(FAMILIES),
                     help="the response's distribution (default: gaussian)")
    fit.add_argument("--link", type=str.lower, choices=sorted(LINKS),
                     help="link function (default: the family's canonical link)")
    fit.add_argument("--method", default="newton", choices=sorted(SOLVERS),
                     help="solver (default: newton)")
    for role in ("offset", "exposure", "freq-weights", "var-weights"):
        fit.add_argument(f"--{role}", metavar="COL", help=f"column holding the {role}")
    fit.add_argument("--missing", default="drop", choices=["drop", "raise"],
                     help="drop rows with missing values (default) or refuse them")
    fit.add_argument("--cov-type", default="nonrobust", type=_cov_type, choices=list(COV_TYPES),
                     help="covariance of the estimates (default: nonrobust)")
    fit.add_argument("--groups", metavar="COL", help="cluster labels for --cov-type cluster")
    fit.add_argument("--penalty", choices=["l1", "l2", "elastic_net"],
                     help="fit with this penalty (needs --alpha)")
    fit.add_argument("--alpha", type=float, help="penalty strength (glmnet's scaling)")
    fit.add_argument("--l1-ratio", type=float, help="L1 share of an elastic_net penalty")
    fit.add_argument("--max-iter", type=_positive_int, default=100, help="default: 100")
    fit.add_argument("--tol", type=_positive_float, default=1e-8, help="default: 1e-8")
    fit.add_argument("--option", type=_solver_option, action="append", default=[],
                     metavar="NAME=VALUE", help="a solver option (repeatable), e.g. rho=2.0")
    fit.add_argument("--output", default="text", choices=["text", "html", "latex", "json"],
                     help="what to print (default: the text summary)")
    fit.add_argument("--progress", action="store_true",
                     help="show a progress bar per iteration (on stderr)")
    fit.add_argument("--save", metavar="FIT.json", help="write the fit to this file")
    _common(fit)
    fit.set_defaults(run=_run_fit)


def _add_predict_parser(commands):
    predict = commands.add_parser(
        "predict", help="apply a saved fit to data files and write parquet",
        description="Apply a fit saved by 'daskglm fit --save' to new data and write the "
                    "predictions (column 'predicted') as a parquet folder.")
    predict.add_argument("fit", help="a saved fit (JSON) from 'daskglm fit --save'")
    predict.add_argument("data", help="parquet or CSV file, folder, or glob")
    predict.add_argument("--output", required=True, metavar="OUT.parquet",
                         help="the parquet folder to write")
    predict.add_argument("--which", default="mean", choices=["mean", "linear"],
                         help="predicted mean (default) or linear predictor")
    predict.add_argument("--offset", metavar="COL", help="column holding an offset")
    predict.add_argument("--exposure", metavar="COL", help="column holding the exposure")
    predict.add_argument("--keep", nargs="+", default=[], metavar="COL",
                         help="columns of DATA to write beside the predictions")
    predict.add_argument("--overwrite", action="store_true",
                         help="replace OUT.parquet if it exists")
    _common(predict)
    predict.set_defaults(run=_run_predict)


def build_parser() -> argparse.ArgumentParser:
    """The ``daskglm`` argument parser (subcommands ``fit`` and ``predict``)."""
    parser = argparse.ArgumentParser(
        prog="daskglm", description="Generalized linear models on dask, from the command line.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_fit_parser(commands)
    _add_predict_parser(commands)
    return parser


# -- running ---------------------------------------------------------------------
@contextlib.contextmanager
def _scheduler(args):
    """Where dask computes during the run: threads, a local cluster, or a scheduler."""
    if args.scheduler is None and args.workers is None:
        yield None
        return
    import distributed

    if args.workers is not None:
        with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                      processes=True, dashboard_address=":0",
                                      silence_logs=logging.ERROR) as cluster, \
                distributed.Client(cluster) as client:
            yield client
    else:
        with distributed.Client(args.scheduler, timeout="20s") as client:
            yield client


def _penalty(args):
    """The penalty the arguments ask for (or None), refusing inconsistent options."""
    from ..math.penalties import ElasticNet, get_regularizer

    if args.cov_type == "cluster" and args.groups is None:
        raise ValueError("--cov-type cluster needs --groups COL")
    if args.cov_type != "cluster" and args.groups is not None:
        raise ValueError("--groups applies to --cov-type cluster only")
    if args.penalty is None:
        if args.alpha is not None or args.l1_ratio is not None:
            raise ValueError("--alpha and --l1-ratio need --penalty")
        return None
    if args.alpha is None:
        raise ValueError(f"--penalty {args.penalty} needs --alpha")
    if args.cov_type != "nonrobust":
        raise ValueError("--cov-type does not apply to a penalized fit (it has no standard "
                         "errors)")
    implied = {"l1": 1.0, "l2": 0.0}.get(args.penalty)
    if args.l1_ratio is not None and implied is not None and args.l1_ratio != implied:
        raise ValueError(f"--penalty {args.penalty} means --l1-ratio {implied:g}; "
                         "use --penalty elastic_net for another ratio")
    if args.penalty == "elastic_net":
        return ElasticNet(args.alpha, 0.5 if args.l1_ratio is None else args.l1_ratio)
    return get_regularizer(args.penalty, alpha=args.alpha)


def _check_output_path(path, what):
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise FileNotFoundError(f"cannot write {what} {str(path)!r}: the folder "
                                f"{str(parent)!r} does not exist")


def _fit_model(args, data):
    from patsy import EvalEnvironment

    from ..math.families import get_family
    from ..frontend.model import glm

    roles = {"offset": args.offset, "exposure": args.exposure,
             "freq_weights": args.freq_weights, "var_weights": args.var_weights}
    model = glm(args.formula, data, family=get_family(args.family, link=args.link),
                missing=args.missing, eval_env=EvalEnvironment([{"np": np}]),
                **{role: column for role, column in roles.items() if column is not None})
    options = dict(args.option)
    common = dict(method=args.method, max_iter=args.max_iter, tol=args.tol,
                  progress=args.progress, **options)
    penalty = _penalty(args)
    if penalty is not None:
        return model.fit_regularized(penalty, **common)
    cov_kwds = None
    if args.cov_type == "cluster":
        if args.groups not in data.columns:
            raise ValueError(f"--groups {args.groups!r} is not a column of the data")
        cov_kwds = {"groups": _column_array(data, args.groups)}
    return model.fit(cov_type=args.cov_type, cov_kwds=cov_kwds, **common)


def _column_array(data, column):
    """One column as a dask array with known chunks, in the rows' order.

    Built from the partitions dask plans for the column itself: on parquet
    data dask may fuse small files when one column is read, and
    ``Series.to_dask_array(lengths=True)`` then counts the fused partitions
    but cuts the unfused ones.
    """
    import dask
    import dask.array as da

    parts = data[column].to_delayed()
    lengths = dask.compute(*[dask.delayed(len)(part) for part in parts])
    dtype = data[column].dtype
    dtype = dtype if isinstance(dtype, np.dtype) and dtype.kind in "biuf" else np.dtype(object)
    blocks = [da.from_delayed(dask.delayed(_labels)(part, dtype), shape=(n,), dtype=dtype)
              for part, n in zip(parts, lengths)]
    return da.concatenate(blocks)


def _labels(part, dtype):
    return part.to_numpy(dtype=dtype)


def _render(results, output):
    from ..frontend.saved import dumps, fit_document

    if output == "json":
        return dumps(fit_document(results))
    summary = results.summary()
    return {"text": summary.as_text, "html": summary.as_html,
            "latex": summary.as_latex}[output]()


def _run_fit(args, stdout, stderr):
    from ..frontend.saved import save_results

    _penalty(args)                                   # refuse bad options before any work
    if args.save is not None:
        _check_output_path(args.save, "the fit")
    data = read_data(args.data)
    start = time.perf_counter()
    with _scheduler(args):
        results = _fit_model(args, data)
        elapsed = time.perf_counter() - start
        print(_render(results, args.output).rstrip("\n"), file=stdout, flush=True)
        if args.save is not None:
            save_results(results, args.save)
    if args.progress:
        fit = results.solver_result
        state = "converged" if fit.converged else "did NOT converge"
        print(f"daskglm: {fit.solver} {state} in {fit.n_iter} iterations "
              f"({fit.n_passes} passes over the data); fit took {elapsed:.1f} s",
              file=stderr)
    return 0


def _run_predict(args, stdout, stderr):
    from ..frontend.saved import load_fit

    fit = load_fit(args.fit)
    output = Path(args.output)
    if output.exists() and not args.overwrite:
        raise FileExistsError(f"{str(output)!r} exists; pass --overwrite to replace it")
    _check_output_path(output, "the predictions")
    data = read_data(args.data)
    absent = [c for c in args.keep if c not in data.columns]
    if absent:
        raise ValueError(f"--keep: the data has no column(s) {absent}")
    if "predicted" in args.keep:
        raise ValueError("--keep: 'predicted' is the name of the predictions' column")
    with _scheduler(args):
        predicted = fit.predict(data, which=args.which, offset=args.offset,
                                exposure=args.exposure)
        frame = data[args.keep].assign(predicted=predicted) if args.keep \
            else predicted.to_frame("predicted")
        _write_parquet(frame, output)
    return 0


def _write_parquet(frame, output):
    """Write ``frame`` as the parquet folder ``output``, replacing it only once the
    whole frame is written (a failure leaves no partial output behind)."""
    staging = output.with_name(f".{output.name}.partial-{os.getpid()}")
    try:
        frame.to_parquet(str(staging), write_index=False)
        if output.is_dir():
            shutil.rmtree(output)
        elif output.exists():
            output.unlink()
        staging.rename(output)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


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


def _show_warning(stderr):
    def show(message, category, filename, lineno, file=None, line=None):
        text = _one_line(message) if isinstance(message, Warning) else str(message)
        print(f"daskglm: warning: {category.__name__}: {text}", file=stderr)

    return show


def _silence_stdout():
    """Point stdout at devnull, so that flushing it at exit does not fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv=None) -> int:
    """Run the ``daskglm`` command line with ``argv`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 on success, 1 for bad data or arguments found
        while running, 130 when interrupted (argparse exits with 2 itself).
    """
    args = build_parser().parse_args(argv)  # --help exits here, before sklearn loads
    from ..exceptions import ConvergenceWarning, PerfectSeparationWarning

    stdout, stderr = sys.stdout, sys.stderr
    with warnings.catch_warnings():
        for category in (ConvergenceWarning, PerfectSeparationWarning):
            warnings.simplefilter("default", category)
        warnings.showwarning = _show_warning(stderr)
        try:
            return args.run(args, stdout, stderr)
        except KeyboardInterrupt:
            print("daskglm: interrupted", file=stderr)
            return 130
        except BrokenPipeError:      # the reader went away: `daskglm fit ... | head`
            _silence_stdout()
            return 1
        except _USER_ERRORS as error:
            if args.traceback:
                raise
            print(f"daskglm: error: {_one_line(error)}", file=stderr)
            return 1


