#!/usr/bin/env python3
"""Simulated atrophy on real brains: `swiftreg longitudinal` against known volume changes.

Whole-brain cases: each skull-stripped subject (clapirn A/B, symnet A/B, lapirn A/B) loses 0.5, 1
and 2 % of its brain volume (`swiftreg synth atrophy`, the threshold mask as the region, the
tissue moving in a band of σ 2 mm at the brain's edge), and the follow-up is moved by 2° and
1.5 mm; both scans get independent noise (2 % of the 99th percentile). Structure cases: two whole-head
label maps painted with a T1-like contrast (`synth contrast --seed 7`), hippocampi (17, 53) and
lateral ventricles (4, 43) changed by −5 % and +10 %, measured per label through --labels.
Every case also runs with the inputs swapped; the swapped truth is 100·(1/(1 + c/100) − 1).
With --ants, ANTs (antspyx: `ants.registration` Rigid, then SyNOnly from it on the pair, then
`ants.create_jacobian_determinant_image` of the SyN warp, integrated over the baseline's region)
runs on the A subjects' whole-brain cases at −1 %; ANTs' plain `SyN` (affine + SyN) is recorded too: its affine
stage absorbs part of a global change as scaling. Cases whose outputs exist are read, not rerun.

Usage: scripts/longitudinal-sim.py [--out DIR] [--threads 2] [--quick] [--ants] [--part brain|structures]
                                   [--ants-python peers/venv/bin/python] [--record bench/results/longitudinal_sim.json]
"""
import argparse, json, os, subprocess, sys, time

import nibabel as nib
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.environ.get("SWIFTREG_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
BRAINS = {"clapirnA": "brain/clapirn/image_A_fullsize.nii.gz", "clapirnB": "brain/clapirn/image_B_fullsize.nii.gz",
          "symnetA": "brain/symnet/image_A_full_size.nii.gz", "symnetB": "brain/symnet/image_B_full_size.nii.gz",
          "lapirnA": "brain/lapirn/image_A_160x192x144.nii.gz", "lapirnB": "brain/lapirn/image_B_160x192x144.nii.gz"}
MAPS = ["01", "02"]
STRUCTURES = {"hippocampus": [17, 53], "ventricles": [4, 43]}

ANTS_CODE = r"""
import sys, json, numpy as np, ants
bl, fu, out = sys.argv[1:4]
f, m = ants.image_read(bl), ants.image_read(fu)
import time; t = time.time()
rigid = ants.registration(fixed=f, moving=m, type_of_transform="Rigid")
reg = ants.registration(fixed=f, moving=m, type_of_transform="SyNOnly", initial_transform=rigid["fwdtransforms"][0])
seconds = time.time() - t
b = f.numpy()
mask = b > 0.1 * np.percentile(b, 99)
def change(warp):
    jac = ants.create_jacobian_determinant_image(f, warp).numpy()
    return float(100 * (jac[mask].mean() - 1))
t = time.time()
plain = ants.registration(fixed=f, moving=m, type_of_transform="SyN")
json.dump({"percent": change(reg["fwdtransforms"][0]), "seconds": seconds, "plainSyN": change(plain["fwdtransforms"][0]),
           "plainSeconds": time.time() - t}, open(out, "w"))
"""


def run(cmd):
    start = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.time() - start


def longitudinal(args, bl, fu, prefix, labels=None):
    if os.path.exists(prefix + "_summary.json"):
        s = json.load(open(prefix + "_summary.json"))
        return s, sum(p["seconds"] for p in s["phases"])
    cmd = [args.swiftreg, "longitudinal", bl, fu, "-o", prefix, "--threads", str(args.threads), "-q"]
    if labels:
        cmd += ["--labels", labels]
    seconds = run(cmd)
    s = json.load(open(prefix + "_summary.json"))
    return s, seconds


def swapped(c):
    return 100 * (1 / (1 + c / 100) - 1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="/tmp/swiftreg-longitudinal-sim")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="one subject, one map")
    p.add_argument("--part", choices=["brain", "structures"], help="run only the whole-brain or only the structure cases")
    p.add_argument("--ants", action="store_true")
    p.add_argument("--ants-python", default=os.path.join(ROOT, "peers", "venv", "bin", "python"))
    p.add_argument("--swiftreg", default=os.path.join(ROOT, ".build", "release", "swiftreg"))
    p.add_argument("--record")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    brains = {} if args.part == "structures" else dict(list(BRAINS.items())[:1]) if args.quick else BRAINS
    maps = [] if args.part == "brain" else MAPS[:1] if args.quick else MAPS
    rows = []
    for k, (name, rel) in enumerate(brains.items()):
        bl = os.path.join(DATA, rel)
        if not os.path.exists(bl):
            print(f"skipping {name}: {bl} missing", file=sys.stderr)
            continue
        for change in [-0.5, -1.0, -2.0]:
            tag = f"{args.out}/{name}_{change:+.1f}"
            if not os.path.exists(tag + "_truth.json"):
                run([args.swiftreg, "synth", "atrophy", bl, f"--change={change}", "--noise", "0.02", "--motion", "2,1.5",
                     "--seed", str(11 + k), "-o", tag])
            truth = json.load(open(tag + "_truth.json"))["percentVolumeChange"]
            base = tag + "_baseline.nii.gz"
            fwd, seconds = longitudinal(args, base, tag + "_followup.nii.gz", tag + "_fwd")
            back, _ = longitudinal(args, tag + "_followup.nii.gz", base, tag + "_back")
            row = {"case": name, "region": "brain", "truth": truth, "detJ": fwd["percentVolumeChange"],
                   "boundaryShift": fwd["boundaryShiftPercentVolumeChange"], "swappedTruth": swapped(truth),
                   "swappedDetJ": back["percentVolumeChange"], "swappedBoundaryShift": back["boundaryShiftPercentVolumeChange"],
                   "seconds": seconds, "rotationFound": fwd["rotationDegrees"]}
            if args.ants and change == -1.0 and name.endswith("A"):
                out = tag + "_ants.json"
                if not os.path.exists(out):
                    subprocess.run([args.ants_python, "-c", ANTS_CODE, base, tag + "_followup.nii.gz", out], check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                a = json.load(open(out))
                row["ants"], row["antsSeconds"] = a["percent"], a["seconds"]
                row["antsPlainSyN"] = a.get("plainSyN")
            rows.append(row)
            print(json.dumps(row), flush=True)
    for m in maps:
        seg = os.path.join(DATA, "brain", "synthseg_label_maps", f"training_seg_{m}.nii.gz")
        if not os.path.exists(seg):
            print(f"skipping map {m}: {seg} missing", file=sys.stderr)
            continue
        image = f"{args.out}/map{m}.nii.gz"
        if not os.path.exists(image):
            run([args.swiftreg, "synth", "contrast", seg, "--seed", "7", "-o", image, "--labels-output", f"{args.out}/map{m}_labels.nii.gz"])
        labels = f"{args.out}/map{m}_labels.nii.gz"
        for structure, values in STRUCTURES.items():
            for change in [-5.0, 10.0]:
                tag = f"{args.out}/map{m}_{structure}_{change:+.0f}"
                cmd = [args.swiftreg, "synth", "atrophy", image, "--labels", labels, f"--change={change}", "--noise", "0.02",
                       "--motion", "2,1.5", "--seed", "5", "-o", tag]
                for v in values:
                    cmd += ["--label", str(v)]
                if not os.path.exists(tag + "_truth.json"):
                    run(cmd)
                truth = json.load(open(tag + "_truth.json"))["labelChanges"]
                base = tag + "_baseline.nii.gz"
                fwd, seconds = longitudinal(args, base, tag + "_followup.nii.gz", tag + "_fwd", labels=labels)
                back, _ = longitudinal(args, tag + "_followup.nii.gz", base, tag + "_back", labels=tag + "_followup_labels.nii.gz")
                found = {l["label"]: l["change"]["percentVolumeChange"] for l in fwd["labels"]}
                foundBack = {l["label"]: l["change"]["percentVolumeChange"] for l in back["labels"]}
                for v in values:
                    row = {"case": f"map{m}", "region": f"{structure} {v}", "truth": truth[str(v)], "detJ": found[v],
                           "swappedTruth": swapped(truth[str(v)]), "swappedDetJ": foundBack[v], "seconds": seconds}
                    rows.append(row)
                    print(json.dumps(row), flush=True)

    brain = [r for r in rows if r["region"] == "brain"]
    structures = [r for r in rows if r["region"] != "brain"]
    def mae(rs, key, truth="truth"):
        return float(np.mean([abs(r[key] - r[truth]) for r in rs])) if rs else None
    summary = {
        "brainCases": len(brain), "structureCases": len(structures),
        "brainMAE_detJ": mae(brain, "detJ"), "brainMAE_boundaryShift": mae(brain, "boundaryShift"),
        "brainMAE_swapped_detJ": mae(brain, "swappedDetJ", "swappedTruth"),
        "brainSymmetry_detJ": float(np.mean([abs(r["swappedDetJ"] - swapped(r["detJ"])) for r in brain])) if brain else None,
        "structureMAE_detJ": mae(structures, "detJ"), "structureMAE_swapped_detJ": mae(structures, "swappedDetJ", "swappedTruth"),
        "antsBrainMAE": mae([r for r in brain if "ants" in r], "ants"),
        "antsPlainSyNBrainMAE": mae([r for r in brain if r.get("antsPlainSyN") is not None], "antsPlainSyN"),
        "oursOnAntsCasesMAE": mae([r for r in brain if "ants" in r], "detJ"),
        "antsCases": sum(1 for r in brain if "ants" in r),
    }
    print("| case | region | truth % | det J % | boundary shift % | swapped truth % | swapped det J % | ANTs % |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        f = lambda k: f"{r[k]:.3f}" if k in r else ""
        print(f"| {r['case']} | {r['region']} | {f('truth')} | {f('detJ')} | {f('boundaryShift')} | {f('swappedTruth')} | {f('swappedDetJ')} | {f('ants')} |")
    print(json.dumps(summary, indent=1))
    json.dump({"rows": rows, "summary": summary}, open(os.path.join(args.out, "results.json"), "w"), indent=1)
    if args.record:
        json.dump({"rows": rows, "summary": summary, "date": time.strftime("%Y-%m-%d")}, open(args.record, "w"), indent=1)


if __name__ == "__main__":
    main()
