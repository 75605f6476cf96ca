"""The yosys scripts of the flow: synthesis per target, the coarse pass that counts
multipliers, and the listing of memory primitives."""

import re


__all__ = ["escape", "split_nets", "synth_command", "coarse_script", "MEMORY_CELLS",
           "memory_listing"]


def escape(module):
    """A module name as a yosys script names it (Amaranth's submodules contain dots)."""
    return module if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", module) else "\\" + module


def split_nets(top):
    """Flatten ``top`` and split its internal multi-bit wires into single bits before
    synthesis. Amaranth names the elements of an array-of-arrays signal ``rows_out[3]`` beside
    the whole ``rows_out``; when ABC9 hands the mapped netlist back, its AIGER reader can make
    a bit wire of the same name and stops on ``Assert `count_id(wire->name) == 0'`` (yosys
    issues 4349 and 4451, which name this workaround). With yosys 0.64 this hit the ECP5 flow
    at a wide weight port (an 8x8 array with ``--weight-port-bits 128``); with the split the
    same netlist maps, and the default 8x8 keeps its cell counts within a few LUTs (ABC's
    result depends a little on the names)."""
    return [f"hierarchy -top {escape(top)}", "proc", "flatten", "splitnets"]


def synth_command(target, top, *, dsp, json_file=None):
    """The yosys commands that synthesize module ``top`` for ``target``, flattened (after
    :func:`split_nets`); ``dsp`` lets multiplications map to DSP blocks; ``json_file`` also
    writes the netlist there (for nextpnr)."""
    split = split_nets(top)
    top = escape(top)
    out = f" -json {json_file}" if json_file else ""
    if target == "ecp5":
        return split + [f"synth_ecp5 -top {top}{'' if dsp else ' -nodsp'}{out}"]
    if target == "ice40":
        # -noabc9: yosys 0.64's ABC9 flow tripped the same assertion on the full accelerator
        # (found before split_nets existed; the classic ABC flow works and is kept).
        return split + [f"synth_ice40 -top {top} -noabc9{' -dsp' if dsp else ''}{out}"]
    if target in ("gowin", "nexus"):
        # IO buffers (IBUF/OBUF, IB/OB) on the ports: both nextpnrs place every port on a pin.
        return split + [f"synth_{target} -top {top}{'' if dsp else ' -nodsp'}{out}"]
    if target == "xilinx":
        command = [f"synth_xilinx -top {top} -flatten -noiopad{'' if dsp else ' -nodsp'}"]
        return split + command + ([f"write_json {json_file}"] if json_file else [])
    # generic: 4-input LUTs, memories left as abstract $mem_v2 cells (a vendor tool maps them
    # to its RAMs); "synth -run :fine" stops before memory_map, which would make them FFs.
    # There are no DSPs, so ``dsp`` changes nothing.
    command = split + [f"synth -top {top} -flatten -run :fine", "opt -fast -full", "techmap",
               "opt -fast", "abc -lut 4", "opt -fast", "opt_clean"]
    return command + ([f"write_json {json_file}"] if json_file else [])


def coarse_script(top):
    """Flatten and optimize without technology mapping, then ``stat``: multiplications are
    still ``$mul`` cells here (alumacc, which would also turn plain multi-operand adders into
    ``$macc`` cells, has not run)."""
    return [f"hierarchy -top {escape(top)}", "proc", "flatten", "opt_expr", "opt_clean",
            "opt -nodffe -nosdff", "wreduce", "peepopt", "opt_clean"]


#: Memory primitives per target, listed by name in the report (``memories``); shift
#: registers (SRL16E, from the skew buffers) are counted in ``lutram`` but not listed.
MEMORY_CELLS = {
    "ecp5": ("DP16KD", "PDPW16KD", "TRELLIS_DPR16X4"),
    "ice40": ("SB_RAM40_4K", "SB_RAM40_4KNR", "SB_RAM40_4KNW", "SB_RAM40_4KNRNW",
              "SB_SPRAM256KA"),
    "xilinx": ("RAMB18E1", "RAMB36E1", "RAMB18E2", "RAMB36E2", "RAM32M", "RAM64M", "RAM32M16",
               "RAM64M8", "RAM32X1D", "RAM64X1D", "RAM128X1D", "RAM256X1D", "RAM32X1S",
               "RAM64X1S", "RAM128X1S", "RAM256X1S"),
    "generic": ("$mem_v2",),
    "gowin": ("SP", "SPX9", "SDPB", "SDPX9B", "DPB", "DPX9B", "RAM16SDP1", "RAM16SDP2",
              "RAM16SDP4"),
    "nexus": ("DP16K", "PDP16K", "PDPSC16K", "SP16K", "DPSC512K", "SP512K", "DPR16X4"),
}


def memory_listing(target):
    """yosys commands writing the names of each memory primitive type to its own file,
    ``memory_<index>.txt`` with the index into ``MEMORY_CELLS[target]``."""
    return [f"tee -q -o memory_{index}.txt select -list t:{cell}"
            for index, cell in enumerate(MEMORY_CELLS[target])]
