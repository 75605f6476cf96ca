"""The memory-mapped front end: AXI4 managers that read weights and activations from memory
and write results back, and the AXI4-Lite registers that run a job (``docs/interface.md``)."""
