"""Design-space exploration: which accelerator for a board, a memory and a model
(``python -m gen explore``, docs/explore.md), with energy per token (docs/energy.md).

Modules:

* :mod:`~gen.explore.workload`: a model's BitLinear jobs per forward pass (prefill, decode
  batches) from a ``config.json``; the decode projection's memory port and engines;
* :mod:`~gen.explore.memory`: a memory system (bandwidth, latency), a job's time and bytes;
* :mod:`~gen.explore.performance`: cycles, tokens/s and energy per token of a phase;
* :mod:`~gen.explore.space`: the points of a sweep (shape, PE, format, port rule, target);
* :mod:`~gen.explore.sweep`: synthesis and place and route as Dask tasks, progress;
* :mod:`~gen.explore.cache`: results kept by configuration, Verilog, tools and options;
* :mod:`~gen.explore.pareto`: Pareto fronts; :mod:`~gen.explore.plots`: the two PNG plots;
  :mod:`~gen.explore.report`: the fronts marked, the CSV, the JSON and the summary;
* :mod:`~gen.explore.cli`: ``python -m gen explore``;
* :mod:`~gen.explore.activity`, :mod:`~gen.explore.energy`,
  :mod:`~gen.explore.energy_tables`: activity counts of a job and their energy.
"""
