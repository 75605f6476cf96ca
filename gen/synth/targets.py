"""The synthesis targets, the place-and-route devices, and every default of the flow.

This is the one place for the defaults: :func:`gen.synth.synthesize` takes them as its
keyword defaults and ``python -m gen`` reads them for its options and help text.
"""

__all__ = ["TARGETS", "PNR_TARGETS", "DEVICES", "DEFAULT_DEVICES", "DEFAULT_FREQ_MHZ",
           "DEFAULT_TIMEOUT_S", "check_target"]

#: Synthesis targets: yosys' ``synth_ecp5``, ``synth_ice40``, ``synth_xilinx`` (7 series,
#: synthesis only), ``synth -lut 4`` (technology independent, memories kept abstract),
#: ``synth_gowin`` (Gowin LittleBee GW1N / GW2A) and ``synth_nexus`` (Lattice Nexus:
#: CrossLink-NX).
TARGETS = ("ecp5", "ice40", "xilinx", "generic", "gowin", "nexus")

#: Targets nextpnr can place and route (``gowin``: nextpnr-himbaechel's gowin micro-architecture).
PNR_TARGETS = ("ecp5", "ice40", "gowin", "nexus")

#: Devices accepted for place and route, per target -> nextpnr arguments.
DEVICES = {
    "ecp5": {
        f"LFE5U-{size}F-{speed}{package}": [f"--{size}k", "--speed", speed, "--package", package]
        for size in ("25", "45", "85") for speed in ("6", "7", "8")
        for package in ("CABGA256", "CABGA381", "CABGA554", "CABGA756")
    },
    "ice40": {
        "iCE40HX8K-CT256": ["--hx8k", "--package", "ct256"],
        "iCE40HX8K-CB132": ["--hx8k", "--package", "cb132"],
        "iCE40LP8K-CM81": ["--lp8k", "--package", "cm81"],
        "iCE40UP5K-SG48": ["--up5k", "--package", "sg48"],
    },
    # The Sipeed Tang boards: Nano 9K, Nano 20K, Primer 20K (the Nano 20K's die in a BGA with
    # more pins). GW5A parts are left out: yosys maps them with ``synth_gowin -family gw5a``,
    # another cell library without DSP inference.
    "gowin": {
        device: ["--device", device, "--vopt", f"family={family}"]
        for device, family in (("GW1NR-LV9QN88PC6/I5", "GW1N-9C"),
                               ("GW2AR-LV18QN88C8/I7", "GW2A-18C"),
                               ("GW2A-LV18PG256C8/I7", "GW2A-18C"))
    },
    # CrossLink-NX 40 (LIFCL-40-9BG400C is on Lattice's evaluation board), speed 7 to 9.
    "nexus": {
        f"LIFCL-40-{speed}{package}{grade}": ["--device", f"LIFCL-40-{speed}{package}{grade}"]
        for speed in ("7", "8", "9") for package in ("BG256", "BG400", "MG289")
        for grade in ("C", "I")
    },
}

#: The device of each place-and-route target when none is given.
DEFAULT_DEVICES = {"ecp5": "LFE5U-85F-8CABGA381", "ice40": "iCE40HX8K-CT256",
                   "gowin": "GW2A-LV18PG256C8/I7", "nexus": "LIFCL-40-9BG400C"}

#: nextpnr's target frequency when none is given, in MHz.
DEFAULT_FREQ_MHZ = 150.0

#: Seconds allowed to each tool run when no timeout is given.
DEFAULT_TIMEOUT_S = 3600.0


def check_target(target, *, pnr, device):
    """The nextpnr device of a run: ``device``, or the target's default (``None`` for a
    target without place and route). Raises ``ValueError`` for an unknown target, place and
    route on a target without it, or a device the target does not have."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    if pnr and target not in PNR_TARGETS:
        raise ValueError(f"place and route is available for {', '.join(PNR_TARGETS[:-1])} "
                         f"and {PNR_TARGETS[-1]}, not {target!r}")
    if device is None:
        return DEFAULT_DEVICES.get(target)
    if device not in DEVICES.get(target, {}):
        raise ValueError(f"device for {target} must be one of "
                         f"{', '.join(sorted(DEVICES.get(target, {}))) or 'none'}, "
                         f"not {device!r}")
    return device
