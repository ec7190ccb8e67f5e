"""How a search starts: its first trials (`search.start`: the sampler's own, or a portfolio of
known fine-tuning configurations) and earlier studies' trials to learn from
(`search.warm_start`). Both add trials to the study before the search; a rerun adds only what
the study does not hold yet.

To add a start: a module here with a function `(study, spec, echo)` that adds trials, its name
in `STARTS` (starts.py) and in `StartName` (settings.py; a test keeps the two the same).
"""
