#!/usr/bin/env python3
"""Abnormality detection on real brains: normative models, simulated lesions and local atrophy.

The atlas is lapirn A. Two normative models (`swiftreg normative build`) are built from six
healthy real subjects each, each leaving out one subject for testing: lapirn B (model from clapirn
A/B, symnet A/B, c2fvit A/B) and symnet B (model from clapirn A/B, symnet A, c2fvit A/B, lapirn B).
Each held-out subject is scored unmodified (false positives: clusters above |z| 3), with lesions
(`swiftreg synth lesion`, radius 5, 8, 12 and 15 mm, mass effect 1–4 mm, dark: 0.25 of the 99th
percentile) placed in tissue (the brightest, most uniform 15-voxel neighbourhoods at least r + 5 mm
inside the brain, a different place for each), and with a local atrophy (a 10 mm ball losing 20 %,
`synth atrophy`). A lesion is found when a cluster's peak lies within 10 mm of its centre; the
voxel-wise ROC AUC of the combined z-map (subject space) separates lesion voxels from the rest of
the brain.

Usage: scripts/abnormality-sim.py [--out DIR] [--threads 2] [--plan FILE] [--record bench/results/abnormality_sim.json]
"""
import argparse, json, os, subprocess, sys, time

import nibabel as nib
import numpy as np
from scipy import ndimage as nd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("SWIFTREG_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
B = "brain/"
ATLAS = B + "lapirn/image_A_160x192x144.nii.gz"
SUBJECTS = {"clapirnA": B + "clapirn/image_A_fullsize.nii.gz", "clapirnB": B + "clapirn/image_B_fullsize.nii.gz",
            "symnetA": B + "symnet/image_A_full_size.nii.gz", "symnetB": B + "symnet/image_B_full_size.nii.gz",
            "c2fvitA": B + "c2fvit/image_A.nii.gz", "c2fvitB": B + "c2fvit/image_B.nii.gz",
            "lapirnB": B + "lapirn/image_B_160x192x144.nii.gz"}
HELD_OUT = ["lapirnB", "symnetB"]
LESIONS = [(5, 1), (8, 4), (12, 2), (15, 3)]


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def lps_of(img, ijk):
    p = img.affine @ np.array([*ijk, 1.0])
    return [-p[0], -p[1], p[2]]


def places(path, radii):
    """Centres (voxel indices) in bright, uniform tissue, far enough inside the brain, apart."""
    img = nib.load(path)
    a = np.asarray(img.dataobj).astype(float)
    brain = a > 0.1 * np.percentile(a, 99)
    depth = nd.distance_transform_edt(brain, sampling=img.header.get_zooms()[:3])
    mean = nd.uniform_filter(a, 15)
    sd = np.sqrt(np.maximum(nd.uniform_filter(a * a, 15) - mean ** 2, 0))
    score = mean - 2 * sd
    chosen = []
    for r in radii:
        s = np.where(depth > r + 5, score, -np.inf)
        for c in chosen:
            grid = np.indices(a.shape).transpose(1, 2, 3, 0)
            s[np.linalg.norm(grid - np.array(c), axis=-1) < 25] = -np.inf
        chosen.append(np.unravel_index(np.argmax(s), a.shape))
    return img, brain, chosen


def auc(scores, truth):
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = truth.sum()
    return float((ranks[truth].sum() - pos * (pos + 1) / 2) / (pos * (len(truth) - pos)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="/tmp/swiftreg-abnormality-sim")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--swiftreg", default=os.path.join(ROOT, ".build", "release", "swiftreg"))
    p.add_argument("--plan", help="a registration plan file for the normative models (default: the syn preset)")
    p.add_argument("--record")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    sw, out, t = args.swiftreg, args.out, ["--threads", str(args.threads)]
    atlas = os.path.join(DATA, ATLAS)
    if not os.path.exists(atlas):
        sys.exit(f"{atlas} missing")
    rows, times = [], {}
    for held in HELD_OUT:
        norm = f"{out}/norm_without_{held}"
        healthy = [os.path.join(DATA, v) for k, v in SUBJECTS.items() if k != held][:6]
        if not os.path.exists(norm + "/model.json"):
            start = time.time()
            run([sw, "normative", "build", "--atlas", atlas, "--healthy", *healthy, "-o", norm, "-q", *t]
                + (["--plan", args.plan] if args.plan else []))
            times[f"normative build without {held}"] = time.time() - start
        subject = os.path.join(DATA, SUBJECTS[held])

        def score(image, prefix, truth_mask=None, centre=None):
            start = time.time()
            run([sw, "abnormality", image, "--atlas", atlas, "--normative", norm, "-o", prefix, "-q", *t])
            seconds = time.time() - start
            s = json.load(open(prefix + "_summary.json"))
            clusters = s["subjectClusters"]["clusters"]
            row = {"seconds": seconds, "clusters": len(clusters), "largestFalse": 0.0}
            z = np.asarray(nib.load(prefix + "_z_combined_subject.nii.gz").dataobj)
            if centre is not None:
                d = [np.linalg.norm(np.array(c["peakPoint"]) - np.array(centre)) for c in clusters]
                row["nearestPeakMM"] = float(min(d)) if d else None
                row["found"] = bool(d and min(d) <= 10)
                near = [c for c, dist in zip(clusters, d) if dist <= 10]
                row["largestFalse"] = max([c["volume"] for c, dist in zip(clusters, d) if dist > 10] + [0.0])
                row["foundVolume"] = max([c["volume"] for c in near] + [0.0])
            else:
                row["largestFalse"] = max([c["volume"] for c in clusters] + [0.0])
            if truth_mask is not None:
                row["auc"] = auc(z[brain], truth_mask[brain])
            return row

        img, brain, centres = places(subject, [r for r, _ in LESIONS] + [10])
        row = score(subject, f"{out}/{held}_healthy")
        row.update(case=f"{held} unmodified")
        rows.append(row)
        print(json.dumps(row), flush=True)
        for (radius, mass), c in zip(LESIONS, centres):
            centre = lps_of(img, c)
            tag = f"{out}/{held}_lesion_r{radius}_m{mass}"
            run([sw, "synth", "lesion", subject, f"--center={centre[0]},{centre[1]},{centre[2]}", "--radius", str(radius),
                 "--mass-effect", str(mass), "-o", tag])
            truth = np.asarray(nib.load(tag + "_lesion.nii.gz").dataobj) > 0
            row = score(tag + "_image.nii.gz", tag, truth, centre)
            row.update(case=f"{held} lesion r {radius} mm, mass {mass} mm", radius=radius, mass=mass, centre=centre)
            rows.append(row)
            print(json.dumps(row), flush=True)
        # Local atrophy: a 10 mm ball of tissue losing 20 %.
        c = centres[-1]
        ball = np.zeros(brain.shape, np.uint8)
        grid = np.indices(brain.shape).transpose(1, 2, 3, 0) * np.array(img.header.get_zooms()[:3])
        ball[np.linalg.norm(grid - np.array(c) * np.array(img.header.get_zooms()[:3]), axis=-1) <= 10] = 1
        tag = f"{out}/{held}_atrophy"
        nib.save(nib.Nifti1Image(ball, img.affine, img.header), tag + "_region.nii.gz")
        run([sw, "synth", "atrophy", subject, "--mask", tag + "_region.nii.gz", "--change=-20", "-o", tag])
        row = score(tag + "_followup.nii.gz", tag, ball > 0, lps_of(img, c))
        row.update(case=f"{held} local atrophy −20 % (10 mm ball)")
        rows.append(row)
        print(json.dumps(row), flush=True)

    lesions = [r for r in rows if "radius" in r]
    big = [r for r in lesions if r["radius"] >= 8]
    healthy = [r for r in rows if "unmodified" in r["case"]]
    summary = {
        "lesionsRadius8OrMoreFound": f"{sum(r['found'] for r in big)}/{len(big)}",
        "lesionsFound": f"{sum(r['found'] for r in lesions)}/{len(lesions)}",
        "meanAUC": float(np.mean([r["auc"] for r in lesions])), "worstAUC": float(min(r["auc"] for r in lesions)),
        "largestFalsePositiveOnUnmodifiedMM3": max(r["largestFalse"] for r in healthy),
        "clustersOnUnmodified": [r["clusters"] for r in healthy],
        "secondsPerSubject": float(np.mean([r["seconds"] for r in rows])), "buildSeconds": times,
    }
    print("| case | clusters | found | nearest peak mm | AUC | largest other cluster mm³ |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        f = lambda k, fmt: (fmt % r[k]) if r.get(k) is not None else ""
        print(f"| {r['case']} | {r['clusters']} | {f('found', '%s')} | {f('nearestPeakMM', '%.1f')} | {f('auc', '%.3f')} | {r['largestFalse']:.0f} |")
    print(json.dumps(summary, indent=1))
    json.dump({"rows": rows, "summary": summary}, open(f"{out}/results.json", "w"), indent=1)
    if args.record:
        json.dump({"rows": rows, "summary": summary, "date": time.strftime("%Y-%m-%d")}, open(args.record, "w"), indent=1)


if __name__ == "__main__":
    main()
