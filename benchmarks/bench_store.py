"""Sandbox store throughput on 2 cores, against the default profile's peak (issue 4).

A real ``python -m mocks.store serve`` process pinned to core 0 (its direct-polling plugin
running, against a closed carrier port), and ``wrk`` with a Lua script pinned to core 1, over
loopback. Four closed-loop runs of ``--seconds`` each, ``--connections`` keep-alive connections:

- ``orders``: ``POST /wp-json/wc/v3/orders`` with the body Locust sends (Basic auth);
- ``ships``: ``POST …/shipment-trackings`` on those orders, a new number each time;
- ``views``: ``GET /order-tracking/{id}?key=…`` over seeded orders whose pages show carrier
  events (pushed through the TrackShip webhook, so the pages are as heavy as in a run);
- ``mixed``: the three at the busiest store hour's mix of the profile.

The profile's need is its busiest store hour per kind (from the deterministic schedule,
``build_plan``) turned into wall rates at the profile's scale; headroom = measured ÷ needed.

    .venv/bin/python benchmarks/bench_store.py [--profile profiles/black-friday.yaml]
        [--seconds 8] [--connections 32] [--seed-orders 300]

Prints a markdown table and writes ``benchmarks/out/store-<UTC>.json``.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from mocks.carriers.trackship import push_document
from peakbench.adapters.woocommerce import create_order
from peakbench.config.loader import load_profile
from peakbench.plan.clock import ClockSpec
from peakbench.plan.planner import build_plan
from peakbench.plan.timeline import TimelineModel, journey, make_tracking_number

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
CREDS = {"consumer_key": "ck_bench", "consumer_secret": "cs_bench"}
BASIC = "Basic " + base64.b64encode(b"ck_bench:cs_bench").decode()
CARRIER = "generic"
KINDS = ("order", "ship", "view")

_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,' ..
    '"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def lua_script(
    name: str,
    weights: dict[str, float],
    order_body: str,
    view_paths: list[str],
    ship_orders: list[int],
) -> str:
    """A wrk script issuing orders, ships and views with the given weights (one thread);
    tracking numbers are unique per run ``name``."""
    total = sum(weights.values())
    cut_order = weights.get("order", 0) / total
    cut_ship = cut_order + weights.get("ship", 0) / total
    views = ",\n".join(json.dumps(p) for p in view_paths) or '"/"'
    ships = ",".join(str(i) for i in ship_orders) or "1"
    return f"""
local auth = {json.dumps(BASIC)}
local order_body = {json.dumps(order_body)}
local views = {{
{views}
}}
local ships = {{{ships}}}
local n = 0
math.randomseed(7)
request = function()
  n = n + 1
  local pick = math.random()
  local h = {{["Authorization"] = auth, ["Content-Type"] = "application/json"}}
  if pick < {cut_order} then
    return wrk.format("POST", "/wp-json/wc/v3/orders", h, order_body)
  elseif pick < {cut_ship} then
    local oid = ships[(n % #ships) + 1]
    local body = string.format(
      '{{"tracking_provider":"{CARRIER}","tracking_number":"PB{name.upper()}%09d"}}', n)
    return wrk.format("POST",
      "/wp-json/wc-shipment-tracking/v3/orders/" .. oid .. "/shipment-trackings", h, body)
  end
  return wrk.format("GET", views[(n % #views) + 1])
end
{_DONE}"""


def peak_need(profile_path: Path) -> dict[str, Any]:
    """Busiest store hour per kind (and the busiest hour overall with its mix), as wall rates."""
    profile = load_profile(profile_path)
    plan = build_plan(profile)
    hours: dict[str, Counter[int]] = {k: Counter() for k in KINDS}
    for item in plan.items:
        hours[item.kind][int(item.t // 3600)] += 1
    scale = profile.clock.scale
    per_hour = {k: max(hours[k].values(), default=0) for k in KINDS}
    busiest = max(
        range(int(profile.clock.duration // 3600) + 1),
        key=lambda h: sum(hours[k][h] for k in KINDS),
    )
    mix = {k: hours[k][busiest] for k in KINDS}
    return {
        "profile": str(profile_path),
        "scale": scale,
        "per_store_hour": per_hour,
        "wall_per_s": {k: per_hour[k] * scale / 3600 for k in KINDS},
        "busiest_hour": busiest,
        "busiest_mix": mix,
        "busiest_wall_per_s": sum(mix.values()) * scale / 3600,
    }


def start_store(run: Path, scale: float) -> tuple[subprocess.Popen[bytes], str]:
    (run / "store.json").write_text(
        json.dumps({"plugin": {}, "carriers": {CARRIER: {"base_url": "http://127.0.0.1:9"}}})
    )
    spec = ClockSpec(start_epoch=1_795_755_600.0, scale=scale, wall_epoch=time.time())
    (run / "clock.json").write_text(json.dumps(spec.to_json()))
    env = dict(os.environ, PEAKBENCH_STORE_CREDENTIALS=json.dumps(CREDS))
    env["PEAKBENCH_CARRIER_KEYS"] = json.dumps({CARRIER: ["k"]})
    cmd = [sys.executable, "-m", "mocks.store", "serve", "--config", str(run / "store.json")]
    cmd += ["--clock", str(run / "clock.json"), "--db", str(run / "store.sqlite")]
    cmd += ["--ready-file", str(run / "ready.json")]
    proc = subprocess.Popen(
        ["taskset", "-c", "0", *cmd], cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while not (run / "ready.json").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("bench_store: the store did not start")
        time.sleep(0.05)
    return proc, json.loads((run / "ready.json").read_text())["base_url"]


def seed(base_url: str, orders: int) -> tuple[list[str], list[int]]:
    """Orders with a shipment and pushed carrier events; returns (view paths, order ids)."""
    model = TimelineModel(seed=11)
    paths, ids = [], []
    with httpx.Client(base_url=base_url, headers={"Authorization": BASIC}, trust_env=False) as http:
        for ref in range(1, orders + 1):
            order = http.post("/wp-json/wc/v3/orders", json=create_order(ref).json).json()
            number = make_tracking_number(1_795_755_600.0 - 3 * 86400, "domestic", ref)
            http.post(
                f"/wp-json/wc-shipment-tracking/v3/orders/{order['id']}/shipment-trackings",
                json={"tracking_provider": CARRIER, "tracking_number": number},
            ).raise_for_status()
            events = journey(model, number)
            shown = events[: max(1, len(events) - 2)]
            body = push_document(number, order["id"], "", events, shown, shown[-1].visible_at)
            http.post("/wp-json/wc/v1/tracking-webhook", json=body).raise_for_status()
            paths.append(f"/order-tracking/{order['id']}?key={order['order_key']}")
            ids.append(order["id"])
        deadline = time.monotonic() + 30
        while http.get("/__admin/stats").json()["changes"] < orders:
            if time.monotonic() > deadline:
                raise SystemExit("bench_store: pushed events were not applied in time")
            time.sleep(0.1)
    return paths, ids


def run_wrk(base_url: str, script: str, seconds: int, connections: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        done = subprocess.run(
            ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{max(1, seconds)}s",
             "--timeout", "5s", "-s", fh.name, base_url],
            capture_output=True, text=True, timeout=seconds + 30,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"bench_store: wrk failed: {done.stderr.strip() or done.stdout}")
    finally:
        os.unlink(fh.name)
    line = next(x for x in reversed(done.stdout.splitlines()) if x.startswith("{"))
    out = dict(json.loads(line))
    out["rps"] = out["requests"] / (out["duration_us"] / 1e6)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", type=Path, default=ROOT / "profiles" / "black-friday.yaml")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seed-orders", type=int, default=300)
    args = parser.parse_args()

    need = peak_need(args.profile)
    order_body = json.dumps(create_order(0).json, separators=(",", ":"))
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        proc, base_url = start_store(Path(tmp), need["scale"])
        try:
            paths, ids = seed(base_url, args.seed_orders)
            runs = {
                "views": {"view": 1.0},
                "orders": {"order": 1.0},
                "ships": {"ship": 1.0},
                "mixed": {k: float(v) for k, v in need["busiest_mix"].items()},
            }
            # ships go to orders the views run does not read (else pages would grow huge)
            targets = list(range(ids[-1] + 1, ids[-1] + 1 + args.seed_orders))
            for name, weights in runs.items():
                script = lua_script(name, weights, order_body, paths, targets)
                results[name] = run_wrk(base_url, script, args.seconds, args.connections)
                print(f"{name}: {results[name]['rps']:.0f} req/s", file=sys.stderr)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)

    wanted = {
        "orders": need["wall_per_s"]["order"],
        "ships": need["wall_per_s"]["ship"],
        "views": need["wall_per_s"]["view"],
        "mixed": need["busiest_wall_per_s"],
    }
    report = {
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "cores": "store on core 0, wrk -t1 on core 1",
        "seconds": args.seconds,
        "connections": args.connections,
        "need": need,
        "results": results,
        "headroom": {k: results[k]["rps"] / wanted[k] if wanted[k] else math.inf for k in results},
    }
    OUT.mkdir(exist_ok=True)
    path = OUT / f"store-{report['when'].replace('-', '').replace(':', '')}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print("| run | sustained req/s (wall) | p50 ms | p99 ms | errors | profile peak | headroom |")
    print("|---|---|---|---|---|---|---|")
    for name, r in results.items():
        errors = r["status_errors"] + r["socket_errors"]
        print(
            f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {errors} "
            f"| {wanted[name]:,.0f} | {report['headroom'][name]:.1f}× |"
        )
    print(f"\nwritten {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
