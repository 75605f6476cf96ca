"""The synthesis report as the plain-text table ``python -m gen --synth`` prints."""

__all__ = ["format_report"]

_ROWS = (("LUTs", "luts"), ("LUT4 equivalents", "lut_equivalents"), ("carry cells", "carry"),
         ("flip-flops", "ffs"), ("block RAMs", "brams"), ("LUT RAM / SRL", "lutram"),
         ("DSPs", "dsps"))


def _number(value):
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.2f}"
    return f"{int(value)}"


def _store_line(store):
    """The weight store's banks and what they became."""
    shape = (f"weight store: {store['banks']} banks of {store['depth']} x {store['width']} "
             f"bits ({store['bits']} bits)")
    if not store["cells"]:
        return f"{shape}: no memory primitive (flip-flops)"
    kinds = ", ".join(f"{count} {cell}" for cell, count in store["cells"].items())
    kind = ("block RAM" if store["block_ram"] else
            "distributed RAM" if store["distributed"] else "mixed")
    unmapped = store["banks"] - store["mapped_banks"]
    return (f"{shape}: {kinds} ({kind}"
            f"{f'; {unmapped} banks in flip-flops' if unmapped else ''})")


def format_report(report):
    """The report (:func:`gen.synth.synthesize`'s result) as a plain-text table."""
    lines = [f"{report['target']} synthesis of {report['top']}: {report['rows']}x"
             f"{report['cols']} {report['pe']} array, {report['pe_count']} PEs"
             f"{'' if report['dsp_inference'] else ', no DSPs allowed'} "
             f"({report['yosys'].split(' (')[0] or 'yosys'}, {report['synth_seconds']:.1f} s)"]
    columns = [("design", report)]
    if report["array"]:
        columns.append(("array/PE", report["array"]["per_pe"]))
    if report["per_pe"]:
        columns.append(("PE alone", report["per_pe"]))
    comparison = report["pe_comparison"]
    if comparison:
        if report["pe"] == "int8":
            columns.append(("ternary PE", comparison["ternary"]))
        else:
            columns += [("int8 PE", comparison["int8"]),
                        ("int8 PE nodsp", comparison["int8_nodsp"])]
    shown = [(label, key) for label, key in _ROWS
             if key != "lut_equivalents" or report["target"] == "ecp5"]
    width = max(len(label) for label, _ in shown + [("$mul/$macc cells", "")])
    lines.append(" " * width + "".join(f"{title:>15}" for title, _ in columns))
    for label, key in shown:
        lines.append(f"{label:<{width}}" + "".join(f"{_number(values.get(key)):>15}"
                                                   for _, values in columns))
    lines.append(f"{'$mul/$macc cells':<{width}}{report['mul_cells']:>15}")
    lines.append(_store_line(report["weight_store"]))
    path = report["weight_path"]
    if path:
        store, decoder, share = path["store"], path["decoder"], path["vs_array"]
        decoded = (f"decoder {_number(decoder['luts'])} LUTs" if decoder else
                   "no decoder module")
        lines.append(f"weight path alone ({path['module']}): {_number(store['luts'])} LUTs, "
                     f"{_number(store['ffs'])} flip-flops, {_number(store['brams'])} block RAMs, "
                     f"{_number(store['lutram'])} LUT RAM; {decoded}; against the array "
                     f"alone: LUTs {_number(share['luts'])}, flip-flops {_number(share['ffs'])}")
    if comparison:
        ratio = comparison["ratio"]
        equivalents = (f" (LUT4 equivalents {_number(ratio['lut_equivalents_vs_int8_nodsp'])})"
                       if report["target"] == "ecp5" else "")
        lines.append(f"ternary / int8 per PE: LUTs {_number(ratio['luts_vs_int8_nodsp'])} of the "
                     f"int8 PE without DSPs{equivalents}, flip-flops "
                     f"{_number(ratio['ffs_vs_int8_nodsp'])}; DSPs "
                     f"{_number(ratio['dsps_vs_int8'])} of the int8 PE with DSPs")
    front = report.get("front_end")
    if front:
        total, share = front["total"], front["vs_array"]
        lines.append(f"AXI front end alone ({', '.join(front['modules'])}): "
                     f"{_number(total['luts'])} LUTs, {_number(total['ffs'])} flip-flops, "
                     f"{_number(total['brams'])} block RAMs, {_number(total['lutram'])} LUT RAM, "
                     f"{_number(total['dsps'])} DSPs; against the array alone: LUTs "
                     f"{_number(share['luts'])}, flip-flops {_number(share['ffs'])}")
    pnr = report["pnr"]
    if pnr:
        path = pnr["critical_path"] or {}
        context = " out of context" if pnr["out_of_context"] else " with pins"
        lines.append(f"{pnr['tool']} {pnr['device']}{context}: Fmax {pnr['fmax_mhz']:.1f} MHz "
                     f"(target {pnr['target_mhz']:g} MHz), {pnr['seconds']:.0f} s")
        if path:
            lines.append(f"critical path {path['delay_ns']:.2f} ns ({path['logic_ns']:.2f} logic, "
                         f"{path['routing_ns']:.2f} routing): {path['from']} -> {path['to']}")
        used = ", ".join(f"{cell} {entry['used']}/{entry['available']}"
                         for cell, entry in pnr["utilization"].items())
        lines.append(f"utilization: {used}")
    return "\n".join(lines)
