"""Large rotations (issue 37): a real brain turned by 60°, 90°, 120° and 180° about random axes,
registered with the default `affine` preset and no flags; the end-point error of the found affine
against the known turn, mean over the brain (voxels above a tenth of the 99th percentile).

The moving image is a subject's voxels on a turned grid (its direction and origin rotated about the
image centre), so no resampling blurs it. Same subject: the moving image is the fixed one turned, and
the truth is the turn. Across subjects (--cross: lapirn A fixed, lapirn B moving; clapirn A, clapirn B;
symnet A, symnet B): the truth is the registration of the unturned pair followed by the turn.

Usage: python3 bench/rotation_recovery.py [--shrink 2] [--cross] [--ants] [--extra=--no-multi-start] [--record bench/results/rotation_recovery.json]
"""
import argparse, json, os, subprocess, sys, time
import numpy as np
import nibabel as nib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "brain")
SUBJECTS = ["lapirn/image_A_160x192x144.nii.gz", "clapirn/image_B_fullsize.nii.gz", "symnet/image_A_full_size.nii.gz"]
PAIRS = [("lapirn/image_A_160x192x144.nii.gz", "lapirn/image_B_160x192x144.nii.gz"),
         ("clapirn/image_A_fullsize.nii.gz", "clapirn/image_B_fullsize.nii.gz"),
         ("symnet/image_A_full_size.nii.gz", "symnet/image_B_full_size.nii.gz")]
RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0, 1.0])


def rotation(axis, degrees):
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    t = np.radians(degrees)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * k @ k


def shrunk(img, factor):
    if factor == 1:
        return img
    data = np.asarray(img.dataobj, dtype=np.float32)
    s = [d // factor * factor for d in data.shape[:3]]
    d = data[:s[0], :s[1], :s[2]].reshape(s[0] // factor, factor, s[1] // factor, factor, s[2] // factor, factor).mean(axis=(1, 3, 5))
    affine = img.affine @ np.diag([factor, factor, factor, 1.0])
    affine[:3, 3] = (img.affine @ np.array([(factor - 1) / 2] * 3 + [1]))[:3]
    return nib.Nifti1Image(d, affine)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shrink", type=int, default=2)
    parser.add_argument("--out", default="/tmp/rotation_recovery")
    parser.add_argument("--record")
    parser.add_argument("--cross", action="store_true", help="turn another subject, registered to the fixed one")
    parser.add_argument("--ants", action="store_true", help="also ANTsPy's registration(type_of_transform='Affine') on each case")
    parser.add_argument("--extra", nargs="*", default=[], help="extra swiftreg register options")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    swiftreg = os.path.join(ROOT, ".build", "release", "swiftreg")
    rng = np.random.default_rng(37)
    cases = []
    def register(fixed_path, moving_path, prefix):
        start = time.time()
        subprocess.run([swiftreg, "register", "-f", fixed_path, "-m", moving_path, "-o", prefix, "--threads", "2", "-q", *args.extra], check=True)
        summary = json.load(open(prefix + "_summary.json"))
        return np.array(summary["matrix"]).reshape(3, 3), np.array(summary["translation"]), time.time() - start, summary.get("start")

    pairs = PAIRS if args.cross else [(rel, rel) for rel in SUBJECTS]
    for s, (fixed_rel, moving_rel) in enumerate(pairs):
        img = shrunk(nib.load(os.path.join(DATA, fixed_rel)), args.shrink)
        mov = shrunk(nib.load(os.path.join(DATA, moving_rel)), args.shrink)
        fixed_path = os.path.join(args.out, f"s{s}_fixed.nii.gz")
        nib.save(img, fixed_path)
        data = np.asarray(img.dataobj, dtype=np.float32)
        lps = RAS_TO_LPS @ img.affine   # voxel → LPS
        idx = np.argwhere(data > 0.1 * np.percentile(data, 99))
        points = (lps[:3, :3] @ idx.T).T + lps[:3, 3]
        moving_data = np.asarray(mov.dataobj, dtype=np.float32)
        moving_lps = RAS_TO_LPS @ mov.affine
        centre = moving_lps[:3, :3] @ ((np.array(moving_data.shape) - 1) / 2) + moving_lps[:3, 3]
        if args.cross:
            unturned = os.path.join(args.out, f"s{s}_moving.nii.gz")
            nib.save(mov, unturned)
            m0, t0, _, _ = register(fixed_path, unturned, os.path.join(args.out, f"s{s}_reference"))
            reference = (m0 @ points.T).T + t0
        else:
            reference = points
        for degrees in (60, 90, 120, 180):
            axis = rng.normal(size=3)
            r = rotation(axis, degrees)
            # The moving grid turned by r about its centre (LPS): the turned image's content at
            # r(q - c) + c is the unturned image's at q.
            moved = np.eye(4)
            moved[:3, :3] = r
            moved[:3, 3] = centre - r @ centre
            moving_path = os.path.join(args.out, f"s{s}_rot{degrees}.nii.gz")
            nib.save(nib.Nifti1Image(moving_data, RAS_TO_LPS @ moved @ moving_lps), moving_path)
            m, t, seconds, start = register(fixed_path, moving_path, os.path.join(args.out, f"s{s}_rot{degrees}_reg"))
            found = (m @ points.T).T + t
            truth = (r @ (reference - centre).T).T + centre
            epe = float(np.linalg.norm(found - truth, axis=1).mean())
            cases.append({"fixed": fixed_rel, "moving": moving_rel, "degrees": degrees, "axis": list(axis / np.linalg.norm(axis)),
                          "epeMM": epe, "seconds": seconds, "start": start})
            print(f"{fixed_rel} ← {moving_rel} {degrees}°: EPE {epe:.3f} mm ({seconds:.1f} s, start {start})", flush=True)
            if args.ants:
                import ants
                begin = time.time()
                reg = ants.registration(ants.image_read(fixed_path), ants.image_read(moving_path), type_of_transform="Affine")
                ants_seconds = time.time() - begin
                tx = ants.read_transform(reg["fwdtransforms"][0])
                sample = np.arange(0, len(points), max(1, len(points) // 2000))
                found = np.array([tx.apply_to_point(tuple(points[i])) for i in sample])
                ants_epe = float(np.linalg.norm(found - truth[sample], axis=1).mean())
                cases[-1].update({"antsEpeMM": ants_epe, "antsSeconds": ants_seconds})
                print(f"    ANTs Affine: EPE {ants_epe:.3f} mm ({ants_seconds:.1f} s)", flush=True)
    result = {"shrink": args.shrink, "cross": args.cross, "options": args.extra, "cases": cases,
              "recovered": sum(c["epeMM"] < 0.5 for c in cases), "of": len(cases)}
    if args.ants:
        result["antsRecovered"] = sum(c["antsEpeMM"] < 0.5 for c in cases)
    print(json.dumps({k: v for k, v in result.items() if k != "cases"}))
    if args.record:
        with open(args.record, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
