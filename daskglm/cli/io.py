"""The command line's files: reading data, writing predictions, the output paths.

:func:`read_data` reads parquet and CSV (a file, a folder, a glob) lazily
with ``dask.dataframe``; :func:`column_array` reads one column (the cluster
labels of ``--groups``) in the rows' order.

Every output follows one rule: :func:`check_output_path` refuses, before
any work, an output that is, lies inside or contains an input (whatever the
flags), one whose folder does not exist, and an existing one unless
``--overwrite`` is given, and then only a file for a file or a parquet
folder for a parquet folder; :func:`replace_output` writes under a
temporary name and renames, so an interrupted run never leaves a
half-written output.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import numpy as np

__all__ = ["read_data", "column_array", "input_paths", "prediction_format", "refuse_overlap",
           "check_output_path", "replace_output", "write_predictions"]

_PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip")


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


def _read_files(source, files, kind, described):
    import dask.dataframe as dd

    _check_rows(files, kind, described)
    if kind == "parquet":
        return dd.read_parquet(source)
    compressed = any(str(f).lower().endswith(_COMPRESSED_SUFFIXES) for f in files)
    options = {"sep": "\t"} if kind == "tsv" else {}
    if compressed:
        options["blocksize"] = None          # a compressed file cannot be split
    return dd.read_csv([str(f) for f in files], **options)


def _check_rows(files, kind, described):
    """Refuse data without a single row (a header-only CSV, empty parquet files),
    which would otherwise fail later with a message about its columns' types.
    Reads parquet footers and at most one row of each CSV file."""
    import pandas as pd
    import pyarrow.parquet as pq

    for file in files:
        if kind == "parquet":
            if pq.read_metadata(file).num_rows:
                return
            continue
        try:
            first = pd.read_csv(file, nrows=1, sep="\t" if kind == "tsv" else ",",
                                compression="infer")
        except pd.errors.EmptyDataError:
            continue
        if len(first):
            return
    raise ValueError(f"{described} has no rows (the files hold at most a header); "
                     "nothing to fit or predict")


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
        described = f"the files matching {text!r}"
        return _read_files(files, files, _one_format(files, described), described)
    path = Path(text)
    if not path.exists():
        raise FileNotFoundError(f"{text!r} does not exist")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file()
                       and not p.name.startswith((".", "_")))
        if not files:
            raise ValueError(f"the folder {text!r} holds no data files")
        described = f"the folder {text!r}"
        kind = _one_format(files, described)
        return _read_files(text if kind == "parquet" else files, files, kind, described)
    kind = _format_of(path.name)
    if kind is None:
        raise ValueError(f"cannot tell the format of {text!r} from its extension; use "
                         f"{', '.join(_PARQUET_SUFFIXES)} for parquet or .csv/.tsv for CSV")
    return _read_files(text, [path], kind, repr(text))


def column_array(data, column):
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


# -- writing ---------------------------------------------------------------------
#: Names a parquet folder written by dask may hold besides its ``*.parquet`` files.
_PARQUET_EXTRAS = frozenset({"_metadata", "_common_metadata", "_SUCCESS"})


def input_paths(source):
    """The paths a data argument reads: the files a glob matches, else the path itself."""
    text = str(source)
    if glob.has_magic(text):
        return [Path(f) for f in glob.glob(text, recursive=True)]
    return [Path(text)]


def prediction_format(output, requested=None):
    """``"parquet"`` or ``"csv"``: ``requested`` (``--format``) or told by the suffix
    of ``output``; a name without a suffix is a parquet folder."""
    told = _format_of(Path(output).name)
    if told == "tsv":
        told = "csv"
    if requested is not None:
        if told is not None and told != requested:
            raise ValueError(f"--format {requested} contradicts the suffix of --output "
                             f"{str(output)!r} ({told})")
        return requested
    if told is not None:
        return told
    if Path(output).suffix:
        raise ValueError(f"cannot tell the format of --output {str(output)!r} from its "
                         "suffix: name it .parquet or .csv, or pass --format")
    return "parquet"


def refuse_overlap(path, option, inputs):
    """Refuse an output that is one of ``inputs``, lies inside one or contains one
    (links resolved), whatever the flags: writing it would destroy what is read."""
    output = Path(path)
    target = output.resolve()
    for source in inputs:
        read = Path(source).resolve()
        if target == read or read in target.parents or target in read.parents:
            relation = ("is" if target == read else "is inside" if read in target.parents
                        else "contains")
            raise ValueError(f"{option} {str(output)!r} {relation} the input {str(source)!r}; "
                             "write the output elsewhere (nothing was written)")


def check_output_path(path, kind, option, inputs=(), overwrite=False):
    """Refuse, before any work, an output that cannot or must not be written.

    Parameters
    ----------
    path : str or path-like
    kind : {"file", "folder"}
        What will be written there.
    option : str
        The option that named the path (for messages), e.g. ``"--save"``.
    inputs : iterable of path-like
        What the command reads: an output that is one of them, lies inside
        one or contains one is refused whatever the flags.
    overwrite : bool
        Whether an existing output of the same kind may be replaced.

    Raises
    ------
    ValueError, FileExistsError, FileNotFoundError
    """
    output = Path(path)
    target = output.resolve()
    refuse_overlap(path, option, inputs)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot write {option} {str(output)!r}: the folder "
                                f"{str(target.parent)!r} does not exist")
    if not (output.exists() or output.is_symlink()):
        return
    if not overwrite:
        raise FileExistsError(f"{option} {str(output)!r} exists; pass --overwrite to replace it")
    if output.is_symlink() or (kind == "file") != output.is_file():
        found = "a link" if output.is_symlink() else "a folder" if output.is_dir() else "a file"
        raise FileExistsError(f"{option} {str(output)!r} is {found}, and --overwrite replaces "
                              f"only a {kind} with a {kind}")
    if kind == "folder":
        foreign = [entry.name for entry in output.iterdir()
                   if not (entry.is_file() and (entry.suffix == ".parquet"
                                                or entry.name in _PARQUET_EXTRAS))]
        if foreign:
            raise FileExistsError(f"{option} {str(output)!r} holds more than a parquet output "
                                  f"(e.g. {foreign[0]!r}); --overwrite will not replace it")


def replace_output(path, write):
    """Write an output under a temporary name beside ``path``, then rename it into place.

    ``write(staging)`` writes the file or folder ``staging``. Only once it
    has finished is an existing ``path`` moved aside and the new output
    renamed to ``path`` (one rename for a file, which replaces atomically);
    an error or an interrupt at any point leaves ``path`` as it was and
    removes what was staged.
    """
    path = Path(path)
    staging = path.with_name(f".partial-{os.getpid()}-{path.name}")
    old = path.with_name(f".replaced-{os.getpid()}-{path.name}")
    try:
        write(staging)
        if staging.is_dir() and path.is_dir():
            path.rename(old)                # a folder cannot be replaced in one rename
            try:
                staging.rename(path)
            except BaseException:
                old.rename(path)
                raise
        else:
            os.replace(staging, path)
    finally:
        for leftover in (staging, old):
            _remove(leftover)


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def write_predictions(frame, output, kind):
    """Write ``frame`` to ``output`` as a parquet folder or one CSV file (through
    :func:`replace_output`)."""
    if kind == "parquet":
        replace_output(output, lambda staging: frame.to_parquet(str(staging), write_index=False))
        return
    separator = "\t" if _format_of(Path(output).name) == "tsv" else ","
    replace_output(output, lambda staging: frame.to_csv(
        str(staging), single_file=True, index=False, sep=separator, compression="infer"))
