#!/usr/bin/env python3
"""The Dice / regularity trade-off of SwiftReg's SyN over its smoothing, step and iteration settings,
on the lapirn pair (the data behind the `syn` preset's choice).

Each setting runs `swiftreg register --preset syn` with the given --update-sigma, --total-sigma,
--volume-penalty, --volume-tolerance, --step and --deformable-iterations, then `swiftreg evaluate`
scores it: mean Dice of labels 1 and 2 (nearest-neighbour warp of the moving labels), det J ≤ 0 % and
SDlogJ of the whole transform over the fixed brain, and the registration's wall time. Results go to
bench/results/syn_tradeoff.json (syn_tradeoff_GRID.json for the other grids) and a Markdown table to stdout.

A step may be one value for every level or one per level ("0.4x0.4x0.3"). The "steps" grid runs
step and iteration schedules in pairs (its "schedules") rather than every combination.

Usage: bench/syn_tradeoff.py [--threads 2] [--direction AB|BA|both] [--grid default|small|volume|tolerance|iterations|steps]
"""
import argparse
import itertools
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from run import run  # noqa: E402  (the same command runner as the benchmark)

GRIDS = {
    "default": {"update": [3, 4, 5], "total": [0.5, 0.75, 1.0], "volume": [0], "tolerance": [0], "step": [0.25],
                "iterations": ["100x70x20"]},
    "small": {"update": [3, 5], "total": [0.5, 1.0], "volume": [0], "tolerance": [0], "step": [0.25], "iterations": ["100x70x20"]},
    "volume": {"update": [2.5, 3], "total": [0], "volume": [0, 1, 1.25, 1.5], "tolerance": [0], "step": [0.25],
               "iterations": ["100x70x20"]},
    "tolerance": {"update": [3], "total": [0.25], "volume": [2, 2.5], "tolerance": [0.15], "step": [0.25], "iterations": ["100x70x20"]},
    "iterations": {"update": [3], "total": [0.25], "volume": [2.5], "tolerance": [0.15], "step": [0.25],
                   "iterations": ["100x70x20", "100x70x18", "100x70x17", "100x70x16", "100x70x15", "100x70x12", "100x100x15",
                                  "100x100x12", "60x70x16"]},
    "steps": {"update": [3], "total": [0.25], "volume": [2.5], "tolerance": [0.15],
              "schedules": [("0.25", "100x70x15"), ("0.35x0.35x0.25", "60x50x15"), ("0.5x0.4x0.25", "40x40x12"),
                            ("0.4x0.4x0.3", "50x40x10"), ("0.35x0.35x0.3", "60x50x12"), ("0.35x0.35x0.33", "60x50x10"),
                            ("0.35x0.35x0.25", "60x50x13"), ("0.4x0.4x0.3", "60x40x12"), ("0.4x0.4x0.3", "60x50x12"),
                            ("0.25x0.25x0.4", "100x70x10")]},
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--direction", default="AB", choices=["AB", "BA", "both"])
    parser.add_argument("--grid", default="default", choices=sorted(GRIDS))
    parser.add_argument("--update", help="comma-separated update sigmas (overrides the grid)")
    parser.add_argument("--total", help="comma-separated total-field sigmas (overrides the grid)")
    parser.add_argument("--volume", help="comma-separated volume penalties (overrides the grid)")
    parser.add_argument("--tolerance", help="comma-separated volume tolerances (overrides the grid)")
    parser.add_argument("--step", help="comma-separated steps (overrides the grid)")
    parser.add_argument("--iterations", help="comma-separated iteration schedules such as 100x70x20 (overrides the grid)")
    parser.add_argument("--data", default=os.path.join(ROOT, "../shared/data"))
    parser.add_argument("--work", default=os.path.join(ROOT, "out/syn_tradeoff"))
    parser.add_argument("--out", help="results file (default bench/results/syn_tradeoff[_GRID].json)")
    args = parser.parse_args()
    grid = dict(GRIDS[args.grid])
    args.out = args.out or os.path.join(ROOT, "bench/results", "syn_tradeoff" + ("" if args.grid == "default" else "_" + args.grid) + ".json")
    for key, cast in (("update", float), ("total", float), ("volume", float), ("tolerance", float), ("step", str), ("iterations", str)):
        if getattr(args, key):
            grid[key] = [cast(v) for v in getattr(args, key).split(",")]
    if "schedules" in grid and (args.step or args.iterations):
        sys.exit("--step and --iterations replace a grid's step × iteration product; the steps grid pairs them instead")
    schedules = grid.get("schedules") or list(itertools.product([str(v) for v in grid["step"]], grid["iterations"]))
    swiftreg = os.path.join(ROOT, ".build/release/swiftreg")
    lap = os.path.join(args.data, "brain/lapirn")
    if not os.path.isdir(lap):
        sys.exit(f"{lap} not found")
    os.makedirs(args.work, exist_ok=True)
    lg = os.path.join(args.work, "log.txt")
    image = {k: f"{lap}/image_{k}_160x192x144.nii.gz" for k in "AB"}
    seg_a = os.path.join(args.work, "lapirn_A_seg.nii.gz")
    if not os.path.exists(seg_a):
        run([swiftreg, "apply", "-i", f"{lap}/image_A_160x192x144_seg.nii.gz", "-r", image["A"], "--interp", "nearest", "-o", seg_a], lg)
    seg = {"A": seg_a, "B": f"{lap}/image_B_160x192x144_seg.nii.gz"}
    directions = [("A", "B"), ("B", "A")] if args.direction == "both" else [(args.direction[0], args.direction[1])]
    rows = []
    print("| moving → fixed | update σ | total σ | volume penalty | tolerance | step | iterations | Dice | det J ≤ 0 % | SDlogJ | s |\n"
          "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for (m, f), update, total, volume, tolerance, (step, its) in itertools.product(
            directions, grid["update"], grid["total"], grid["volume"], grid["tolerance"], schedules):
        p = os.path.join(args.work, f"{m}{f}_u{update}_t{total}_v{volume}_tol{tolerance}_s{step}_{its}")
        t0 = time.time()
        run([swiftreg, "register", "-f", image[f], "-m", image[m], "-o", p, "--preset", "syn", "--update-sigma", str(update),
             "--total-sigma", str(total), "--volume-penalty", str(volume),
             "--volume-tolerance", str(tolerance), "--step", step, "--deformable-iterations", its, "--threads", str(args.threads),
             "--quiet"], lg)
        seconds = time.time() - t0
        chain = ["-t", p + "_warp.nii.gz", "-t", p + "_affine.txt"]
        run([swiftreg, "apply", "-i", seg[m], "-r", image[f], "--interp", "nearest", "-o", p + "_labels.nii.gz"] + chain, lg)
        run([swiftreg, "compose", "-r", image[f], "-o", p + "_field.nii.gz"] + chain, lg)
        run([swiftreg, "evaluate", "--labels", seg[f], p + "_labels.nii.gz", "--no-distances", "--warp", p + "_field.nii.gz",
             "--mask", seg[f], "--json", p + "_evaluation.json"], lg)
        e = json.load(open(p + "_evaluation.json"))
        row = {"moving": m, "fixed": f, "update_sigma": update, "total_sigma": total, "volume_penalty": volume, "volume_tolerance": tolerance,
               "step": float(step) if "x" not in step else step,
               "iterations": its,
               "dice": e["labels"]["meanDice"], "folded_percent": 100 * e["jacobian"]["foldedFraction"],
               "sdlogj": e["jacobian"]["sdLogJ"], "seconds": round(seconds, 1)}
        rows.append(row)
        print(f"| {m} → {f} | {update:g} | {total:g} | {volume:g} | {tolerance:g} | {step} | {its} | {row['dice']:.4f} | {row['folded_percent']:.3f} | "
              f"{row['sdlogj']:.3f} | {seconds:.1f} |", flush=True)
        for suffix in ("_warp.nii.gz", "_inverse_warp.nii.gz", "_warped.nii.gz", "_jacobian.nii.gz", "_field.nii.gz"):
            if os.path.exists(p + suffix):
                os.remove(p + suffix)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    json.dump(rows, open(args.out, "w"), indent=1)


if __name__ == "__main__":
    main()
