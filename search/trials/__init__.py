"""What a stored Optuna trial holds, read the same way everywhere: the names of hpsearch's
user attrs (attrs), per-epoch curves (curves), states and counts (states), values, the best
trial and the study's direction (values).

Below both search.engine (which writes trials) and search.report (which only reads them); it
imports neither, nor Ray.
"""
