"""The R x C weight-stationary array of ternary PEs (or, for the int8 baseline, of int8
multiply-accumulate PEs), built as ``cols`` identical columns of ``rows`` PEs: activations are
broadcast along rows, partial sums flow down the columns through one register per PE."""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .checks import check_bool, check_config
from .pe import TernaryCode, TernaryPE, pe_signature
from .pe_int8 import Int8PE


__all__ = ["SystolicColumn", "SystolicArray", "pe_variants", "pe_module_name",
           "column_module_name", "weight_shape", "weight_row_bits", "make_pe", "pe_class", "column_signature"]


def weight_row_bits(config):
    """Bits of one array row's weights on the weight bus: ``cols`` times the width of
    :func:`weight_shape`."""
    return config.cols * Shape.cast(weight_shape(config)).width


def weight_shape(config):
    """The shape of one weight on the array's load bus: :class:`~rtl.pe.TernaryCode`, or a
    signed ``config.weight_bits`` integer for the int8 baseline."""
    return TernaryCode if config.pe == "ternary" else signed(config.weight_bits)


def pe_class(config):
    """The PE of ``config``: :class:`~rtl.pe.TernaryPE` or :class:`~rtl.pe_int8.Int8PE`."""
    return TernaryPE if config.pe == "ternary" else Int8PE


def make_pe(config, psum_in_bits, psum_out_bits):
    """One PE of ``config``'s kind (:class:`~rtl.pe.TernaryPE` or
    :class:`~rtl.pe_int8.Int8PE`) with the given partial-sum widths."""
    if config.pe == "ternary":
        return TernaryPE(act_bits=config.act_bits, psum_in_bits=psum_in_bits,
                         psum_out_bits=psum_out_bits)
    return Int8PE(act_bits=config.act_bits, psum_in_bits=psum_in_bits,
                  psum_out_bits=psum_out_bits, weight_bits=config.weight_bits)


def pe_variants(config):
    """The PE shape of every array row: ``{row: (psum_in_bits, psum_out_bits)}``.

    Partial sums grow by at most one bit per row, so a 64-row array with 8-bit activations has
    only seven distinct PE modules (outputs of 9 to 15 bits).
    """
    return {row: (config.psum_bits(row - 1) if row else 0, config.psum_bits(row))
            for row in range(config.rows)}


def pe_module_name(config, psum_in_bits, psum_out_bits):
    """The Verilog module name of one PE variant (``_mac_`` for the int8 baseline)."""
    kind = "pe" if config.pe == "ternary" else "mac"
    return f"{config.name}_{kind}_i{psum_in_bits}_o{psum_out_bits}"


def column_module_name(config):
    """The Verilog module name of one array column."""
    return f"{config.name}_column"


def column_signature(config):
    """The ports of one :class:`SystolicColumn` of ``config``."""
    return wiring.Signature({
        "x_in": In(data.ArrayLayout(signed(config.act_bits), config.rows)),
        "code": In(data.ArrayLayout(weight_shape(config), config.rows)),
        "psum_out": Out(signed(config.column_bits)),
    })


def _attach(m, name, module_name, instantiate, make, signature, ports):
    """Add a submodule either as a Verilog ``Instance`` of ``module_name`` or as the Amaranth
    component ``make()``, wiring ``ports``: one value for every member of ``signature`` (the
    component's), each an input or an output as the member's ``flow`` says."""
    assert set(ports) == set(signature.members), f"{name}: ports do not match the signature"
    if instantiate:
        kwargs = {"i_clk": ClockSignal(), "i_rst": ResetSignal()}
        for port, value in ports.items():
            prefix = "o" if signature.members[port].flow == Out else "i"
            kwargs[f"{prefix}_{port}"] = value
        m.submodules[name] = Instance(module_name, **kwargs)
    else:
        block = make()
        assert block.signature == signature, f"{name}: the component has other ports"
        m.submodules[name] = block
        for port, value in ports.items():
            if signature.members[port].flow == Out:
                m.d.comb += value.eq(getattr(block, port))
            else:
                m.d.comb += getattr(block, port).eq(value)


class SystolicColumn(wiring.Component):
    """One column of ``rows`` PEs: partial sums flow down through one register per PE.

    Row ``k`` multiplies ``x_in[k]`` by ``code[k]`` and adds the partial sum of row ``k - 1``
    (registered there a cycle earlier); ``psum_out`` is the column sum leaving the bottom
    row's register.

    Parameters
    ----------
    config : :class:`~rtl.config.AccelConfig`
    instantiate : bool
        PEs as ``Instance`` s of :func:`pe_module_name` modules (generator) or as Amaranth
        submodules (simulation).

    Raises ``TypeError`` if ``config`` is not an :class:`~rtl.config.AccelConfig` or
    ``instantiate`` not a bool.

    Attributes
    ----------
    latency : int
        The PE's latency (1) per row for the partial sum (``rows`` from row 0's activation to
        ``psum_out``, see :meth:`SystolicArray.sum_delay`).
    """

    def __init__(self, config, *, instantiate=False):
        self.config = check_config(config)
        self.instantiate = check_bool("instantiate", instantiate)
        self.latency = pe_class(config).latency
        super().__init__(column_signature(config))

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        variants = pe_variants(cfg)
        psum_above = None
        for k in range(cfg.rows):
            in_bits, out_bits = variants[k]
            psum = Signal(signed(out_bits), name=f"psum_{k}")
            ports = {"x_in": self.x_in[k], "code": self.code[k], "psum_out": psum}
            if in_bits:
                ports["psum_in"] = psum_above
            signature = wiring.Signature(
                pe_signature(cfg.act_bits, in_bits, out_bits, weight_shape(cfg)))
            _attach(m, f"pe_{k}", pe_module_name(cfg, in_bits, out_bits), self.instantiate,
                    lambda: make_pe(cfg, in_bits, out_bits), signature, ports)
            psum_above = psum
        m.d.comb += self.psum_out.eq(psum_above)
        return m


class SystolicArray(wiring.Component):
    """A grid of :class:`~rtl.pe.TernaryPE` (or :class:`~rtl.pe_int8.Int8PE` with
    ``config.pe == "int8"``): activations are broadcast along rows, partial sums flow down
    columns, weights stay.

    PE ``(k, n)`` multiplies ``x[k]`` by ``weights[k][n]``, the weight ``W[n, k]`` of the tile
    that row ``k`` is working on. Activation lane ``k`` must arrive skewed by ``k`` cycles (see
    :class:`~rtl.skew.SkewBuffer`), and so must row ``k``'s weights when a new tile starts (the
    weight store reads its bank ``k`` on that diagonal); every column's finished sum then
    leaves the bottom ``rows`` cycles after its row-0 activation entered, all columns in the
    same cycle, so nothing needs deskewing and nothing waits for a column to its left.

    Parameters
    ----------
    config : :class:`~rtl.config.AccelConfig`
    instantiate : bool
        If true, the columns are ``Instance`` s of one :func:`column_module_name` module and
        the PEs ``Instance`` s of the :func:`pe_module_name` variants, so the generator emits
        each once; if false, everything is an Amaranth submodule (for the Amaranth simulator).

    Raises ``TypeError`` if ``config`` is not an :class:`~rtl.config.AccelConfig` or
    ``instantiate`` not a bool.

    Members
    -------
    x : ``In(ArrayLayout(signed(act_bits), rows))``
    weights : ``In(ArrayLayout(unsigned(cols * weight_bits), rows))``
        Row ``k``'s weights, weight ``n`` in bits ``[w*n + w-1 : w*n]`` (``w`` = 2 for a
        :class:`~rtl.pe.TernaryCode`, 8 for the int8 baseline): plain bit vectors, so that the
        Verilog carries no per-weight debug wires.
    psum : ``Out(ArrayLayout(signed(column_bits), cols))``

    Attributes
    ----------
    sum_delay(config) : classmethod
        Cycles from a row-0 activation to the column sums leaving the bottom: ``rows`` (one
        PE register per row), computed from the PE's ``latency`` without building the array.
    """

    @classmethod
    def sum_delay(cls, config):
        return config.rows * pe_class(config).latency

    def __init__(self, config, *, instantiate=False):
        self.config = check_config(config)
        self.instantiate = check_bool("instantiate", instantiate)
        super().__init__({
            "x": In(data.ArrayLayout(signed(config.act_bits), config.rows)),
            "weights": In(data.ArrayLayout(unsigned(weight_row_bits(config)), config.rows)),
            "psum": Out(data.ArrayLayout(signed(config.column_bits), config.cols)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        bits = Shape.cast(weight_shape(cfg)).width
        for n in range(cfg.cols):
            codes = Cat(self.weights[k][n * bits:(n + 1) * bits] for k in range(cfg.rows))
            _attach(m, f"column_{n}", column_module_name(cfg), self.instantiate,
                    lambda: SystolicColumn(cfg), column_signature(cfg),
                    {"x_in": self.x.as_value(), "code": codes, "psum_out": self.psum[n]})
        return m
