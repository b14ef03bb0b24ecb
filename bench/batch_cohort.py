"""Twenty registrations of the painted label-map pairs through `swiftreg batch`, locally and on
the local Slurm (issue 35): the two runs' outputs compared byte for byte; the Slurm array cancelled
once half its tasks are done, `batch --status` shown, and a rerun that finishes the rest without
redoing the finished tasks (each finished task's log holds one attempt). Then an `evaluate` batch
scores the local registrations (Dice of the carried labels). Needs a Slurm (scripts/slurm-local.sh start).

Usage: python3 bench/batch_cohort.py [--out /tmp/batchbench] [--record bench/results/batch_cohort.json]
"""
import argparse, filecmp, json, os, shutil, subprocess, time
from painted_heads import painted_heads

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SWIFTREG = os.path.join(ROOT, ".build", "release", "swiftreg")


def swiftreg(*args, check=True):
    return subprocess.run([SWIFTREG, *args], check=check, capture_output=True, text=True)


def state(folder, task):
    path = os.path.join(folder, "status", task + ".json")
    return json.load(open(path)) if os.path.exists(path) else {}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/batchbench")
    parser.add_argument("--record")
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    images, labels = painted_heads(args.out, SWIFTREG)
    names = [os.path.basename(p)[:-7] for p in images]
    # Twenty ordered pairs: each head fixed against its next and its third-next neighbour.
    pairs = [(i, (i + d) % 10) for d in (1, 3) for i in range(10)]
    ids = [f"{names[f]}_{names[m]}" for f, m in pairs]
    with open(os.path.join(args.out, "register.csv"), "w") as f:
        f.write("id,command,arguments\n")
        for task, (fi, mi) in zip(ids, pairs):
            f.write(f"{task},register,-f {names[fi]}.nii.gz -m {names[mi]}.nii.gz --preset syn -q\n")
    manifest = os.path.join(args.out, "register.csv")
    local, slurm = os.path.join(args.out, "local"), os.path.join(args.out, "slurm")

    start = time.time()
    swiftreg("batch", manifest, "-o", local, "--jobs", "2", "--threads", "1")
    local_seconds = time.time() - start

    start = time.time()
    swiftreg("batch", manifest, "-o", slurm, "--engine", "slurm", "--cpus-per-task", "1", "--mem", "3G")
    jobs = json.load(open(os.path.join(slurm, "batch.json")))["slurmJobs"]
    while sum(state(slurm, t).get("state") == "done" for t in ids) < len(ids) // 2:
        time.sleep(1)
    subprocess.run(["scancel", jobs[0]], check=True)
    while subprocess.run(["squeue", "-h", "-j", ",".join(jobs)], capture_output=True, text=True).stdout.strip():
        time.sleep(1)
    finished = [t for t in ids if state(slurm, t).get("state") == "done"]
    status_after_cancel = swiftreg("batch", "--status", slurm, check=False).stdout
    started = {t: state(slurm, t)["started"] for t in finished}
    rerun = swiftreg("batch", manifest, "-o", slurm, "--engine", "slurm", "--cpus-per-task", "1", "--mem", "3G", "--wait")
    slurm_seconds = time.time() - start
    redone = [t for t in finished if state(slurm, t)["started"] != started[t]
              or open(os.path.join(slurm, "logs", t + ".log")).read().count(f"=== {t}, attempt") != 1]
    results = sorted(f for f in os.listdir(os.path.join(local, "results")) if not f.endswith("_summary.json"))
    different = [f for f in results if not filecmp.cmp(os.path.join(local, "results", f), os.path.join(slurm, "results", f), shallow=False)]
    cancelled = [t for t in ids if t not in finished]
    example_log = open(os.path.join(slurm, "logs", cancelled[0] + ".log")).read() if cancelled else ""

    # The local registrations scored by an evaluate batch.
    with open(os.path.join(args.out, "evaluate.csv"), "w") as f:
        f.write("id,command,arguments\n")
        for task, (fi, mi) in zip(ids, pairs):
            r = f"local/results/{task}"
            f.write(f"{task},evaluate,--labels {names[fi]}_labels.nii.gz {names[mi]}_labels.nii.gz -t {r}_warp.nii.gz -t {r}_affine.txt\n")
    swiftreg("batch", os.path.join(args.out, "evaluate.csv"), "-o", os.path.join(args.out, "scores"), "--jobs", "2", "--threads", "1")
    dice = []
    for t in ids:
        e = json.load(open(os.path.join(args.out, "scores", "results", t + "_evaluation.json")))
        dice.append(e["labels"]["meanDice"])

    result = {
        "data": "the ten synthseg label maps painted with one T1-like contrast at 2 mm (cropped to the head); 20 ordered pairs, "
                "each head fixed against its next and third-next neighbour; register --preset syn",
        "tasks": len(ids), "localSeconds": local_seconds, "localJobs": 2,
        "slurmSeconds": slurm_seconds, "slurmCpusPerTask": 1,
        "doneWhenCancelled": len(finished), "redoneByRerun": redone,
        "outputsCompared": len(results), "outputsDifferent": different,
        "statusAfterCancel": status_after_cancel, "rerunOutput": rerun.stdout,
        "logOfACancelledTask": example_log,
        "meanDice": sum(dice) / len(dice), "dice": dict(zip(ids, dice)),
    }
    print(json.dumps({k: v for k, v in result.items() if k not in ("dice",)}, indent=2))
    if args.record:
        with open(args.record, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
