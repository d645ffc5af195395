"""The command line's files: reading data, writing predictions, the output paths.

:func:`read_data` reads parquet and CSV (a file, a folder, a glob) lazily
with ``dask.dataframe``; :func:`write_parquet` writes through a temporary
name and a rename, so an interrupted run leaves nothing half-written;
:func:`check_output_path` refuses an output whose folder does not exist
before any work is done; :func:`column_array` reads one column (the
cluster labels of ``--groups``) in the rows' order.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import numpy as np

__all__ = ["read_data", "write_parquet", "check_output_path", "column_array"]

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
def check_output_path(path, what):
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise FileNotFoundError(f"cannot write {what} {str(path)!r}: the folder "
                                f"{str(parent)!r} does not exist")


def write_parquet(frame, output):
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
