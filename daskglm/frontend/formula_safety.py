"""Formulas as data, not code: the allow-list a formula must pass before patsy runs it.

patsy evaluates every factor of a formula as Python (that is how
``np.log(x)`` works), so a formula from an untrusted source can run any
code: ``'__import__("os").system(...) ~ x'``. :func:`check_formula_safe`
reads the formula without evaluating anything: patsy's parser splits it
into factors (its tokenizer only), and each factor's code is parsed with
:mod:`ast` and walked node by node against an allow-list:

* column names (of the data, when the columns are known) and constants;
* arithmetic and comparisons (``+ - * / // % **``, unary ``-``, ``<`` ...);
* calls of ``C``, ``I``, ``Q``, ``log``, ``exp``, ``sqrt`` (bare or as
  ``np.``/``numpy.``), ``center``, ``standardize``, ``scale``, ``bs`` and
  ``cr``, with positional and keyword arguments that pass the same rules;
* in ``C(x, contrast, levels=...)``: a contrast named ``Treatment``,
  ``Sum``, ``Helmert``, ``Diff`` or ``Poly`` (bare or called with literal
  arguments such as ``reference="b"``) and a literal list of levels;
* ``Q("column name")`` with one string literal.

Anything else (attributes other than the numpy functions above, subscripts,
lambdas, comprehensions, names that start with ``_``, Python builtins that
are not columns, ``*args``) is refused with :class:`UnsafeFormulaError`
naming the fragment. The command line applies the check unless
``--allow-python-formula`` is given; from Python it is
``daskglm.glm(..., safe=True)`` and ``load_fit(..., safe=True)``.
"""

from __future__ import annotations

import ast
import builtins

import patsy

__all__ = ["UnsafeFormulaError", "check_formula_safe", "SAFE_FUNCTIONS", "SAFE_CONTRASTS"]

#: Functions a safe formula may call, as written in it.
SAFE_FUNCTIONS = frozenset({
    "C", "I", "Q", "log", "exp", "sqrt", "center", "standardize", "scale", "bs", "cr",
    "np.log", "np.exp", "np.sqrt", "numpy.log", "numpy.exp", "numpy.sqrt"})
#: Contrasts ``C()`` may name.
SAFE_CONTRASTS = frozenset({"Treatment", "Sum", "Helmert", "Diff", "Poly"})

_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow,
              ast.USub, ast.UAdd, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_MAX_CONSTANT_EXPONENT = 64      # 10 ** 10 ** 10 would never finish


class UnsafeFormulaError(ValueError):
    """A formula holds code outside the allow-list of :func:`check_formula_safe`."""


def check_formula_safe(formula, columns=None, opt_out="safe=False"):
    """Refuse a formula that would run more than arithmetic and allowed transforms.

    Parameters
    ----------
    formula : str
        A patsy formula, e.g. ``"y ~ np.log(x) + C(g, Treatment('b'))"``.
    columns : iterable of str, optional
        The data's columns; when given, every bare name must be one of them.
    opt_out : str
        How the caller lets a user skip the check, named in the message
        (``"--allow-python-formula"`` on the command line).

    Raises
    ------
    UnsafeFormulaError
        Naming the first fragment outside the allow-list and the factor it is in.
    TypeError
        If ``formula`` is not a string.
    patsy.PatsyError
        If the formula cannot be parsed (as patsy would say).
    """
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string, got {type(formula).__name__}")
    description = patsy.ModelDesc.from_formula(formula)    # tokenizes only; PatsyError
    checker = _FactorChecker(formula, None if columns is None else {str(c) for c in columns},
                             opt_out)
    for term in description.lhs_termlist + description.rhs_termlist:
        for factor in term.factors:
            checker.check(factor.code)


class _FactorChecker:
    def __init__(self, formula, columns, opt_out):
        self.formula = formula
        self.columns = columns
        self.opt_out = opt_out
        self.code = ""

    def check(self, code):
        self.code = code
        try:
            tree = ast.parse(code.strip(), mode="eval")
        except SyntaxError:
            self.refuse(code, "it is not a Python expression")
        self.expression(tree.body)

    def refuse(self, node, why):
        fragment = node if isinstance(node, str) else ast.unparse(node)
        raise UnsafeFormulaError(
            f"the formula {self.formula!r} is refused: {fragment!r} (in the term "
            f"{self.code!r}): {why}. A safe formula holds column names, operators and the "
            f"functions {', '.join(sorted(SAFE_FUNCTIONS))}; pass {self.opt_out} to evaluate "
            "the formula as Python")

    # -- node kinds ----------------------------------------------------------
    def expression(self, node):
        if isinstance(node, ast.Constant):
            return
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, _OPERATORS):
            return self.arithmetic(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, _OPERATORS):
            return self.expression(node.operand)
        if isinstance(node, ast.Compare) and all(isinstance(o, _OPERATORS) for o in node.ops):
            for operand in (node.left, *node.comparators):
                self.expression(operand)
            return
        if isinstance(node, ast.Call):
            return self.call(node)
        self.refuse(node, f"{type(node).__name__.lower()} expressions are not allowed")

    def arithmetic(self, node):
        for operand in (node.left, node.right):
            if _is_string(operand):
                self.refuse(node, "strings take no part in arithmetic")
            self.expression(operand)
        if isinstance(node.op, ast.Pow) and _is_constant(node.left):
            exponent = node.right
            if not (_is_literal(exponent) and isinstance(ast.literal_eval(exponent), (int, float))
                    and abs(ast.literal_eval(exponent)) <= _MAX_CONSTANT_EXPONENT):
                self.refuse(node, "a power of a constant needs a number exponent of at most "
                                  f"{_MAX_CONSTANT_EXPONENT}")

    def name(self, node):
        identifier = node.id
        if identifier.startswith("_"):
            self.refuse(node, "names starting with '_' are not allowed")
        if self.columns is not None:
            if identifier not in self.columns:
                self.refuse(node, "it is not a column of the data")
        elif hasattr(builtins, identifier):
            self.refuse(node, "it is a Python builtin, not a column")

    def call(self, node):
        function = _dotted(node.func)
        if function not in SAFE_FUNCTIONS:
            self.refuse(node.func, "only the listed functions may be called")
        if any(isinstance(a, ast.Starred) for a in node.args) or \
                any(k.arg is None for k in node.keywords):
            self.refuse(node, "*args and **kwargs are not allowed")
        if function == "Q":
            if len(node.args) != 1 or node.keywords or not _is_string(node.args[0]):
                self.refuse(node, "Q() takes one column name as a string")
            return
        if function == "C":
            return self.categorical(node)
        for argument in node.args:
            self.expression(argument)
        for keyword in node.keywords:
            self.expression(keyword.value)

    def categorical(self, node):
        if not 1 <= len(node.args) <= 3:
            self.refuse(node, "C() takes a column, a contrast and levels")
        self.expression(node.args[0])
        contrast = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "contrast")]
        levels = [*node.args[2:3], *(k.value for k in node.keywords if k.arg == "levels")]
        unknown = [k.arg for k in node.keywords if k.arg not in ("contrast", "levels")]
        if unknown:
            self.refuse(node, f"C() takes no argument {unknown[0]!r}")
        for value in contrast:
            self.contrast(value)
        for value in levels:
            if not isinstance(value, (ast.List, ast.Tuple)) or not _is_literal(value):
                self.refuse(value, "C()'s levels must be a literal list")

    def contrast(self, node):
        if isinstance(node, ast.Constant) and node.value is None:
            return
        call = node if isinstance(node, ast.Call) else None
        named = _dotted(call.func if call else node)
        if named not in SAFE_CONTRASTS:
            self.refuse(node, f"the contrast must be one of {', '.join(sorted(SAFE_CONTRASTS))}")
        if call and not all(_is_literal(a) for a in (*call.args, *(k.value for k in
                                                                     call.keywords))):
            self.refuse(node, "a contrast's arguments must be literals")
        if call and any(isinstance(a, ast.Starred) for a in call.args) or \
                call and any(k.arg is None for k in call.keywords):
            self.refuse(node, "*args and **kwargs are not allowed")


def _dotted(node):
    """``"np.log"`` for ``np.log``, ``"C"`` for ``C``, None for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _is_string(node):
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _is_constant(node):
    """Whether an expression holds no name (its value is fixed before any data)."""
    return not any(isinstance(n, (ast.Name, ast.Call)) for n in ast.walk(node))


def _is_literal(node):
    """A constant, or a (nested) list or tuple of constants, negative numbers included."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return isinstance(node.operand, ast.Constant) and \
            isinstance(node.operand.value, (int, float, complex))
    if isinstance(node, (ast.List, ast.Tuple)):
        return all(_is_literal(e) for e in node.elts)
    return False
