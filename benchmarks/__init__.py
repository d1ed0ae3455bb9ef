"""postbot's on-demand performance suite: `python -m benchmarks` (see docs/performance.md).

Benchmarks are not tests: they run when asked, print a table and write
benchmarks/results/latest.json. Each figure is shown next to the figure it is compared
against, measured in the same run on the same machine."""
