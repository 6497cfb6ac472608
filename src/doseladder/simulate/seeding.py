"""Reproducible random streams: one root seed → one ``SeedSequence`` per (scenario, block).

Trials are simulated in blocks of :data:`BLOCK_SIZE` trials; latent component ``c`` of block
``b`` of scenario ``s`` draws from ``SeedSequence(seed, spawn_key=(s, b, c))`` -- exactly the
child that ``SeedSequence(seed).spawn(s+1)[s].spawn(b+1)[b].spawn(c+1)[c]`` would give (see
:mod:`.latent`).  Work is distributed in whole
blocks, so results are bit-identical whatever the number of workers or how blocks are grouped
into chunks (local processes, a Dask cluster, or a single process).
"""

from __future__ import annotations

__all__ = ["BLOCK_SIZE", "block_sizes"]

#: trials per random-number block (the unit of reproducibility)
BLOCK_SIZE = 10_000


def block_sizes(n_trials: int, block_size: int = BLOCK_SIZE) -> list[int]:
    """Sizes of the blocks that make up ``n_trials`` (the last may be partial)."""
    full, rest = divmod(n_trials, block_size)
    return [block_size] * full + ([rest] if rest else [])
