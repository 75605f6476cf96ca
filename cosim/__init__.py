"""Co-simulation of the generated accelerator: cocotb driver, benches and run_gemm."""
