"""Template construction side by side: swiftreg template against ANTsPy's ants.build_template on
the six aligned OASIS subjects (issue 35), as 2-D slices (the same physical axial plane of each)
so both tools finish in minutes on 2 cores. Both get 4 rounds, gradient step 0.25, SyN, 2 threads.

Measured the same way for both templates, in Python: sharpness (mean gradient magnitude inside
the template's foreground), and how well each template represents the cohort: every subject
registered to it with the same tool (ANTs SyN, so neither template is favoured by its own
registration), the mean correlation of the warped subjects with the template. Time is wall time.

Usage: peers/venv/bin/python bench/template_compare.py [--out /tmp/tplbench] [--record bench/results/template_compare.json]
"""
import argparse, json, os, subprocess, sys, time
import numpy as np
import nibabel as nib

os.environ.setdefault("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", "2")
import ants  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "brain")
SUBJECTS = [("clapirnA", "clapirn/image_A_fullsize.nii.gz"), ("clapirnB", "clapirn/image_B_fullsize.nii.gz"),
            ("symnetA", "symnet/image_A_full_size.nii.gz"), ("symnetB", "symnet/image_B_full_size.nii.gz"),
            ("lapirnA", "lapirn/image_A_160x192x144.nii.gz"), ("lapirnB", "lapirn/image_B_160x192x144.nii.gz")]


def slices(out):
    """The axial plane through the centre of clapirn A's volume, from every subject (nearest slice by physical z)."""
    ref = nib.load(os.path.join(DATA, SUBJECTS[0][1]))
    centre = ref.affine @ np.array([*(np.array(ref.shape[:3]) - 1) / 2, 1])
    paths = []
    for name, rel in SUBJECTS:
        img = nib.load(os.path.join(DATA, rel))
        k = int(round((np.linalg.inv(img.affine) @ centre)[2]))
        data = np.asarray(img.dataobj, dtype=np.float32)[:, :, k:k + 1]
        affine = img.affine.copy()
        affine[:3, 3] = (img.affine @ np.array([0, 0, k, 1]))[:3]
        path = os.path.join(out, name + ".nii.gz")
        nib.save(nib.Nifti1Image(data, affine), path)
        paths.append(path)
    return paths


def sharpness(image):
    a = image.numpy().astype(np.float64).squeeze()
    spacing = image.spacing[:a.ndim]
    grads = np.gradient(a, *spacing)
    magnitude = np.sqrt(sum(g * g for g in grads))
    mask = a > 0.1 * np.percentile(a, 99)
    return float(magnitude[mask].mean())


def representation(template, paths):
    """Mean correlation of the subjects registered to the template by ANTs SyN."""
    values = []
    for p in paths:
        moving = ants.image_read(p)
        reg = ants.registration(template, moving, type_of_transform="SyN")
        w, t = reg["warpedmovout"].numpy().ravel(), template.numpy().ravel()
        values.append(float(np.corrcoef(w, t)[0, 1]))
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="/tmp/tplbench")
    parser.add_argument("--record")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    paths = slices(args.out)
    # ants.image_read of a one-slice NIfTI gives a 3-D image; build_template in 2-D needs 2-D images.
    two_d = []
    for p in paths:
        img = ants.image_read(p)
        arr = img.numpy()[:, :, 0]
        # The subjects share one aligned voxel space (1 mm): the slice's own grid, axis-aligned.
        i2 = ants.from_numpy(arr, origin=(0.0, 0.0), spacing=img.spacing[:2])
        q = p.replace(".nii.gz", "_2d.nii.gz")
        ants.image_write(i2, q)
        two_d.append(q)

    swiftreg = os.path.join(ROOT, ".build", "release", "swiftreg")
    start = time.time()
    subprocess.run([swiftreg, "template", *two_d, "-o", os.path.join(args.out, "swiftreg"), "--iterations", "4", "--threads", "2", "-q"], check=True)
    ours_seconds = time.time() - start
    ours = ants.image_read(os.path.join(args.out, "swiftreg", "template.nii.gz"))
    summary = json.load(open(os.path.join(args.out, "swiftreg", "template_summary.json")))

    start = time.time()
    theirs = ants.build_template(image_list=[ants.image_read(p) for p in two_d], iterations=4, gradient_step=0.25, type_of_transform="SyN")
    ants_seconds = time.time() - start
    ants.image_write(theirs, os.path.join(args.out, "ants_template.nii.gz"))

    result = {
        "data": "six aligned OASIS subjects (clapirn, symnet, lapirn A and B), one axial slice each through clapirn A's centre",
        "rounds": 4, "gradientStep": 0.25, "threads": 2,
        "swiftreg": {"seconds": ours_seconds, "sharpness": sharpness(ours), "correlationUnderANTsSyN": representation(ours, two_d),
                     "ownRounds": [{k: r[k] for k in ("iteration", "meanCorrelation", "sharpness", "shapeUpdate")} for r in summary["iterations"]]},
        "ants": {"seconds": ants_seconds, "sharpness": sharpness(theirs), "correlationUnderANTsSyN": representation(theirs, two_d)},
    }
    for tool in ("swiftreg", "ants"):
        c = result[tool]["correlationUnderANTsSyN"]
        result[tool]["meanCorrelationUnderANTsSyN"] = float(np.mean(c))
    result["timeRatio"] = ants_seconds / ours_seconds
    print(json.dumps(result, indent=2))
    if args.record:
        with open(args.record, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
