#!/usr/bin/env python3
"""The 1-thread → 2-thread speed-up of `swiftreg register --preset syn` on the lapirn pair A → B, beside
this machine's own ceiling measured in the same round.

Each round runs, one after another: a 1-thread registration alone; two independent 1-thread
registrations at once; a 2-thread registration. The speed-up is (1 thread alone) / (2 threads); the
ceiling is 2 × (1 thread alone) / (the slower of the two run at once): what two cores give two
independent copies of the work, with no thread ever waiting for another. A speed-up below the
ceiling is the program's; the gap between the ceiling and 2 is the machine's (shared caches, memory
and, on a VM, the host). The summary gives the medians of both and of their ratio round by round. Wall times of whole commands, reading and writing included. The machine's
speed drifts within an hour, which is why every round measures all three.

Results go to bench/results/thread_scaling.json and a summary to stdout.

Usage: bench/thread_scaling.py [--rounds 6] [--binary .build/release/swiftreg]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from run import require_native

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/release/swiftreg"), help="built by scripts/build.sh")
    parser.add_argument("--data", default=os.path.join(ROOT, "../shared/data"), help="the shared data folder")
    parser.add_argument("--results", default=os.path.join(ROOT, "bench/results/thread_scaling.json"))
    parser.add_argument("--allow-portable", action="store_true", help="time a portable build (default: native builds only)")
    args = parser.parse_args()
    pair = os.path.join(args.data, "brain/lapirn")
    fixed, moving = (os.path.join(pair, f"image_{s}_160x192x144.nii.gz") for s in "BA")
    for path in (args.binary, fixed, moving):
        if not os.path.exists(path):
            sys.exit(f"{path} not found (build with scripts/build.sh; the images come from ../shared/data)")
    require_native(args.binary, args.allow_portable)

    with tempfile.TemporaryDirectory() as work:
        def start(name, threads):
            cmd = [args.binary, "register", "-f", fixed, "-m", moving, "--preset", "syn", "--threads", str(threads),
                   "-o", os.path.join(work, name), "--quiet"]
            return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE), time.monotonic()

        def finish(started):
            process, began = started
            _, err = process.communicate()
            if process.returncode != 0:
                sys.exit(f"swiftreg exited with {process.returncode}:\n{err.decode()[-2000:]}")
            return time.monotonic() - began

        rounds = []
        for r in range(args.rounds):
            alone = finish(start("alone", 1))
            a, b = start("first", 1), start("second", 1)
            together = [finish(a), finish(b)]
            two = finish(start("two", 2))
            ceiling, speedup = 2 * alone / max(together), alone / two
            rounds.append({"one_thread_s": alone, "two_at_once_s": together, "two_threads_s": two,
                           "ceiling": ceiling, "speedup": speedup})
            print(f"round {r + 1}: 1 thread {alone:.2f} s, two at once {together[0]:.2f} / {together[1]:.2f} s, "
                  f"2 threads {two:.2f} s: ceiling {ceiling:.3f}×, speed-up {speedup:.3f}× ({100 * speedup / ceiling:.0f} % of it)",
                  flush=True)

    for r in rounds:
        r["share_of_ceiling"] = r["speedup"] / r["ceiling"]
    summary = {key: statistics.median(r[key] for r in rounds) for key in ("ceiling", "speedup", "share_of_ceiling")}
    print(f"median ceiling {summary['ceiling']:.3f}×, median speed-up {summary['speedup']:.3f}×, "
          f"median share of the round's ceiling {100 * summary['share_of_ceiling']:.0f} %")
    os.makedirs(os.path.dirname(args.results), exist_ok=True)
    with open(args.results, "w") as f:
        json.dump({"binary": os.path.relpath(args.binary, ROOT), "date": time.strftime("%Y-%m-%d %H:%M"),
                   "median": summary, "rounds": rounds}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
