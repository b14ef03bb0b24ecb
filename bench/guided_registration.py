"""Guided deformable registration (issue 37): SyN (or, with --preset bspline, the B-spline stage) with
and without landmark pairs in its stage (`register --preset syn --landmarks F M
--deformable-landmark-weight W`), TRE at held-out points against a known warp (`swiftreg synth warp`,
up to 15 mm), and folding.

Cases:
  * the lung CT (57×78×64, 2.73×2.73×5 mm) with its 100 landmarks: 20 guide pairs (the fixed point
    and its true place), the other 80 held out;
  * real brains (lapirn A, symnet A): 20 guide pairs found by `swiftreg keypoints --match` (not the
    truth), the strongest 20 of those kept; TRE at the other kept keypoints' true places.

Usage: python3 bench/guided_registration.py [--preset syn|bspline] [--weight 0.2] [--record bench/results/guided_registration.json]
"""
import argparse, json, os, time
import numpy as np
import SimpleITK as sitk
from keypoint_matching import DATA, run


def write_points(points, path):
    with open(path, "w") as f:
        f.write("x,y,z,label\n")
        for i, p in enumerate(points):
            f.write(f"{p[0]:.6f},{p[1]:.6f},{p[2]:.6f},p{i + 1}\n")
    return path


def true_places(points, warp):
    t = sitk.DisplacementFieldTransform(sitk.ReadImage(warp, sitk.sitkVectorFloat64))
    return np.array([t.TransformPoint(tuple(p)) for p in points])


def mapped(points, prefix):
    """Fixed points through the registration: the displacement field, then the affine."""
    field = sitk.DisplacementFieldTransform(sitk.ReadImage(prefix + "_warp.nii.gz", sitk.sitkVectorFloat64))
    affine = sitk.ReadTransform(prefix + "_affine.txt")
    return np.array([affine.TransformPoint(field.TransformPoint(tuple(p))) for p in points])


def register(fixed, moving, prefix, guides, weight, preset):
    extra = ["--landmarks", *guides, "--deformable-landmark-weight", str(weight)] if guides else []
    start = time.time()
    run("register", "-f", fixed, "-m", moving, "-o", prefix, "--preset", preset, "--threads", "2", "-q", *extra)
    seconds = time.time() - start
    j = sitk.GetArrayFromImage(sitk.ReadImage(prefix + "_jacobian.nii.gz"))
    return seconds, int((j <= 0).sum())


def case(name, fixed, moving, guide_fixed, guide_moving, held_fixed, held_truth, out, weight, preset):
    guides = (write_points(guide_fixed, os.path.join(out, name + "_guide_fixed.csv")),
              write_points(guide_moving, os.path.join(out, name + "_guide_moving.csv")))
    row = {"case": name, "preset": preset, "guides": len(guide_fixed), "heldOut": len(held_fixed), "weight": weight}
    for label, g in (("unguided", None), ("guided", guides)):
        prefix = os.path.join(out, f"{name}_{preset}_{label}")
        seconds, folded = register(fixed, moving, prefix, g, weight, preset)
        tre = np.linalg.norm(mapped(held_fixed, prefix) - held_truth, axis=1)
        guide_error = np.linalg.norm(mapped(guide_fixed, prefix) - guide_moving, axis=1)
        row[label] = {"heldOutTreMM": round(float(tre.mean()), 3), "heldOutTreMedianMM": round(float(np.median(tre)), 3),
                      "guideErrorMM": round(float(guide_error.mean()), 3), "foldedVoxels": folded, "seconds": round(seconds, 1)}
        print(f"{name:10s} {label:9s} held-out TRE {tre.mean():.3f} mm (median {np.median(tre):.3f}), guides {guide_error.mean():.3f} mm, "
              f"folded {folded}, {seconds:.1f} s")
    before = np.linalg.norm(held_truth - held_fixed, axis=1)
    row["unregisteredMM"] = round(float(before.mean()), 3)
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/guided_registration")
    parser.add_argument("--weight", type=float, default=0.2)
    parser.add_argument("--preset", default="syn", choices=["syn", "bspline"])
    parser.add_argument("--record")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    o = lambda f: os.path.join(args.out, f)
    rows = []
    lung = os.path.join(DATA, "ct/elastix_lung/3DCT_lung_baseline_small.mha")
    run("synth", "warp", lung, "-o", o("lung"), "--seed", "1", "--max-displacement", "15")
    text = open(os.path.join(DATA, "ct/elastix_lung/3DCT_lung_baseline_landmarks.txt")).read().split()
    points = np.array([float(v) for v in text[2:]]).reshape(-1, 3) if text[0] in ("point", "index") else np.array([float(v) for v in text]).reshape(-1, 3)
    truth = true_places(points, o("lung_true_warp.nii.gz"))
    rng = np.random.default_rng(37)
    order = rng.permutation(len(points))
    g, h = order[:20], order[20:]
    rows.append(case("lung_ct", lung, o("lung_moving.nii.gz"), points[g], truth[g], points[h], truth[h], args.out, args.weight, args.preset))
    for seed, (name, rel) in enumerate([("lapirn_A", "brain/lapirn/image_A_160x192x144.nii.gz"),
                                        ("symnet_A", "brain/symnet/image_A_full_size.nii.gz")], start=1):
        image = os.path.join(DATA, rel)
        run("synth", "warp", image, "-o", o(name), "--seed", str(seed), "--max-displacement", "15")
        pairs = o(name + "_pairs.csv")
        run("keypoints", image, "--match", o(name + "_moving.nii.gz"), "-o", pairs, "--threads", "2")
        d = np.loadtxt(pairs, delimiter=",", skiprows=1)
        fixed_points, matched = d[:, :3], d[:, 3:6]
        truth = true_places(fixed_points, o(name + "_true_warp.nii.gz"))
        rows.append(case(name, image, o(name + "_moving.nii.gz"), fixed_points[:20], matched[:20], fixed_points[20:], truth[20:],
                         args.out, args.weight, args.preset))
    if args.record:
        json.dump({"started": time.strftime("%Y-%m-%d %H:%M"), "threads": 2, "cases": rows}, open(args.record, "w"), indent=1)


if __name__ == "__main__":
    main()
