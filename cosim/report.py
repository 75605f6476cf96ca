"""The report of a transformer co-simulation: cycles by projection and phase, utilization,
simulation speed, and projected tokens/s, as a dict (written as JSON) and a PNG plot."""

import collections

__all__ = ["build_report", "format_report", "plot_cycles_per_layer", "model_cycles"]

KINDS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def model_cycles(config, m, k, n):
    """Cycles the manifest's model predicts for one GEMM as the driver runs it (M split into
    jobs of at most ``max_m`` rows)."""
    total = 0
    for m0 in range(0, m, config.max_m):
        total += config.cycles(min(config.max_m, m - m0), k, n)
    return total


def build_report(config, records, *, prompt_tokens, new_tokens, wall_seconds, model_seconds,
                 clock_mhz=200.0):
    """Summarise the per-GEMM ``records`` of one run (see ``cosim._transformer_job``)."""
    macs = sum(r["m"] * r["k"] * r["n"] for r in records)
    cycles = sum(r["cycles"] for r in records)
    sim_seconds = sum(r["seconds"] for r in records)
    by_phase = {phase: [r for r in records if r["phase"] == phase]
                for phase in ("prefill", "decode")}
    decode_steps = len({r["step"] for r in by_phase["decode"]})

    def per_kind(rows, divide):
        table = collections.OrderedDict((kind, 0) for kind in KINDS)
        for r in rows:
            table[r["kind"]] = table.get(r["kind"], 0) + r["cycles"]
        return {kind: value / divide for kind, value in table.items()} if divide else table

    prefill_cycles = sum(r["cycles"] for r in by_phase["prefill"])
    decode_cycles = sum(r["cycles"] for r in by_phase["decode"])
    per_decode_token = decode_cycles / decode_steps if decode_steps else None
    layers = sorted({r["layer"] for r in records})
    clock = clock_mhz * 1e6
    mismatches = [r["projection"] for r in records
                  if r["cycles"] != model_cycles(config, r["m"], r["k"], r["n"])]
    return {
        "array": {"rows": config.rows, "cols": config.cols,
                  "weight_format": config.format.name},
        "tokens": {"prompt": prompt_tokens, "generated": new_tokens,
                   "decode_steps": decode_steps},
        "gemm_calls": len(records),
        "cycles": {
            "total": cycles,
            "prefill": prefill_cycles,
            "decode": decode_cycles,
            "per_decode_token": per_decode_token,
            "prefill_by_projection": per_kind(by_phase["prefill"], 0),
            "decode_per_token_by_projection": per_kind(by_phase["decode"], decode_steps),
            "per_layer": {str(layer): {phase: sum(r["cycles"] for r in by_phase[phase]
                                                  if r["layer"] == layer)
                                       for phase in by_phase} for layer in layers},
        },
        "cycle_model_agrees": not mismatches,
        "cycle_model_mismatches": mismatches,
        "utilization": macs / (config.pe_count * cycles) if cycles else 0.0,
        "macs": macs,
        "wall_seconds": {
            "total": wall_seconds,
            "model_run": model_seconds,
            "in_simulation": sim_seconds,
            "in_host_python": max(model_seconds - sim_seconds, 0.0),
            "simulation_share": sim_seconds / model_seconds if model_seconds else 0.0,
        },
        "simulated_macs_per_second": macs / model_seconds if model_seconds else 0.0,
        "simulated_cycles_per_second": cycles / sim_seconds if sim_seconds else 0.0,
        "projection": {
            "clock_mhz": clock_mhz,
            "decode_tokens_per_second": clock / per_decode_token if per_decode_token else None,
            "prefill_tokens_per_second": (clock * prompt_tokens / prefill_cycles
                                          if prefill_cycles else None),
            "note": "array cycles only: attention, norms and sampling run on the host",
        },
    }


def format_report(report):
    """A few human-readable lines."""
    c, w, p = report["cycles"], report["wall_seconds"], report["projection"]
    lines = [
        f"array {report['array']['rows']}x{report['array']['cols']} "
        f"{report['array']['weight_format']}: {report['gemm_calls']} GEMMs, "
        f"{c['total']} cycles, utilization {report['utilization']:.3f}, cycle model "
        f"{'exact' if report['cycle_model_agrees'] else 'DIFFERS'}",
        f"prefill ({report['tokens']['prompt']} tokens): {c['prefill']} cycles; decode: "
        + (f"{c['per_decode_token']:.0f} cycles per token" if c["per_decode_token"]
           else "none"),
        "decode cycles per token by projection: " + ", ".join(
            f"{kind} {value:.0f}" for kind, value in c["decode_per_token_by_projection"].items()),
        f"wall {w['total']:.1f} s (model run {w['model_run']:.1f} s: "
        f"{100 * w['simulation_share']:.0f}% in simulation); "
        f"{report['simulated_macs_per_second'] / 1e6:.2f} M simulated MACs/s, "
        f"{report['simulated_cycles_per_second']:.0f} cycles/s",
    ]
    if p["decode_tokens_per_second"]:
        lines.append(f"projected at {p['clock_mhz']:.0f} MHz: "
                     f"{p['decode_tokens_per_second']:.0f} decode tokens/s, "
                     f"{p['prefill_tokens_per_second']:.0f} prefill tokens/s ({p['note']})")
    return "\n".join(lines)


def plot_cycles_per_layer(report, path):
    """Bar chart of array cycles per layer, prefill and decode stacked, as a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per_layer = report["cycles"]["per_layer"]
    layers = [layer for layer in per_layer if int(layer) >= 0]
    prefill = [per_layer[layer]["prefill"] for layer in layers]
    decode = [per_layer[layer]["decode"] for layer in layers]
    figure, axes = plt.subplots(figsize=(max(4, 0.8 * len(layers) + 2), 3.2), dpi=120)
    axes.bar(layers, prefill, label="prefill")
    axes.bar(layers, decode, bottom=prefill, label="decode")
    axes.set_xlabel("layer")
    axes.set_ylabel("array cycles")
    array = report["array"]
    axes.set_title(f"{array['rows']}x{array['cols']} {array['weight_format']}: "
                   f"{report['tokens']['generated']} tokens")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    plt.close(figure)
