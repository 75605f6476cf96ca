"""The R x C weight-stationary systolic array of ternary PEs."""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .pe import TernaryCode, TernaryPE


__all__ = ["SystolicArray", "pe_variants"]


def pe_variants(config):
    """The distinct PE shapes of an array: ``{row: (psum_in_bits, psum_out_bits)}``.

    Partial sums grow by at most one bit per row, so a 64-row array with 8-bit activations has
    only seven distinct PE modules (outputs of 9 to 15 bits).
    """
    return {row: (config.psum_bits(row - 1) if row else 0, config.psum_bits(row))
            for row in range(config.rows)}


def pe_module_name(config, psum_in_bits, psum_out_bits):
    """The Verilog module name of one PE variant."""
    return f"{config.name}_pe_i{psum_in_bits}_o{psum_out_bits}"


class SystolicArray(wiring.Component):
    """A grid of :class:`TernaryPE`: activations flow right along rows, partial sums flow down
    columns, weights stay.

    PE ``(k, n)`` holds the weight ``W[n, k]`` of the current tile. Activation lane ``k`` must
    arrive skewed by ``k`` cycles (see :class:`~rtl.skew.SkewBuffer`) and then reaches column
    ``n`` after ``n`` more cycles; the finished column sum of lane ``n`` leaves the bottom
    ``rows`` cycles after its row-0 activation entered column ``n``.

    Weights load one tile row per cycle: column ``n`` receives ``code[n]`` with
    ``load_row[n]`` naming the array row to write and ``load_valid[n]``, skewed like the
    activations so that row ``k`` of column ``n`` is written on the same diagonal as the swap
    that retires it. Each column decodes its own row select, so the code bus of a column fans
    out to its ``rows`` PEs.

    Parameters
    ----------
    config : :class:`~rtl.config.AccelConfig`
    instantiate : bool
        If true, PEs are Verilog ``Instance`` s of the modules named by :func:`pe_module_name`
        (the generator emits each variant once); if false, they are Amaranth submodules
        (for the Amaranth simulator and for small designs).

    Latency: ``rows`` cycles from a row-0 activation to its column sum, per column.
    """

    def __init__(self, config, *, instantiate=False):
        self.config = config
        self.instantiate = instantiate
        row_bits = max(1, (config.rows - 1).bit_length())
        super().__init__({
            "en": In(1),
            "x": In(data.ArrayLayout(signed(config.act_bits), config.rows)),
            "swap": In(config.rows),
            "code": In(data.ArrayLayout(TernaryCode, config.cols)),
            "load_row": In(data.ArrayLayout(unsigned(row_bits), config.cols)),
            "load_valid": In(config.cols),
            "psum": Out(data.ArrayLayout(signed(config.column_bits), config.cols)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        variants = pe_variants(cfg)

        # Wires between neighbours: x and swap to the right, psum down.
        x = [[Signal(signed(cfg.act_bits), name=f"x_{k}_{n}") for n in range(cfg.cols + 1)]
             for k in range(cfg.rows)]
        swap = [[Signal(name=f"swap_{k}_{n}") for n in range(cfg.cols + 1)]
                for k in range(cfg.rows)]
        psum = [[Signal(signed(variants[k][1]), name=f"psum_{k}_{n}") for n in range(cfg.cols)]
                for k in range(cfg.rows)]
        for k in range(cfg.rows):
            m.d.comb += [x[k][0].eq(self.x[k]), swap[k][0].eq(self.swap[k])]

        for n in range(cfg.cols):
            select = Signal(cfg.rows, name=f"load_select_{n}")
            m.d.comb += select.eq(Mux(self.load_valid[n], 1 << self.load_row[n], 0))
            for k in range(cfg.rows):
                in_bits, out_bits = variants[k]
                ports = {
                    "en": self.en,
                    "x_in": x[k][n], "swap_in": swap[k][n],
                    "load": select[k], "code": self.code[n],
                    "x_out": x[k][n + 1], "swap_out": swap[k][n + 1],
                    "psum_out": psum[k][n],
                }
                if in_bits:
                    ports["psum_in"] = psum[k - 1][n]
                name = f"pe_{k}_{n}"
                if self.instantiate:
                    kwargs = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
                    for port, value in ports.items():
                        direction = "o" if port.endswith("_out") else "i"
                        kwargs[f"{direction}_{port}"] = value
                    m.submodules[name] = Instance(pe_module_name(cfg, in_bits, out_bits),
                                                  **kwargs)
                else:
                    pe = TernaryPE(act_bits=cfg.act_bits, psum_in_bits=in_bits,
                                   psum_out_bits=out_bits)
                    m.submodules[name] = pe
                    for port, value in ports.items():
                        if port.endswith("_out"):
                            m.d.comb += value.eq(getattr(pe, port))
                        else:
                            m.d.comb += getattr(pe, port).eq(value)
            m.d.comb += self.psum[n].eq(psum[cfg.rows - 1][n])
        return m
