"""Design-space exploration: which accelerator for a board, a memory and a model
(``python -m gen explore``, docs/explore.md), with energy per token (docs/energy.md)."""
