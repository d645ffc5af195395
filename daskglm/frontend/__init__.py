"""What users call: formulas and designs, the GLM model, prediction, saved fits."""
