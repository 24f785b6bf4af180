#!/usr/bin/env python3
"""Summarises ONNX Runtime profiles (-Dpasta.ort.profile=PREFIX): per run, the nodes executed and the time in
them, by operator and by execution provider, and how much of a run is outside the nodes (launch and host work)."""
import collections
import json
import sys

for path in sys.argv[1:]:
    events = json.load(open(path))
    runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    nodes = [e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")]
    if not runs:
        print(f"{path}: no runs")
        continue
    steady = runs[len(runs) // 2:]
    start = steady[0]["ts"]
    in_steady = [n for n in nodes if n["ts"] >= start]
    per_run = len(in_steady) / len(steady)
    run_us = sum(r["dur"] for r in steady) / len(steady)
    node_us = sum(n["dur"] for n in in_steady) / len(steady)
    print(f"{path}: {len(runs)} runs; a steady run {run_us:.0f} us, {per_run:.0f} nodes, {node_us:.0f} us in them "
          f"({run_us - node_us:.0f} us outside)")
    by_op = collections.defaultdict(lambda: [0, 0.0])
    by_ep = collections.defaultdict(lambda: [0, 0.0])
    for n in in_steady:
        a = n.get("args", {})
        by_op[a.get("op_name", "?")][0] += 1
        by_op[a.get("op_name", "?")][1] += n["dur"]
        by_ep[a.get("provider", "?")][0] += 1
        by_ep[a.get("provider", "?")][1] += n["dur"]
    k = len(steady)
    for ep, (c, d) in sorted(by_ep.items(), key=lambda x: -x[1][1]):
        print(f"  {ep:28s} {c / k:6.0f} nodes {d / k:8.0f} us")
    for op, (c, d) in sorted(by_op.items(), key=lambda x: -x[1][1])[:14]:
        print(f"  {op:28s} {c / k:6.0f} nodes {d / k:8.0f} us")
