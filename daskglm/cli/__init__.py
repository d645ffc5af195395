"""The ``daskglm`` command line."""

from .interrupts import block_interrupts, restore_interrupts

__all__ = ["main"]


def main(argv=None) -> int:
    """Run the ``daskglm`` command line (:func:`daskglm.cli.main.main`).

    SIGINT is blocked while the command's modules load, so that the threads
    they start inherit the block and a Ctrl-C meanwhile is neither lost nor
    a traceback (see :mod:`daskglm.cli.interrupts`).
    """
    was_blocked = block_interrupts()
    try:
        from .main import main as run
        return run(argv)
    finally:
        restore_interrupts(was_blocked)
        globals()["main"] = _entry   # importing the submodule .main rebound the name


_entry = main
