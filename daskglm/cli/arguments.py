"""The command line's arguments: the parser of ``daskglm fit`` and ``daskglm
predict``, and the checks of options that argparse cannot make alone
(:func:`fit_penalty`).

Each option has one meaning across the subcommands. The parser imports the
registries it lists choices from (families, links, covariance types,
solvers) only when it is built.

The families' own parameters come from the registered family classes
(their ``param_names`` and the defaults of their constructors), so a family
registered with :func:`daskglm.math.families.register_family` needs no
change here: a parameter ``var_power`` is ``--family-var-power``, and also
``--var-power`` where that spelling is not one of ``fit``'s own options
(the negative binomial's ``alpha`` is ``--family-alpha`` only: ``--alpha``
is the penalty's). :func:`fit_family` refuses a parameter the chosen family
does not take.
"""

from __future__ import annotations

import argparse
import ast
import warnings

__all__ = ["build_parser", "fit_penalty", "fit_family", "fit_format", "SUMMARY_FORMATS",
           "PREDICTION_FORMATS"]

#: What ``fit --format`` prints.
SUMMARY_FORMATS = ("text", "html", "latex", "json")
#: What ``predict --format`` writes.
PREDICTION_FORMATS = ("parquet", "csv")


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


def _coverage(text):
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (e.g. 0.95), got {text}")
    return value


def _boolean(text):
    words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    if text.lower() not in words:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return words[text.lower()]


#: Where ``fit`` keeps a family parameter's value: ``args.<prefix><name>``.
_FAMILY_DEST = "family_param_"


def _family_parameters(families):
    """``{name: (default, [family names])}`` of the registered families' parameters."""
    import inspect

    found = {}
    for _, cls in sorted(families.items()):
        signature = inspect.signature(cls)
        for name in cls.param_names:
            parameter = signature.parameters.get(name)
            default = None if parameter is None else parameter.default
            entry = found.setdefault(name, (default, []))
            if cls.name.lower() not in entry[1]:
                entry[1].append(cls.name.lower())
    return found


def _number_or_word(text):
    """A number, or a word for parameters that also take one (the negative
    binomial's ``alpha="estimate"``): the family checks the value."""
    try:
        return float(text)
    except ValueError:
        return text


def _parameter_type(default):
    """How an option's text becomes the parameter, told by the constructor's default."""
    if isinstance(default, bool):
        return _boolean
    if isinstance(default, (int, float)):
        return _number_or_word
    return str


def _add_family_options(fit, families):
    """One option per family parameter (see the module's notes)."""
    for name, (default, owners) in _family_parameters(families).items():
        flag = name.replace("_", "-")
        option = dict(dest=_FAMILY_DEST + name, type=_parameter_type(default), metavar="VALUE",
                      help=f"the {' and '.join(owners)} family's {name} (default: {default!r})")
        try:
            fit.add_argument(f"--family-{flag}", f"--{flag}", **option)
        except argparse.ArgumentError:           # --flag is one of fit's own options
            fit.add_argument(f"--family-{flag}", **option)


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
                       help="address of a running dask.distributed scheduler to run on "
                            "(default: $DASK_SCHEDULER_ADDRESS when set)")
    where.add_argument("--workers", type=_positive_int, metavar="N",
                       help="start a local cluster of N worker processes for this run")
    parser.add_argument("--traceback", action="store_true",
                        help="on an error, show the full traceback")
    parser.add_argument("--allow-python-formula", action="store_true",
                        help="evaluate the formula as Python without the allow-list of "
                             "column names, operators and transforms (trusted input only)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace an existing output of the same kind (file or folder)")


def _add_fit_parser(commands):
    from ..inference.covariance import COV_TYPES, canonical_name
    from ..math.families import FAMILIES
    from ..math.links import LINKS
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
    fit.add_argument("--cov-type", default="nonrobust", type=canonical_name,
                     choices=list(COV_TYPES),
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
    fit.add_argument("--format", choices=SUMMARY_FORMATS,
                     help="what to print: the summary as text (default), html or latex, or "
                          "the saved-fit document as json")
    fit.add_argument("--output", dest="deprecated_output", choices=SUMMARY_FORMATS,
                     help=argparse.SUPPRESS)      # the old spelling of --format
    fit.add_argument("--progress", action="store_true",
                     help="show a progress bar per iteration (on stderr)")
    fit.add_argument("--save", metavar="FIT.json", help="write the fit to this file")
    _common(fit)
    _add_family_options(fit, FAMILIES)


def _add_predict_parser(commands):
    predict = commands.add_parser(
        "predict", help="apply a saved fit to data files and write parquet",
        description="Apply a fit saved by 'daskglm fit --save' to new data and write the "
                    "predictions (column 'predicted') as a parquet folder or a CSV file.")
    predict.add_argument("fit", help="a saved fit (JSON) from 'daskglm fit --save'")
    predict.add_argument("data", help="parquet or CSV file, folder, or glob")
    predict.add_argument("--output", required=True, metavar="PATH",
                         help="where to write: OUT.parquet (a folder) or OUT.csv (a file)")
    predict.add_argument("--format", choices=PREDICTION_FORMATS,
                         help="the output's format (default: told by the suffix of --output; "
                              "parquet for a name without one)")
    predict.add_argument("--which", default="mean", choices=["mean", "linear"],
                         help="predicted mean (default) or linear predictor")
    predict.add_argument("--offset", metavar="COL", help="column holding an offset")
    predict.add_argument("--exposure", metavar="COL", help="column holding the exposure")
    predict.add_argument("--unseen", default="error", choices=["error", "reference", "nan"],
                         help="a categorical level not seen in training: an error naming the "
                              "column (default), the reference level, or a NaN prediction")
    predict.add_argument("--se", action="store_true",
                         help="add the standard error of each prediction (column mean_se; "
                              "se for --which linear), from the saved covariance")
    predict.add_argument("--ci", type=_coverage, metavar="LEVEL",
                         help="add confidence interval bounds of this coverage, e.g. 0.95 "
                              "(columns mean_ci_lower, mean_ci_upper; ci_lower, ci_upper for "
                              "--which linear)")
    predict.add_argument("--keep", action="append", default=[], metavar="COL",
                         help="a column of DATA to write beside the predictions (repeatable: "
                              "--keep a --keep b)")
    _common(predict)


def build_parser() -> argparse.ArgumentParser:
    """The ``daskglm`` argument parser (subcommands ``fit`` and ``predict``)."""
    parser = argparse.ArgumentParser(
        prog="daskglm", description="Generalized linear models on dask, from the command line.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_fit_parser(commands)
    _add_predict_parser(commands)
    return parser


def fit_format(args):
    """What ``fit`` prints: ``--format``, or the old ``--output FORMAT`` with a
    ``FutureWarning`` (``--output`` names a path in ``predict``)."""
    old = args.deprecated_output
    if old is None:
        return args.format or "text"
    if args.format is not None and args.format != old:
        raise ValueError(f"--output {old} (the old spelling of --format) contradicts "
                         f"--format {args.format}")
    warnings.warn(f"'fit --output {old}' is deprecated: use '--format {old}' (--output names "
                  "a file in 'predict')", FutureWarning, stacklevel=2)
    return old


def fit_family(args):
    """The family ``fit``'s arguments ask for: ``--family`` with ``--link`` and
    its parameters' options, refusing a parameter the family does not take."""
    from ..math.families import FAMILIES, get_family

    given = {key[len(_FAMILY_DEST):]: value for key, value in vars(args).items()
             if key.startswith(_FAMILY_DEST) and value is not None}
    family = get_family(args.family, link=args.link)
    cls = FAMILIES[args.family.lower()]
    stray = sorted(set(given) - set(cls.param_names))
    if stray:
        takes = ", ".join("--family-" + name.replace("_", "-") for name in cls.param_names)
        options = ", ".join("--family-" + name.replace("_", "-") for name in stray)
        raise ValueError(f"{options} does not apply to --family {args.family}; its "
                         f"parameters: {takes or 'none'}")
    if not given:
        return family
    return cls(link=family.link, **given)


def fit_penalty(args):
    """The penalty the arguments of ``fit`` ask for (or None), refusing inconsistent
    options: ``--groups`` without a covariance type that takes groups (or the
    reverse), ``--alpha``/``--l1-ratio`` without ``--penalty``, a ``--cov-type``
    for a penalized fit, an ``--l1-ratio`` that ``l1``/``l2`` contradict."""
    from ..inference.covariance import COV_TYPES
    from ..math.penalties import get_regularizer

    takes_groups = "groups" in COV_TYPES[args.cov_type].options
    if takes_groups and args.groups is None:
        raise ValueError(f"--cov-type {args.cov_type} needs --groups COL")
    if not takes_groups and args.groups is not None:
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
    mixed = args.penalty == "elastic_net"
    penalty = get_regularizer(args.penalty, alpha=args.alpha,
                              l1_ratio=args.l1_ratio if mixed else None)
    if not mixed and args.l1_ratio is not None and args.l1_ratio != penalty.l1_ratio:
        raise ValueError(f"--penalty {args.penalty} means --l1-ratio {penalty.l1_ratio:g}; "
                         "use --penalty elastic_net for another ratio")
    return penalty
