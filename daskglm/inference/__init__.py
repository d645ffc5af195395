"""Statistics of a fitted model: results (:mod:`.results`), covariance types
(:mod:`.covariance`), summary tables (:mod:`.summary`)."""
