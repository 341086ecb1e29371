"""The cyclic garbage collector's settings for a process that is a long-running server.

Python's defaults (a young collection every 700 new container objects, a full one every 100
young ones, subject to the "25% of the heap" rule) suit short scripts. A server that has
imported aiohttp, the twilio SDK and the OpenAPI spec, and that keeps its state in memory,
holds a few hundred thousand objects that never die, and it allocates a few hundred per
request:

* at ~450 sandbox lifecycles a second the defaults ran a full collection every 1-2 s, each
  walking the whole heap: 38 ms at worst, a stall for every request in flight;
* all collections together took 4-5% of the sandbox's CPU (measured with ``gc.callbacks`` in
  ``benchmarks/bench_sandbox.py`` runs; see docs/benchmarks.md).

:func:`tune_for_serving` is called once the server is ready and before the first request:

1. ``gc.freeze()``: what start-up built (modules, the spec, the seed: ~50,000 objects) moves
   to the permanent generation, which no later collection walks. It takes microseconds; a
   ``gc.collect()`` first would find nothing to free and cost ~25 ms before the first answer;
2. young collections every :data:`YOUNG_THRESHOLD` new objects instead of 700. The older
   generations keep Python's ratios (10 and 10), so garbage that survives is still collected,
   only less often; memory stays bounded.

Only ``trcli sandbox`` calls it (``sandbox/server.py``, ``run_foreground``): the collector is
process-wide, so a sandbox started inside another program (tests, ``trcli tutorial``) leaves it
alone. ``trcli serve`` does not: it spent ~0.4% of its CPU collecting, at most 1.5 ms at a time,
and a higher threshold measured no change there.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000
"""New container objects between young collections (Python's default: 700)."""


def tune_for_serving() -> None:
    """Freeze what start-up built and make young collections rarer (see the module doc)."""
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def refreeze_if_tuned() -> None:
    """After :func:`tune_for_serving`, freeze again what was built since (the sandbox sets up
    aiohttp's application once it already listens); elsewhere nothing."""
    if gc.get_freeze_count():
        gc.freeze()
