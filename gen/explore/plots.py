"""The sweep's two PNG plots, each with its Pareto front marked (matplotlib, Agg backend).

* :func:`plot_area`: tokens/s against LUTs (LUT4 equivalents on ECP5: LUT4 + 2 per CCU2C);
  the front is the points no other point beats with fewer LUTs and more tokens/s;
* :func:`plot_energy`: tokens/J against tokens/s; the front maximizes both.

Each point is one row of the sweep's table (a dict with the keys the caller names); points
missing either value are left out. The front is drawn as a step line through its points,
which are circled and labelled.
"""

__all__ = ["plot_area", "plot_energy"]

_COLOURS = {"i2": "tab:blue", "t5": "tab:orange", "int8": "tab:red"}
_MARKERS = "osD^v<>p*h"


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _scatter(axis, rows, x_key, y_key, front, ports):
    shown = set()
    for row in rows:
        kind = row["weight_format"]
        marker = _MARKERS[ports.index(row["port"]) % len(_MARKERS)]
        legend = f"{kind}, port {row['port']}"
        axis.scatter(row[x_key], row[y_key], color=_COLOURS.get(kind, "tab:gray"),
                     marker=marker, s=36, zorder=3,
                     label=None if legend in shown else legend)
        shown.add(legend)
    on_front = sorted((row for row in rows if row["index"] in front), key=lambda r: r[x_key])
    if on_front:
        axis.scatter([r[x_key] for r in on_front], [r[y_key] for r in on_front], s=170,
                     facecolors="none", edgecolors="black", linewidths=1.2, zorder=4,
                     label="Pareto front")
        axis.plot([r[x_key] for r in on_front], [r[y_key] for r in on_front], "k--",
                  linewidth=0.8, zorder=2, drawstyle="steps-post")
        for number, row in enumerate(on_front):
            # Alternately below and above, so that neighbours' labels do not overlap.
            axis.annotate(f"{row['rows']}x{row['cols']} {row['weight_format']} "
                          f"W={row['port_bits']}", (row[x_key], row[y_key]),
                          textcoords="offset points", fontsize=7,
                          xytext=(6, -11) if number % 2 == 0 else (-6, 7),
                          ha="left" if number % 2 == 0 else "right")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7, loc="best")


def _plot(rows, front, x_key, y_key, xlabel, ylabel, title, path, *, logx):
    plt = _pyplot()
    rows = [row for row in rows if row.get(x_key) is not None and row.get(y_key) is not None]
    ports = list(dict.fromkeys(row["port"] for row in rows))
    figure, axis = plt.subplots(figsize=(7.5, 5))
    _scatter(axis, rows, x_key, y_key, set(front), ports)
    if logx:
        axis.set_xscale("log")
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_area(rows, front, speed_key, path, title):
    """tokens/s (``speed_key``) against ``lut_equivalents``, the indices ``front`` circled."""
    _plot(rows, front, "lut_equivalents", speed_key,
          "LUTs (LUT4 equivalents on ECP5: LUT4 + 2 x CCU2C)", "tokens/s", title, path,
          logx=True)


def plot_energy(rows, front, speed_key, efficiency_key, path, title):
    """tokens/J (``efficiency_key``) against tokens/s (``speed_key``), ``front`` circled."""
    _plot(rows, front, speed_key, efficiency_key, "tokens/s", "tokens/J", title, path,
          logx=False)
