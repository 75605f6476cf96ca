"""The transaction-level test harness: a Verilog wrapper around the generated top level that
runs whole GEMMs at the simulator's own speed, and the host side of its file protocol.

Python acts once per GEMM, not once per cycle. The host writes the job to three binary files
in the simulator's working folder (:func:`write_stimulus`); a pulse on the wrapper's ``start``
opens them, and from then on the wrapper drives the accelerator's four streams by itself,
cycle by cycle, exactly as :class:`cosim.driver.AccelDriver` does, and writes every result
beat to a text file (:func:`read_results` decodes it). Python only waits for ``finished``.

The wrapper (:func:`harness_verilog`, module ``<name>_harness``) makes its own clock ``clk``
(an output, period :data:`CLOCK_NS`; built with ``--timing``), and per clock cycle:

* **Commands** (``harness_commands.bin``): one record per hardware job, six big-endian 32-bit
  numbers ``M, K, N, weight beats, activation beats, result beats``. The wrapper offers a
  job's command on ``cmd`` in the cycle after ``start`` or after the previous job's last
  result beat was accepted, and its first data beats in the cycle after the command is
  accepted, as the driver does.
* **Weights and activations** (``harness_weights.bin``, ``harness_activations.bin``): every
  beat of every job in stream order (:class:`cosim.layout.JobLayout`), each beat big-endian
  in ``ceil(bits / 8)`` bytes. A beat is read from its file, one ahead, when the previous one
  is accepted; ``valid`` is offered while the running job has beats left.
* **Results** (``harness_results.txt``): each accepted result beat as one line of hex.
* **Idle and backpressure generators**: one xorshift32 generator per stream, seeded from the
  ``seed`` input at ``start`` and stepped every cycle. A source offers a beat on a cycle only
  when its generator's low 16 bits are below ``weight_rate`` / ``activation_rate``, and
  ``results.ready`` is high only when the result generator's are below ``result_rate``
  (17-bit inputs: 65536 means every cycle, :data:`ALWAYS`), so the stress patterns of the
  benches run at full simulator speed too.
* **Cycle count**: a free-running cycle counter; per job, the cycle of the first weight or
  activation beat accepted and of the last result beat accepted; ``cycles`` sums
  ``last - first + 1`` over the jobs (the driver's count), ``jobs`` counts them.

Outputs ``finished`` (high from the cycle after the last job's last result beat until the
next ``start``), ``failed`` (a file could not be opened), ``cmd_error`` (the accelerator's),
and ``weights_taken`` / ``activations_taken`` / ``results_taken`` (beats accepted since
``start``, for a stall report). ``rst`` resets the wrapper and the accelerator; every stream
is idle in reset and between ``start`` s.
"""

import math
import struct

import numpy as np

from rtl.config import AccelConfig

from .layout import JobLayout


__all__ = ["CLOCK_NS", "BUILD_ARGS", "ALWAYS", "COMMAND_FILE", "COMMAND_RECORD", "WEIGHT_FILE",
           "ACTIVATION_FILE", "RESULT_FILE", "HarnessJob", "harness_name", "harness_verilog",
           "harness_design", "rate_value", "seed_value", "job_sizes", "write_stimulus",
           "read_results"]

#: The clock period, in ns: the wrapper makes its own clock (``--timing``, :data:`BUILD_ARGS`),
#: so that no clock edge costs a call into Python.
CLOCK_NS = 10

#: Verilator arguments of a harness build, after :data:`cosim.build.BUILD_ARGS`.
BUILD_ARGS = ("--timing", "--timescale", "1ns/1ps")

#: The rate input meaning "every cycle" (a source always valid, the sink always ready).
ALWAYS = 1 << 16
RATE_BITS = 17

COMMAND_FILE = "harness_commands.bin"
WEIGHT_FILE = "harness_weights.bin"
ACTIVATION_FILE = "harness_activations.bin"
RESULT_FILE = "harness_results.txt"

#: The six fields of a command record, big-endian 32-bit each.
COMMAND_RECORD = struct.Struct(">6I")

#: Per-stream constants mixed into the seed (xorshift32 must not start at zero).
_SEED_MIX = {"w": 0x9E3779B9, "a": 0x7F4A7C15, "r": 0x85EBCA6B}


def _padded(bits):
    """Bits of a beat as the files hold it: whole bytes."""
    return 8 * math.ceil(bits / 8)


def harness_name(config):
    """The wrapper's module name, ``<config.name>_harness``."""
    return f"{config.name}_harness"


def rate_value(probability, name):
    """A probability in ``[0, 1]`` as the wrapper's 17-bit rate (``round(p * 65536)``).

    Raises ``TypeError`` for a non-number and ``ValueError`` outside ``[0, 1]`` (``name`` in
    the message)."""
    if isinstance(probability, bool) or not isinstance(probability, (int, float)):
        raise TypeError(f"{name} must be a number from 0 to 1, not {probability!r}")
    if not 0 <= probability <= 1:
        raise ValueError(f"{name} must be a number from 0 to 1, not {probability!r}")
    return round(probability * ALWAYS)


def seed_value(seed):
    """``seed`` checked as the wrapper's 32-bit ``seed`` input. Raises ``TypeError`` for a
    non-integer and ``ValueError`` outside ``0 .. 2**32 - 1``."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer from 0 to {(1 << 32) - 1}, not {seed!r}")
    if not 0 <= seed < 1 << 32:
        raise ValueError(f"seed must be an integer from 0 to {(1 << 32) - 1}, not {seed!r}")
    return seed


def _check_config(config):
    if not isinstance(config, AccelConfig):
        raise TypeError(f"config must be an AccelConfig, not {config!r}")
    return config


def harness_verilog(config):
    """The Verilog text of the wrapper module :func:`harness_name` around the generated top
    ``config.name`` (not included; :func:`harness_design` joins both). Deterministic: the
    text depends only on ``config``."""
    from amaranth import Shape
    from rtl.command import command_layout
    cfg = _check_config(config)
    layout = command_layout(cfg)
    fields = sorted(((layout[name].offset, name, Shape.cast(layout[name].shape).width)
                     for name in ("m", "k", "n")), reverse=True)
    if sum(width for _, _, width in fields) != layout.size:
        raise AssertionError("the command layout is not three contiguous fields")
    record = {"m": 191, "k": 159, "n": 127}
    payload = ", ".join(f"command[{record[name] - 31 + width - 1}:{record[name] - 31}]"
                        for _, name, width in fields)
    w_bits, a_bits, r_bits = cfg.word_bits, cfg.act_stream_bits, cfg.result_stream_bits
    w_pad, a_pad = _padded(w_bits), _padded(a_bits)
    name = harness_name(cfg)
    seeds = {stream: f"(seed ^ 32'h{mix:08X}) == 32'd0 ? 32'h{mix:08X} : seed ^ 32'h{mix:08X}"
             for stream, mix in _SEED_MIX.items()}
    return f"""\
// {name}: the co-simulation harness of {cfg.name} (cosim/harness.py); configuration
// {cfg.digest}. Streams a job from files at full simulator speed; do not edit.
module {name} (
    output reg         clk,
    input  wire        rst,
    input  wire        start,
    input  wire [{RATE_BITS - 1}:0] weight_rate,
    input  wire [{RATE_BITS - 1}:0] activation_rate,
    input  wire [{RATE_BITS - 1}:0] result_rate,
    input  wire [31:0] seed,
    output reg         finished,
    output reg         failed,
    output wire        cmd_error,
    output reg  [63:0] cycles,
    output reg  [31:0] jobs,
    output reg  [31:0] weights_taken,
    output reg  [31:0] activations_taken,
    output reg  [31:0] results_taken
);
    localparam IDLE = 2'd0, COMMAND = 2'd1, RUN = 2'd2;

    initial clk = 1'b0;
    always #{CLOCK_NS // 2} clk = ~clk;

    function [31:0] xorshift(input [31:0] x);
        reg [31:0] y;
        begin
            y = x ^ (x << 13);
            y = y ^ (y >> 17);
            xorshift = y ^ (y << 5);
        end
    endfunction

    reg  [1:0]   state;
    // The records' unused high bits and the beats' padding to whole bytes:
    /* verilator lint_off UNUSEDSIGNAL */
    reg  [191:0] command;
    reg  [191:0] command_next;
    reg  [{w_pad - 1}:0] weight_word;
    reg  [{w_pad - 1}:0] weight_next;
    reg  [{a_pad - 1}:0] activation_word;
    reg  [{a_pad - 1}:0] activation_next;
    /* verilator lint_on UNUSEDSIGNAL */
    reg  [31:0]  weights_left;
    reg  [31:0]  activations_left;
    reg  [31:0]  results_left;
    reg  [63:0]  now;
    reg  [63:0]  first;
    reg          started;
    reg  [31:0]  weight_gen;
    reg  [31:0]  activation_gen;
    reg  [31:0]  result_gen;
    integer      weight_file;
    integer      activation_file;
    integer      command_file;
    integer      result_file;
    integer      got;

    wire cmd_ready;
    wire weights_ready;
    wire activations_ready;
    wire results_valid;
    wire [{r_bits - 1}:0] results_payload;
    /* verilator lint_off UNUSEDSIGNAL */
    wire busy;
    wire done;
    /* verilator lint_on UNUSEDSIGNAL */

    wire weights_valid = state == RUN && weights_left != 32'd0
                         && {{1'b0, weight_gen[15:0]}} < weight_rate;
    wire activations_valid = state == RUN && activations_left != 32'd0
                             && {{1'b0, activation_gen[15:0]}} < activation_rate;
    wire results_ready = state == RUN && {{1'b0, result_gen[15:0]}} < result_rate;
    wire weight_taken = weights_valid && weights_ready;
    wire activation_taken = activations_valid && activations_ready;
    wire result_taken = results_valid && results_ready;

    {cfg.name} dut (
        .clk(clk),
        .rst(rst),
        .cmd__payload({{{payload}}}),
        .cmd__valid(state == COMMAND),
        .cmd__ready(cmd_ready),
        .busy(busy),
        .done(done),
        .cmd_error(cmd_error),
        .weights__payload(weight_word[{w_bits - 1}:0]),
        .weights__valid(weights_valid),
        .weights__ready(weights_ready),
        .activations__payload(activation_word[{a_bits - 1}:0]),
        .activations__valid(activations_valid),
        .activations__ready(activations_ready),
        .results__payload(results_payload),
        .results__valid(results_valid),
        .results__ready(results_ready)
    );

    // The run is over: the result file is flushed and every file closed.
    task close_files;
        begin
            $fclose(command_file);
            $fclose(weight_file);
            $fclose(activation_file);
            $fclose(result_file);
        end
    endtask

    // The file reads go through blocking assignments to *_next, then into registers.
    /* verilator lint_off BLKSEQ */
    always @(posedge clk) begin
        if (rst) begin
            state <= IDLE;
            finished <= 1'b0;
            failed <= 1'b0;
        end else begin
            now <= now + 64'd1;
            weight_gen <= xorshift(weight_gen);
            activation_gen <= xorshift(activation_gen);
            result_gen <= xorshift(result_gen);
            case (state)
            IDLE: if (start) begin
                finished <= 1'b0;
                failed <= 1'b0;
                cycles <= 64'd0;
                jobs <= 32'd0;
                weights_taken <= 32'd0;
                activations_taken <= 32'd0;
                results_taken <= 32'd0;
                weight_gen <= {seeds["w"]};
                activation_gen <= {seeds["a"]};
                result_gen <= {seeds["r"]};
                command_file = $fopen("{COMMAND_FILE}", "rb");
                weight_file = $fopen("{WEIGHT_FILE}", "rb");
                activation_file = $fopen("{ACTIVATION_FILE}", "rb");
                result_file = $fopen("{RESULT_FILE}", "w");
                if (command_file == 0 || weight_file == 0 || activation_file == 0
                        || result_file == 0) begin
                    failed <= 1'b1;
                    finished <= 1'b1;
                end else begin
                    got = $fread(weight_next, weight_file);
                    weight_word <= weight_next;
                    got = $fread(activation_next, activation_file);
                    activation_word <= activation_next;
                    got = $fread(command_next, command_file);
                    command <= command_next;
                    if (got == 24) begin
                        state <= COMMAND;
                    end else begin
                        finished <= 1'b1;
                        close_files();
                    end
                end
            end
            COMMAND: if (cmd_ready) begin
                state <= RUN;
                weights_left <= command[95:64];
                activations_left <= command[63:32];
                results_left <= command[31:0];
                started <= 1'b0;
            end
            RUN: begin
                if (weight_taken) begin
                    weights_left <= weights_left - 32'd1;
                    weights_taken <= weights_taken + 32'd1;
                    got = $fread(weight_next, weight_file);
                    weight_word <= weight_next;
                end
                if (activation_taken) begin
                    activations_left <= activations_left - 32'd1;
                    activations_taken <= activations_taken + 32'd1;
                    got = $fread(activation_next, activation_file);
                    activation_word <= activation_next;
                end
                if ((weight_taken || activation_taken) && !started) begin
                    started <= 1'b1;
                    first <= now;
                end
                if (result_taken) begin
                    $fwrite(result_file, "%h\\n", results_payload);
                    results_left <= results_left - 32'd1;
                    results_taken <= results_taken + 32'd1;
                    if (results_left == 32'd1) begin
                        cycles <= cycles + (now - first) + 64'd1;
                        jobs <= jobs + 32'd1;
                        got = $fread(command_next, command_file);
                        command <= command_next;
                        if (got == 24) begin
                            state <= COMMAND;
                        end else begin
                            state <= IDLE;
                            finished <= 1'b1;
                            close_files();
                        end
                    end
                end
            end
            default: state <= IDLE;
            endcase
        end
    end
    /* verilator lint_on BLKSEQ */
endmodule
"""


def harness_design(config):
    """``(verilog, toplevel)``: the generated design (:func:`gen.emit.emit_verilog`) followed
    by the wrapper, and the wrapper's module name."""
    from gen.emit import emit_verilog
    cfg = _check_config(config)
    return emit_verilog(cfg) + "\n" + harness_verilog(cfg), harness_name(cfg)


def job_sizes(m, max_m):
    """The rows of each hardware job of an ``M``-row GEMM: full jobs of ``max_m``, then the
    rest (the driver's split)."""
    return [min(max_m, m - m0) for m0 in range(0, m, max_m)]


class HarnessJob:
    """The hardware jobs of one GEMM ``x [M, K]`` by ``w [N, K]`` (operands already checked,
    :func:`cosim.driver.check_gemm_operands`): their :class:`~cosim.layout.JobLayout` s."""

    def __init__(self, config, m, k, n):
        self.config = config
        self.m, self.k, self.n = m, k, n
        self.layouts = [JobLayout(config, rows, k, n) for rows in job_sizes(m, config.max_m)]

    @property
    def result_beats(self):
        return sum(layout.result_beats for layout in self.layouts)


def _beat_bytes(words, bits):
    """Beat integers -> their file bytes: each big-endian in ``ceil(bits / 8)`` bytes (what
    Verilog's ``$fread`` loads into a register of that many bytes)."""
    size = _padded(bits) // 8
    return b"".join(word.to_bytes(size, "big") for word in words)


def write_stimulus(folder, config, x, w):
    """Write the command, weight and activation files of ``x @ w.T`` into ``folder`` (removing
    an old result file); return the :class:`HarnessJob`."""
    cfg = config
    m, k = x.shape
    n = w.shape[0]
    job = HarnessJob(cfg, m, k, n)
    commands, activations = [], []
    weights = None
    row = 0
    for layout in job.layouts:
        if weights is None:   # the same weight beats for every job of the GEMM
            weights = _beat_bytes(layout.weight_words(w), cfg.word_bits)
        activations.append(_beat_bytes(layout.activation_words(x[row:row + layout.m]),
                                       cfg.act_stream_bits))
        commands.append(COMMAND_RECORD.pack(layout.m, k, n, layout.weight_beats,
                                            layout.activation_beats, layout.result_beats))
        row += layout.m
    (folder / COMMAND_FILE).write_bytes(b"".join(commands))
    (folder / WEIGHT_FILE).write_bytes(weights * len(job.layouts))
    (folder / ACTIVATION_FILE).write_bytes(b"".join(activations))
    (folder / RESULT_FILE).unlink(missing_ok=True)
    return job


def read_results(folder, job):
    """The result file of ``job`` -> int64 ``Y [M, N]``. Raises ``RuntimeError`` if the file
    holds another number of beats than the jobs produce."""
    lines = (folder / RESULT_FILE).read_text().split()
    if len(lines) != job.result_beats:
        raise RuntimeError(f"the harness wrote {len(lines)} result beats, the job has "
                           f"{job.result_beats}")
    words = [int(line, 16) for line in lines]
    parts, at = [], 0
    for layout in job.layouts:
        parts.append(layout.results(words[at:at + layout.result_beats]))
        at += layout.result_beats
    return np.concatenate(parts)
