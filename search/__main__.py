"""`python -m search ...`: the `hpsearch` command where the project is on the path but not
installed (the GPU machine's run, benchmarks/device/run.sh)."""

from search.cli import app

app(prog_name="hpsearch")
