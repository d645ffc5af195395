"""Statistics of a fitted model: results, covariances, summary tables."""
