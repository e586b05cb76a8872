"""Draw docs/img/curve-*.png: one plot per named curve, the CSV example and a composition.

Run by hand after changing a curve (not by the tests): ``.venv/bin/python docs/plot_curves.py``.
Each plot shows the expected orders per 10 minutes of a store whose busiest hour is 300 orders,
computed by the same code that draws a run's arrivals (peakbench/plan/arrivals.py).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from peakbench.config.peak import PeakSpec
from peakbench.plan.arrivals import OrderRate, order_rate
from peakbench.plan.curves import NAMES, named

OUT = Path(__file__).resolve().parent / "img"
STEP = 600.0
STARTS = {"cyber-week": "2026-11-26", "singles-day": "2026-11-11", "prime-day": "2026-07-14"}
ZONES = {"singles-day": "Asia/Shanghai"}


def _plot(rate: OrderRate, hours: float, title: str, path: Path, note: str = "") -> None:
    xs = [i * STEP / 3600 for i in range(int(hours * 3600 / STEP))]
    ys = [rate.expected(x * 3600, x * 3600 + STEP) * 3600 / STEP for x in xs]
    fig, ax = plt.subplots(figsize=(8, 2.6), dpi=100)
    ax.step(xs, ys, where="post", color="#1f5fa8", linewidth=1.2)
    ax.fill_between(xs, ys, step="post", alpha=0.15, color="#1f5fa8")
    ax.set_xlim(0, hours)
    ax.set_ylim(bottom=0)
    tick = 24 if hours > 48 else (6 if hours > 24 else 3)
    ax.set_xticks([h for h in range(0, int(hours) + 1, tick)])
    ax.set_xlabel("hours since local midnight of the first day" + (f" ({note})" if note else ""))
    ax.set_ylabel("orders / hour")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    print(path)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        zone = ZONES.get(name, "America/New_York")
        start = datetime.fromisoformat(f"{STARTS.get(name, '2026-11-27')}T00:00").replace(
            tzinfo=ZoneInfo(zone)
        )
        hours = named(name).span / 3600
        rate = order_rate(PeakSpec(curve=name, timezone=zone), start, hours * 3600)
        _plot(rate, hours, f"{name} (busiest hour = 300 orders, {zone})", OUT / f"curve-{name}.png")
    start = datetime.fromisoformat("2026-11-27T00:00-05:00")
    csv = PeakSpec.model_validate({"curve": {"csv": "example-store"}})
    _plot(order_rate(csv, start, 86400), 24, "csv: example-store", OUT / "curve-csv-example.png")
    composed = PeakSpec.model_validate(
        {
            "curve": {
                "base": "black-friday",
                "add": [{"at": "2026-11-27T18:00", "factor": 15, "for": "10m"}],
            }
        }
    )
    _plot(
        order_rate(composed, start, 86400),
        24,
        "black-friday + flash-sale at 18:00, factor 15, for 10m",
        OUT / "curve-composition.png",
    )
    zones = PeakSpec.model_validate(
        {
            "curve": "cyber-monday",
            "customer_zones": {
                "America/New_York": 0.47,
                "America/Chicago": 0.29,
                "America/Denver": 0.07,
                "America/Los_Angeles": 0.17,
            },
        }
    )
    _plot(
        order_rate(zones, start, 30 * 3600),
        30,
        "cyber-monday, customers across four US zones",
        OUT / "curve-zones.png",
        "New York",
    )


if __name__ == "__main__":
    main()
