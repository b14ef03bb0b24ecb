#!/usr/bin/env python3
"""Leave-one-out multi-atlas segmentation on the ten real whole-head label maps.

Every map is painted with one shared T1-like contrast (`swiftreg synth contrast --seed 7`, the
same seed for all, so atlases and targets are one modality). For each target, the other nine are
its atlases: `swiftreg segment --keep-warps --finest-level` registers them once (the whole syn
preset, so every fusion compared uses the same warps) and fuses with JLF; reruns with the same prefix
reuse the registrations for majority, weighted and STAPLE fusion and for `--select 1`. (JLF's
default, the preset without its finest level, is timed at full size in the benchmark's `fullsize`
record.) Each atlas's own warped labels give the single-atlas Dice (the best is the
oracle). With --ants, ANTs' joint label fusion (antspyx `ants.joint_label_fusion`, alpha 0.1,
beta 2, patch radius 2, search radius 3 as antsJointFusion's defaults) runs on the same warped
atlases inside the same mask. Dice is the mean over the 30 FreeSurfer labels of the data README.

Usage: scripts/segment-loo.py [--targets 1,2,…] [--shrink N] [--out DIR] [--threads 2] [--ants]
                              [--ants-python PEERS/venv/bin/python] [--record bench/results/segment_loo.json]
Prints a Markdown table and writes DIR/results.json (and, with --record, the file bench/report.py reads).
"""
import argparse, json, os, subprocess, sys, time

import nibabel as nib
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("SWIFTREG_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
MAPS = os.path.join(DATA, "brain", "synthseg_label_maps")
LABELS30 = [2, 3, 4, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 24, 28, 31, 41, 42, 43, 46, 47, 49, 50, 51, 52, 53, 54, 60, 63]
FUSIONS = ["majority", "weighted", "staple"]


def run(cmd, **kw):
    """Runs a command; returns (wall seconds, its peak resident memory in GB)."""
    start = time.time()
    proc = subprocess.Popen(cmd, **kw)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return time.time() - start, usage.ru_maxrss / 1024 / 1024


def dice(a, b):
    scores = []
    for l in LABELS30:
        x, y = a == l, b == l
        n = x.sum() + y.sum()
        if n:
            scores.append(2 * np.logical_and(x, y).sum() / n)
    return float(np.mean(scores))


def load(path):
    return np.asarray(nib.load(path).dataobj)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--targets", default="1,2,3,4,5,6,7,8,9,10")
    p.add_argument("--shrink", type=int, default=1)
    p.add_argument("--out", default="/tmp/swiftreg-segment-loo")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--swiftreg", default=os.path.join(ROOT, ".build", "release", "swiftreg"))
    p.add_argument("--ants", action="store_true")
    p.add_argument("--ants-python", default=os.path.join(ROOT, "peers", "venv", "bin", "python"))
    p.add_argument("--record", help="also write the run (settings and rows) here, for bench/report.py")
    args = p.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M")
    if not os.path.isdir(MAPS):
        sys.exit(f"no label maps at {MAPS}: set SWIFTREG_SHARED_DATA")
    os.makedirs(args.out, exist_ok=True)
    sr = [args.swiftreg, "--threads", str(args.threads)]
    ids = [f"{k:02d}" for k in range(1, 11)]
    img, seg = {}, {}
    for i in ids:
        img[i] = os.path.join(args.out, f"img_{i}.nii.gz")
        seg[i] = os.path.join(args.out, f"seg_{i}.nii.gz")
        if not os.path.exists(img[i]) or not os.path.exists(seg[i]):
            subprocess.run([args.swiftreg, "synth", "contrast", os.path.join(MAPS, f"training_seg_{i}.nii.gz"), "--seed", "7",
                            "--shrink", str(args.shrink), "-o", img[i], "--labels-output", seg[i]], check=True)
    results = []
    for t in [f"{int(k):02d}" for k in args.targets.split(",")]:
        atlases = [i for i in ids if i != t]
        folder = os.path.join(args.out, f"target_{t}")
        os.makedirs(folder, exist_ok=True)
        prefix = os.path.join(folder, "seg")
        atlas_args = sum((["-a", img[i], seg[i]] for i in atlases), [])
        truth = load(seg[t])
        row = {"target": t}
        wall, rss = run(sr[:1] + ["segment"] + sr[1:] + ["-t", img[t], *atlas_args, "-o", prefix, "--keep-warps", "--finest-level", "--fusion", "jlf", "-q"])
        row["segment_seconds"], row["segment_rss_gb"] = wall, rss
        summary = json.load(open(prefix + "_summary.json"))
        row["phases"] = {ph["name"]: ph["seconds"] for ph in summary["phases"]}
        row["jlf"] = dice(load(prefix + "_labels.nii.gz"), truth)
        for fusion in FUSIONS:
            w, _ = run(sr[:1] + ["segment"] + sr[1:] + ["-t", img[t], *atlas_args, "-o", prefix, "--keep-warps", "--fusion", fusion, "-q"])
            row[fusion] = dice(load(prefix + "_labels.nii.gz"), truth)
            row[fusion + "_seconds"] = w
        # Each atlas alone, through its kept registration (warped labels and images for ANTs too).
        singles = []
        for k, i in enumerate(atlases):
            kept = f"{prefix}_atlas{k + 1:02d}"
            chain = ["-t", kept + "_warp.nii.gz", "-t", kept + "_affine.txt"]
            subprocess.run(sr[:1] + ["apply"] + sr[1:] + ["-i", seg[i], "-r", img[t], *chain, "--interp", "label", "-o", kept + "_labels.nii.gz"],
                           check=True, stderr=subprocess.DEVNULL)
            subprocess.run(sr[:1] + ["apply"] + sr[1:] + ["-i", img[i], "-r", img[t], *chain, "-o", kept + "_image.nii.gz"],
                           check=True, stderr=subprocess.DEVNULL)
            singles.append(dice(load(kept + "_labels.nii.gz"), truth))
        row["single_atlases"] = singles
        row["oracle"] = max(singles)
        w, _ = run(sr[:1] + ["segment"] + sr[1:] + ["-t", img[t], *atlas_args, "-o", prefix, "--keep-warps", "--fusion", "majority",
                                                   "--select", "1", "-q"])
        row["select1"] = dice(load(prefix + "_labels.nii.gz"), truth)
        row["select1_seconds"] = w
        if args.ants:
            row.update(ants_fusion(args, img[t], [f"{prefix}_atlas{k + 1:02d}" for k in range(len(atlases))], folder, truth))
        results.append(row)
        print(json.dumps(row), flush=True)
        json.dump(results, open(os.path.join(args.out, "results.json"), "w"), indent=1)
    table(results)
    if args.record:
        version = subprocess.run([args.swiftreg, "--version"], capture_output=True, text=True).stdout.strip()
        record = {"started": started, "shrink": args.shrink, "threads": args.threads, "swiftreg": version, "targets": results}
        json.dump(record, open(args.record + ".tmp", "w"), indent=1)
        os.replace(args.record + ".tmp", args.record)


ANTS_SCRIPT = r"""
import sys, time, numpy as np, ants
from scipy import ndimage
target, out = sys.argv[1], sys.argv[2]
kept = sys.argv[3:]
t = ants.image_read(target)
labels = [ants.image_read(k + "_labels.nii.gz") for k in kept]
images = [ants.image_read(k + "_image.nii.gz") for k in kept]
# The mask SwiftReg fuses in by default: the atlases' foreground grown by 5 voxels.
fg = np.zeros(t.shape, bool)
for l in labels:
    fg |= l.numpy() != 0
mask = t.new_image_like(ndimage.binary_dilation(fg, np.ones((11, 11, 11), bool)).astype("float32"))
start = time.time()
r = ants.joint_label_fusion(t, mask, atlas_list=images, label_list=labels, beta=2, rad=2, rho=0.1, r_search=3)
print("SECONDS", time.time() - start)
ants.image_write(r["segmentation"], out)
"""


def ants_fusion(args, target, kept, folder, truth):
    out = os.path.join(folder, "ants_jlf_labels.nii.gz")
    start = time.time()
    proc = subprocess.run([args.ants_python, "-c", ANTS_SCRIPT, target, out, *kept], check=True, capture_output=True, text=True)
    seconds = [float(l.split()[1]) for l in proc.stdout.splitlines() if l.startswith("SECONDS")]
    return {"ants_jlf": dice(load(out), truth), "ants_jlf_seconds": seconds[0] if seconds else time.time() - start}


def table(results):
    cols = [("oracle", "best single atlas (oracle)"), ("select1", "--select 1"), ("majority", "majority"), ("weighted", "weighted"),
            ("staple", "STAPLE"), ("jlf", "SwiftReg JLF"), ("ants_jlf", "ANTs joint fusion, same warps")]
    print("\n| method | mean Dice | worst target |")
    print("|---|---|---|")
    for key, name in cols:
        v = [r[key] for r in results if key in r]
        if v:
            print(f"| {name} | {np.mean(v):.4f} | {min(v):.4f} |")
    s = [r["segment_seconds"] for r in results]
    print(f"\nsegment (9 atlases, registration + JLF): mean {np.mean(s):.1f} s, max {max(s):.1f} s; "
          f"peak RSS max {max(r['segment_rss_gb'] for r in results):.2f} GB")


if __name__ == "__main__":
    main()
