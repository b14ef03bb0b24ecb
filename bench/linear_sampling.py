"""Which image the linear stages sample in (issue 37): the ten whole-head label maps painted at 2 mm
(`swiftreg synth contrast --shrink 2`, not cropped: map 01 holds the neck, others end at the
cerebellum), every ordered pair of the ten registered with the `affine` preset, once with
`--linear-sampling smaller` (the default) and once with `--linear-sampling fixed` (as ANTs and
elastix); mean Dice of the moving labels carried by the affine, over the 30 labels of the data
README (absent labels count 0). Two cohorts: one contrast for all (`--seed 7`) and a contrast per
map (`--seed 1NN`).

Usage: python3 bench/linear_sampling.py [--out DIR] [--record bench/results/linear_sampling.json]
"""
import argparse, json, os, subprocess, time
from concurrent.futures import ThreadPoolExecutor
import numpy as np
import nibabel as nib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAPS = os.path.join(os.path.dirname(ROOT), "shared", "data", "brain", "synthseg_label_maps")
SWIFTREG = os.path.join(ROOT, ".build", "release", "swiftreg")
LABELS30 = [2, 3, 4, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 24, 28, 31, 41, 42, 43, 46, 47, 49, 50, 51, 52, 53, 54, 60, 63]
NAMES = [f"{i:02d}" for i in range(1, 11)]


def dice(a, b):
    out = []
    for label in LABELS30:
        x, y = a == label, b == label
        total = x.sum() + y.sum()
        out.append(2 * (x & y).sum() / total if total else 0.0)
    return float(np.mean(out))


def cohort(out, seed):
    """Paints the ten maps; returns their labels as arrays."""
    labels = {}
    for m in NAMES:
        image, lab = f"{out}/c{m}.nii.gz", f"{out}/l{m}.nii.gz"
        if not os.path.exists(lab):
            subprocess.run([SWIFTREG, "synth", "contrast", f"{MAPS}/training_seg_{m}.nii.gz", "--seed", seed(m), "--shrink", "2",
                            "--labels-output", lab, "-o", image], check=True, stdout=subprocess.DEVNULL)
        labels[m] = np.asarray(nib.load(lab).dataobj).astype(np.int32)
    return labels


def register(out, labels, sampling, pair):
    f, m = pair
    prefix = f"{out}/{sampling}_{f}_{m}"
    subprocess.run([SWIFTREG, "register", "-f", f"{out}/c{f}.nii.gz", "-m", f"{out}/c{m}.nii.gz", "--preset", "affine",
                    "--linear-sampling", sampling, "-o", prefix, "-q", "--threads", "1"], check=True)
    subprocess.run([SWIFTREG, "apply", "-i", f"{out}/l{m}.nii.gz", "-r", f"{out}/c{f}.nii.gz", "-t", prefix + "_affine.txt",
                    "--interp", "label", "-o", prefix + "_labels.nii.gz"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sampled = json.load(open(prefix + "_summary.json"))["linearSampledIn"]
    return dice(labels[f], np.asarray(nib.load(prefix + "_labels.nii.gz").dataobj)), sampled


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="/tmp/swiftreg-linear-sampling")
    p.add_argument("--record")
    args = p.parse_args()
    pairs = [(f, m) for f in NAMES for m in NAMES if f != m]
    cohorts = {"one contrast": lambda m: "7", "a contrast per map": lambda m: "1" + m}
    result = {"date": time.strftime("%Y-%m-%d"), "pairs": len(pairs), "cohorts": {}}
    for name, seed in cohorts.items():
        out = os.path.join(args.out, name.replace(" ", "_"))
        os.makedirs(out, exist_ok=True)
        labels = cohort(out, seed)
        rows = {}
        for sampling in ["smaller", "fixed"]:
            start = time.time()
            with ThreadPoolExecutor(2) as pool:   # two registrations of one thread each
                found = list(pool.map(lambda pair: register(out, labels, sampling, pair), pairs))
            d = np.array([x for x, _ in found])
            rows[sampling] = {"meanDice": float(d.mean()), "worstDice": float(d.min()), "below03": int((d < 0.3).sum()),
                              "sampledInMoving": sum(s == "moving" for _, s in found), "seconds": time.time() - start,
                              "dice": {f"{f}_{m}": x for (f, m), (x, _) in zip(pairs, found)}}
            r = rows[sampling]
            print(f"{name}, {sampling}: mean {r['meanDice']:.3f}, worst {r['worstDice']:.3f}, below 0.3: {r['below03']}, "
                  f"sampled in the moving image: {r['sampledInMoving']}, {r['seconds']:.0f} s", flush=True)
        result["cohorts"][name] = rows
    if args.record:
        json.dump(result, open(args.record, "w"), indent=1)


if __name__ == "__main__":
    main()
