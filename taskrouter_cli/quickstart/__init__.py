"""The quickstart, below the CLI layer: the Part 1 workspace spec and its idempotent set-up,
the ``explain`` analysis, the ``doctor`` checks and the tutorial's stages.

``spec`` is standard-library only (the sandbox's seed may import it); the other modules take
twilio SDK objects and return plain data; none imports click or rich.
"""
