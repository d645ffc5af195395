"""Statistics of a fitted model: results (:mod:`.results`), covariance types
(:mod:`.covariance`), summary tables (:mod:`.summary`), hypothesis tests
(:mod:`.hypothesis`), score tests (:mod:`.score_test`), predictions with
intervals (:mod:`.prediction_results`), leverage and influence
(:mod:`.influence`), per-row distributions and Anscombe residuals
(:mod:`.distributions`)."""
