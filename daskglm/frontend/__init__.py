"""What users call: formulas (:mod:`.recipe`, :mod:`.formula_learning`,
:mod:`.formula`) and designs, the GLM model, the one prediction path
(:mod:`.prediction`), saved fits."""
