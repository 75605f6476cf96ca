"""The report of a transformer co-simulation: cycles by projection and phase, utilization,
build and simulation time, and projected tokens/s, as a dict (written as JSON), a few lines
of text, and a picture (PNG) that answers at a glance where the array's cycles go, how busy
the array is, and how fast the design would generate.

Phases: ``prefill`` is the one forward pass over the prompt; ``decode`` the passes that feed
each new token (one fewer than the new tokens: the last token is never fed back).
"""

import collections

__all__ = ["KINDS", "build_report", "format_report", "plot_report", "model_cycles"]

KINDS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
PHASES = ("prefill", "decode")


def model_cycles(config, m, k, n):
    """Cycles the manifest's model predicts for one GEMM as the driver runs it (M split into
    jobs of at most ``max_m`` rows): :meth:`rtl.config.AccelConfig.cycles`, or with
    ``interface="axi"`` :func:`rtl.axi.cycles.axi_job_cycles` (a memory of the benches'
    latency, every job from its start to its last write response)."""
    if config.interface == "axi":
        from rtl.axi.cycles import axi_job_cycles
        from .axi_bench import BENCH_LATENCY
        job = lambda rows: axi_job_cycles(config, rows, k, n, read_latency=BENCH_LATENCY)
    else:
        job = lambda rows: config.cycles(rows, k, n)
    return sum(job(min(config.max_m, m - m0)) for m0 in range(0, m, config.max_m))


def _by_kind(rows, value):
    table = collections.OrderedDict((kind, 0) for kind in KINDS)
    for r in rows:
        table[r["kind"]] = table.get(r["kind"], 0) + value(r)
    return table


def build_report(config, records, *, prompt_tokens, new_tokens, seconds, model_seconds,
                 clock_mhz=200.0, model=None):
    """Summarise the per-GEMM ``records`` of one run (see ``cosim._transformer_job``).

    ``seconds`` holds the wall times of the whole call: ``total``, ``build`` (0 when the
    simulator was reused) and ``simulator_session``; ``model_seconds`` is this prompt's
    generation inside the simulator. ``model`` (optional) describes the checkpoint.
    """
    pes = config.pe_count
    macs = sum(r["m"] * r["k"] * r["n"] for r in records)
    cycles = sum(r["cycles"] for r in records)
    sim_seconds = sum(r["seconds"] for r in records)
    by_phase = {phase: [r for r in records if r["phase"] == phase] for phase in PHASES}
    decode_steps = len({r["step"] for r in by_phase["decode"]})
    phase_cycles = {phase: sum(r["cycles"] for r in by_phase[phase]) for phase in PHASES}
    phase_macs = {phase: sum(r["m"] * r["k"] * r["n"] for r in by_phase[phase])
                  for phase in PHASES}
    kind_cycles = {phase: _by_kind(by_phase[phase], lambda r: r["cycles"]) for phase in PHASES}
    kind_macs = {phase: _by_kind(by_phase[phase], lambda r: r["m"] * r["k"] * r["n"])
                 for phase in PHASES}
    per_decode_token = phase_cycles["decode"] / decode_steps if decode_steps else None
    layers = sorted({r["layer"] for r in records})
    clock = clock_mhz * 1e6
    mismatches = [r["projection"] for r in records
                  if r["cycles"] != model_cycles(config, r["m"], r["k"], r["n"])]

    def utilization(used, spent):
        return used / (pes * spent) if spent else None

    return {
        "model": model or {},
        "array": {"rows": config.rows, "cols": config.cols,
                  "weight_format": config.format.name},
        "tokens": {"prompt": prompt_tokens, "generated": new_tokens,
                   "decode_steps": decode_steps},
        "gemm_calls": len(records),
        "cycles": {
            "total": cycles,
            "prefill": phase_cycles["prefill"],
            "decode": phase_cycles["decode"],
            "per_decode_token": per_decode_token,
            "prefill_by_projection": dict(kind_cycles["prefill"]),
            "decode_by_projection": dict(kind_cycles["decode"]),
            "decode_per_token_by_projection": {
                kind: value / decode_steps for kind, value in kind_cycles["decode"].items()}
            if decode_steps else {kind: 0 for kind in kind_cycles["decode"]},
            "per_layer": {str(layer): {phase: sum(r["cycles"] for r in by_phase[phase]
                                                  if r["layer"] == layer)
                                       for phase in PHASES} for layer in layers},
        },
        "cycle_model_agrees": not mismatches,
        "cycle_model_mismatches": mismatches,
        "utilization": utilization(macs, cycles) or 0.0,
        "utilization_by_phase": {phase: utilization(phase_macs[phase], phase_cycles[phase])
                                 for phase in PHASES},
        "utilization_by_projection": {
            phase: {kind: utilization(kind_macs[phase][kind], kind_cycles[phase][kind])
                    for kind in kind_cycles[phase]} for phase in PHASES},
        "macs": macs,
        "wall_seconds": {
            "total": seconds["total"],
            "build": seconds["build"],
            "simulator_session": seconds["simulator_session"],
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
            "prefill_tokens_per_second": (clock * prompt_tokens / phase_cycles["prefill"]
                                          if phase_cycles["prefill"] else None),
            "note": "array cycles only: attention, norms and sampling run on the host",
        },
    }


def format_report(report):
    """A few human-readable lines (for stderr)."""
    c, w, p = report["cycles"], report["wall_seconds"], report["projection"]
    tokens = report["tokens"]
    build = (f"simulator build {w['build']:.1f} s" if w["build"]
             else "simulator reused (no build)")
    lines = [
        f"array {report['array']['rows']}x{report['array']['cols']} "
        f"{report['array']['weight_format']}: {report['gemm_calls']} GEMMs, "
        f"{c['total']} cycles, utilization {report['utilization']:.3f}, cycle model "
        f"{'exact' if report['cycle_model_agrees'] else 'DIFFERS'}",
        f"prefill ({tokens['prompt']} prompt tokens): {c['prefill']} cycles; decode "
        f"({tokens['decode_steps']} passes for {tokens['generated']} new tokens): "
        + (f"{c['per_decode_token']:.0f} cycles per token" if c["per_decode_token"]
           else "none"),
        "decode cycles per token by projection: " + ", ".join(
            f"{kind} {value:.0f}" for kind, value in c["decode_per_token_by_projection"].items()),
        f"wall {w['total']:.1f} s: {build}, simulation {w['simulator_session']:.1f} s "
        f"(model run {w['model_run']:.1f} s: {100 * w['simulation_share']:.0f}% in "
        f"simulation); {report['simulated_macs_per_second'] / 1e6:.2f} M simulated MACs/s, "
        f"{report['simulated_cycles_per_second']:.0f} cycles/s",
    ]
    rates = [f"{p[key]:.0f} {name} tokens/s" for key, name in
             (("decode_tokens_per_second", "decode"), ("prefill_tokens_per_second", "prefill"))
             if p[key]]
    if rates:
        lines.append(f"projected at {p['clock_mhz']:g} MHz: {', '.join(rates)} ({p['note']})")
    return "\n".join(lines)


PHASE_COLOURS = {"prefill": "#4C72B0", "decode": "#DD8452"}


def plot_report(report, path):
    """The report as a PNG at ``path``: array cycles by projection type (prefill against
    decode), the array's utilization by projection type and phase, and the projected
    tokens/s, under a title that names the model, the array and the run."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    c, tokens, array = report["cycles"], report["tokens"], report["array"]
    kinds = [kind for kind in c["prefill_by_projection"]
             if c["prefill_by_projection"][kind] or c["decode_by_projection"][kind]]
    labels = [kind.replace("_proj", "") for kind in kinds]
    phases = {"prefill": f"prefill: 1 pass over the {tokens['prompt']} prompt tokens",
              "decode": f"decode: {tokens['decode_steps']} passes, one per fed-back token"}
    figure, (cycles_axes, use_axes, rate_axes) = plt.subplots(
        1, 3, figsize=(13, 4.6), dpi=110, gridspec_kw={"width_ratios": [3, 3, 2]})
    width = 0.4
    positions = range(len(kinds))
    for offset, phase in ((-width / 2, "prefill"), (width / 2, "decode")):
        values = [c[f"{phase}_by_projection"][kind] for kind in kinds]
        bars = cycles_axes.bar([x + offset for x in positions], values, width,
                               color=PHASE_COLOURS[phase], label=phases[phase])
        cycles_axes.bar_label(bars, labels=[f"{v:,}" if v else "" for v in values],
                              fontsize=7, padding=2, rotation=90)
        shares = report["utilization_by_projection"][phase]
        values = [100 * (shares[kind] or 0) for kind in kinds]
        bars = use_axes.bar([x + offset for x in positions], values, width,
                            color=PHASE_COLOURS[phase])
        use_axes.bar_label(bars, labels=[f"{v:.0f}%" for v in values], fontsize=7, padding=2)
    top = max([c["prefill"] and max(c["prefill_by_projection"].values()),
               c["decode"] and max(c["decode_by_projection"].values()), 1])
    cycles_axes.set_ylim(0, top * 1.3)
    shares = ", ".join(f"{phase} {100 * c[phase] / c['total']:.0f}%" for phase in PHASES) \
        if c["total"] else "none"
    cycles_axes.set_title(f"Where the {c['total']:,} array cycles go: {shares}", fontsize=10)
    cycles_axes.yaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    cycles_axes.set_ylabel("array cycles, summed over layers and passes")
    use_axes.set_title(f"Array utilization (whole run {100 * report['utilization']:.1f}%)",
                       fontsize=10)
    use_axes.set_ylabel(f"useful MACs / ({array['rows']}x{array['cols']} PEs x cycles), %")
    use_axes.set_ylim(0, 115)
    for axes in (cycles_axes, use_axes):
        axes.set_xticks(list(positions), labels)
        axes.set_xlabel("projection")
        axes.spines[["top", "right"]].set_visible(False)
    for phase in PHASES:
        share = report["utilization_by_phase"][phase]
        if share is not None:
            use_axes.axhline(100 * share, color=PHASE_COLOURS[phase], linestyle="--",
                             linewidth=1)
    handles, names = cycles_axes.get_legend_handles_labels()
    figure.legend(handles, names, loc="lower center", ncol=2, frameon=False, fontsize=9)

    p = report["projection"]
    rates = [(name, p[key]) for name, key in (("decode", "decode_tokens_per_second"),
                                              ("prefill", "prefill_tokens_per_second"))
             if p[key]]
    bars = rate_axes.barh([name for name, _ in rates], [value for _, value in rates],
                          color=[PHASE_COLOURS[name] for name, _ in rates])
    rate_axes.bar_label(bars, labels=[f"{value:,.0f}" for _, value in rates], padding=3,
                        fontsize=9)
    rate_axes.set_xlim(0, max([value for _, value in rates] + [1]) * 1.35)
    rate_axes.invert_yaxis()
    rate_axes.set_title(f"Projected tokens/s at {p['clock_mhz']:g} MHz", fontsize=10)
    rate_axes.set_xlabel("tokens/s from array cycles alone")
    rate_axes.xaxis.set_major_formatter(matplotlib.ticker.StrMethodFormatter("{x:,.0f}"))
    rate_axes.tick_params(axis="x", labelrotation=30)
    rate_axes.spines[["top", "right"]].set_visible(False)

    model = report.get("model") or {}
    name = model.get("name", "model")
    layers = f", {model['layers']} layers" if "layers" in model else ""
    exact = "match" if report["cycle_model_agrees"] else "DIFFER FROM"
    figure.suptitle(
        f"{name}{layers} on a {array['rows']}x{array['cols']} {array['weight_format']} array: "
        f"{tokens['prompt']}-token prompt, {tokens['generated']} new tokens "
        f"(simulated cycle counts {exact} the cycle model)", fontsize=11)
    figure.tight_layout(rect=(0, 0.07, 1, 0.97))
    figure.savefig(path, format="png", metadata={"Software": None})
    plt.close(figure)
