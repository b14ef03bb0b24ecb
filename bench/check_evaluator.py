"""Checks the benchmark's evaluator (`swiftreg evaluate`) against an independent computation on
results the benchmark left in WORK: Dice by numpy, HD95 by scipy's exact Euclidean distance
transform (MedPy's definition: face-connected boundary voxels, distances in mm, the 95th percentile
of both directions pooled), folded % and SDlogJ of det J computed by numpy in physical space
(the index-space gradient mapped through the direction cosines and spacing; central differences
inside, one-sided at the border; SDlogJ over the voxels with det J > 0), and the endpoint error
against the known field.

Usage: check_evaluator.py WORK OUT.json CASE/TOOL [CASE/TOOL ...]   (needs nibabel, numpy, scipy)
"""
import json
import sys
import nibabel as nib
import numpy as np
from scipy import ndimage

LPS = np.diag([-1.0, -1.0, 1.0])


def load(path):
    image = nib.load(path)
    return np.asarray(image.dataobj), image.affine


def grid(affine):
    """Spacing and direction (LPS) of a NIfTI affine (RAS)."""
    lps = LPS @ affine[:3, :3]
    spacing = np.linalg.norm(lps, axis=0)
    return spacing, lps / spacing


def hd95(a, b, spacing):
    def boundary(m):
        return m & ~ndimage.binary_erosion(m, structure=ndimage.generate_binary_structure(m.ndim, 1), border_value=0)
    ba, bb = boundary(a), boundary(b)
    da = ndimage.distance_transform_edt(~bb, sampling=spacing)[ba]
    db = ndimage.distance_transform_edt(~ba, sampling=spacing)[bb]
    return float(np.percentile(np.concatenate([da, db]), 95))


def jacobian_stats(field_path, mask):
    data, affine = load(field_path)
    u = data[:, :, :, 0, :].astype(np.float64)            # (x, y, z, 3), LPS mm
    spacing, direction = grid(affine)
    # d u / d index along each axis, then d index / d x = (D S)^-1.
    grads = [np.gradient(u[..., c], axis=(0, 1, 2)) for c in range(3)]
    du_di = np.stack([np.stack(g, axis=-1) for g in grads], axis=-2)    # (..., component, index axis)
    di_dx = np.linalg.inv(direction @ np.diag(spacing))
    jac = np.eye(3) + du_di @ di_dx
    det = np.linalg.det(jac)[mask]
    # SDlogJ over the unfolded voxels (the folded ones are the other measure).
    return {"folded_percent": 100 * float(np.mean(det <= 0)), "sdlogj": float(np.std(np.log(det[det > 0])))}


def main():
    work, out, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
    rows = []
    for pair in pairs:
        case, tool = pair.split("/")
        d = f"{work}/{case}/{tool}"
        ours = json.load(open(f"{d}/evaluation.json"))
        log = open(f"{d}/log.txt").read().splitlines()
        evaluate = next(l for l in log if l.startswith("$ ") and " evaluate " in l).split()
        args = {evaluate[i]: evaluate[i + 1:i + 3] for i in range(len(evaluate)) if evaluate[i].startswith("--")}
        mask_path = args["--mask"][0]
        mask = load(mask_path)[0] != 0
        row = {"case": case, "tool": tool}
        if "--labels" in args:
            fixed, fixed_affine = load(args["--labels"][0])
            moving = load(args["--labels"][1])[0]
            ids = [int(l["id"]) for l in ours["labels"]["labels"]]
            spacing = grid(fixed_affine)[0]
            dice = [2 * np.sum((fixed == i) & (moving == i)) / (np.sum(fixed == i) + np.sum(moving == i)) for i in ids]
            hd = [hd95(fixed == i, moving == i, spacing) for i in ids]
            row["dice"] = {"independent": float(np.mean(dice)), "evaluator": ours["labels"]["meanDice"]}
            row["hd95"] = {"independent": float(np.mean(hd)), "evaluator": ours["labels"]["meanHD95"]}
        stats = jacobian_stats(f"{d}/field.nii.gz", mask.reshape(mask.shape[:3]))
        row["folded_percent"] = {"independent": stats["folded_percent"], "evaluator": 100 * ours["jacobian"]["foldedFraction"]}
        row["sdlogj"] = {"independent": stats["sdlogj"], "evaluator": ours["jacobian"]["sdLogJ"]}
        if "--reference-warp" in args:
            est = load(f"{d}/field.nii.gz")[0][:, :, :, 0, :].astype(np.float64)
            truth = load(args["--reference-warp"][0])[0][:, :, :, 0, :].astype(np.float64)
            err = np.linalg.norm(est - truth, axis=-1)[mask.reshape(mask.shape[:3])]
            row["endpoint_mean"] = {"independent": float(err.mean()), "evaluator": ours["endpoint"]["meanError"]}
        rows.append(row)
        print(json.dumps(row))
    json.dump(rows, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
