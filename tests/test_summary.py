"""summary(): statsmodels' GLM layout, cell by cell against statsmodels' own."""

import pytest
from statsmodels.iolib.summary import Summary

import daskglm

from glm_reference import CASES, case_reference, frame, partitioned

# Rows that differ by nature: when the table was made, and how daskglm's
# solver (not statsmodels' IRLS) got there.
NOT_COMPARED = {"Date:", "Time:", "Method:", "No. Iterations:"}


def top_cells(summary):
    """{row label: printed value} of the top table (both of its columns)."""
    cells = {}
    for row in summary.tables[0].data:
        for label, value in (row[0:2], row[2:4]):
            if label.strip():
                cells[label.strip()] = value.strip()
    return cells


def coefficient_cells(summary):
    return [[cell.strip() for cell in row] for row in summary.tables[1].data]


@pytest.mark.parametrize("case,cov_type", [("poisson", "nonrobust"), ("logistic", "HC0"),
                                           ("normal", "nonrobust")])
def test_summary_matches_statsmodels_cell_by_cell(case, cov_type):
    family, _, formula, _ = CASES[case]
    ours = daskglm.glm(formula, partitioned(frame(case), 4), family=family,
                       freq_weights="fw").fit(cov_type=cov_type)
    reference = case_reference(case, cov_type, freq_weights="fw")
    mine, theirs = ours.summary(), reference.summary()
    assert isinstance(mine, Summary)
    assert mine.tables[0].title == theirs.tables[0].title
    mine_top, their_top = top_cells(mine), top_cells(theirs)
    assert set(mine_top) == set(their_top)
    for label in set(their_top) - NOT_COMPARED:
        assert mine_top[label] == their_top[label], label
    assert mine_top["Method:"] == "newton"
    assert mine_top["No. Iterations:"] == str(ours.n_iter)
    assert coefficient_cells(mine) == coefficient_cells(theirs)


def test_summary_renders_as_text_html_and_latex():
    family, _, formula, _ = CASES["normal"]
    summary = daskglm.glm(formula, partitioned(frame("normal"), 2)).fit().summary(alpha=0.1)
    text = summary.as_text()
    assert "Generalized Linear Model Regression Results" in text
    assert "[0.05" in text and "0.95]" in text
    assert "<table" in summary.as_html() and "Deviance:" in summary.as_html()
    assert r"\begin{tabular}" in summary.as_latex()
    assert summary._repr_html_().startswith("<table")


def test_regularized_summary_shows_nan_errors_and_a_note():
    family, _, formula, _ = CASES["logistic"]
    result = daskglm.glm(formula, partitioned(frame("logistic"), 2),
                         family=family).fit_regularized("l2", alpha=0.01)
    text = result.summary().as_text()
    assert "Regularized fit (L2(alpha=0.01))" in text
    rows = coefficient_cells(result.summary())[1:]
    assert all(row[2] == "nan" for row in rows)
