"""Template construction side by side: swiftreg template against ANTsPy's ants.build_template
(issue 35) on one of three sets, so both tools finish in minutes to an hour on 2 cores:
  oasis2d   the six aligned OASIS subjects, one axial slice each (the same physical plane);
  oasis3d   the same six volumes at 2 mm (block-averaged 2×2×2);
  synthseg  the ten whole-head label maps, painted with one shared T1-like contrast at 2 mm
            (`swiftreg synth contrast --shrink 2 --seed 7`) and cropped to the head, labels carried.
Both tools get 4 rounds, gradient step 0.25, SyN, 2 threads.

Measured the same way for both templates, in Python: sharpness (mean gradient magnitude inside the
template's foreground), and how well each template represents the cohort: every subject registered
to it with the same tool (ANTs SyN, so neither template is favoured by its own registration), the
mean correlation of the warped subjects with the template; with labels, the subjects' labels carried
by those registrations, fused by majority vote, and each subject's mean Dice against the fused
labels (label consistency). The same measures are taken a second time with SwiftReg's `syn` as the
scoring registration (keys ending in UnderSwiftRegSyN): ANTs' affine stage (no mask, centre-of-mass
start) copes worse with subjects whose field of view stops short of the template's, so each scoring
tool is reported. Time is wall time.

Usage: peers/venv/bin/python bench/template_compare.py --set oasis3d [--out /tmp/tplbench3d] [--record bench/results/template_compare_oasis3d.json]
"""
import argparse, json, os, subprocess, sys, time
import numpy as np
import nibabel as nib

os.environ.setdefault("ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS", "2")
import ants  # noqa: E402
from painted_heads import painted_heads  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "brain")
SUBJECTS = [("clapirnA", "clapirn/image_A_fullsize.nii.gz"), ("clapirnB", "clapirn/image_B_fullsize.nii.gz"),
            ("symnetA", "symnet/image_A_full_size.nii.gz"), ("symnetB", "symnet/image_B_full_size.nii.gz"),
            ("lapirnA", "lapirn/image_A_160x192x144.nii.gz"), ("lapirnB", "lapirn/image_B_160x192x144.nii.gz")]


def slices(out):
    """The axial plane through the centre of clapirn A's volume, from every subject (nearest slice
    by physical z), written as 2-D images on the slice's own axis-aligned grid."""
    ref = nib.load(os.path.join(DATA, SUBJECTS[0][1]))
    centre = ref.affine @ np.array([*(np.array(ref.shape[:3]) - 1) / 2, 1])
    paths = []
    for name, rel in SUBJECTS:
        img = nib.load(os.path.join(DATA, rel))
        k = int(round((np.linalg.inv(img.affine) @ centre)[2]))
        data = np.asarray(img.dataobj, dtype=np.float32)[:, :, k]
        # The subjects share one aligned voxel space (1 mm).
        path = os.path.join(out, name + "_2d.nii.gz")
        ants.image_write(ants.from_numpy(data, origin=(0.0, 0.0), spacing=tuple(float(x) for x in img.header.get_zooms()[:2])), path)
        paths.append(path)
    return paths, None


def block_average(data, factor):
    """Mean over factor³ blocks (the edge blocks that do not fit are dropped)."""
    s = [d // factor * factor for d in data.shape]
    d = data[:s[0], :s[1], :s[2]]
    return d.reshape(s[0] // factor, factor, s[1] // factor, factor, s[2] // factor, factor).mean(axis=(1, 3, 5))


def volumes(out):
    """The six OASIS volumes at 2 mm (2×2×2 block means; the block centre's position kept)."""
    paths = []
    for name, rel in SUBJECTS:
        img = nib.load(os.path.join(DATA, rel))
        data = block_average(np.asarray(img.dataobj, dtype=np.float32), 2)
        affine = img.affine @ np.diag([2.0, 2.0, 2.0, 1.0])
        affine[:3, 3] = (img.affine @ np.array([0.5, 0.5, 0.5, 1]))[:3]
        path = os.path.join(out, name + "_2mm.nii.gz")
        nib.save(nib.Nifti1Image(data, affine), path)
        paths.append(path)
    return paths, None


def sharpness(image):
    a = image.numpy().astype(np.float64).squeeze()
    spacing = image.spacing[:a.ndim]
    grads = np.gradient(a, *spacing)
    magnitude = np.sqrt(sum(g * g for g in grads))
    mask = a > 0.1 * np.percentile(a, 99)
    return float(magnitude[mask].mean())


def representation(template, paths, labels):
    """Each subject registered to the template by ANTs SyN: its correlation with the template and,
    with labels, its carried labels' mean Dice against their majority vote."""
    values, carried = [], []
    for i, p in enumerate(paths):
        reg = ants.registration(template, ants.image_read(p), type_of_transform="SyN")
        w, t = reg["warpedmovout"].numpy().ravel(), template.numpy().ravel()
        values.append(float(np.corrcoef(w, t)[0, 1]))
        if labels:
            carried.append(ants.apply_transforms(template, ants.image_read(labels[i]), reg["fwdtransforms"],
                                                 interpolator="genericLabel").numpy().astype(np.int32))
    return consistency(values, carried, "ANTsSyN")


def representation_swiftreg(template_path, paths, labels, swiftreg, work):
    """The same measures with every subject registered to the template by `swiftreg register
    --preset syn` and its labels carried by `swiftreg apply --interp label`."""
    values, carried = [], []
    t = nib.load(template_path).get_fdata().ravel()
    for i, p in enumerate(paths):
        prefix = os.path.join(work, f"score{i:02d}")
        subprocess.run([swiftreg, "register", "-f", template_path, "-m", p, "--preset", "syn", "-o", prefix, "--threads", "2", "-q"], check=True)
        values.append(float(np.corrcoef(nib.load(prefix + "_warped.nii.gz").get_fdata().ravel(), t)[0, 1]))
        if labels:
            subprocess.run([swiftreg, "apply", "-i", labels[i], "-r", template_path, "-t", prefix + "_warp.nii.gz", "-t", prefix + "_affine.txt",
                            "--interp", "label", "-o", prefix + "_labels.nii.gz"], check=True, stdout=subprocess.DEVNULL)
            carried.append(np.asarray(nib.load(prefix + "_labels.nii.gz").dataobj).astype(np.int32))
    return consistency(values, carried, "SwiftRegSyN")


def consistency(values, carried, tool):
    """Mean correlation and, when labels were carried, each subject's mean Dice against the
    majority vote of all carried label maps, under keys naming the registration tool."""
    result = {f"correlationUnder{tool}": values, f"meanCorrelationUnder{tool}": float(np.mean(values))}
    if carried:
        stack = np.stack(carried)
        names = np.unique(stack)
        names = names[names > 0]
        votes = np.stack([(stack == n).sum(0) for n in names])
        fused = np.where(votes.max(0) > 0, names[votes.argmax(0)], 0)
        dice = []
        for c in carried:
            per = [2 * np.sum((c == n) & (fused == n)) / max(1, np.sum(c == n) + np.sum(fused == n)) for n in names if np.any(fused == n)]
            dice.append(float(np.mean(per)))
        result[f"labelDiceUnder{tool}"] = dice
        result[f"meanLabelDiceUnder{tool}"] = float(np.mean(dice))
    return result


SETS = {
    "oasis2d": "six aligned OASIS subjects (clapirn, symnet, lapirn A and B), one axial slice each through clapirn A's centre",
    "oasis3d": "six aligned OASIS subjects (clapirn, symnet, lapirn A and B), volumes at 2 mm (2×2×2 block means)",
    "synthseg": "ten whole-head label maps (synthseg_label_maps, not aligned), painted with one T1-like contrast at 2 mm, "
                "cropped to the head, labels carried",
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", choices=sorted(SETS), default="oasis2d")
    parser.add_argument("--out")
    parser.add_argument("--record")
    args = parser.parse_args()
    out = args.out or f"/tmp/tplbench_{args.set}"
    os.makedirs(out, exist_ok=True)
    swiftreg = os.path.join(ROOT, ".build", "release", "swiftreg")
    paths, labels = {"oasis2d": lambda: slices(out), "oasis3d": lambda: volumes(out), "synthseg": lambda: painted_heads(out, swiftreg)}[args.set]()

    start = time.time()
    subprocess.run([swiftreg, "template", *paths, "-o", os.path.join(out, "swiftreg"), "--iterations", "4", "--threads", "2", "-q"]
                   + (["--labels", *labels] if labels else []), check=True)
    ours_seconds = time.time() - start
    ours = ants.image_read(os.path.join(out, "swiftreg", "template.nii.gz"))
    summary = json.load(open(os.path.join(out, "swiftreg", "template_summary.json")))

    start = time.time()
    theirs = ants.build_template(image_list=[ants.image_read(p) for p in paths], iterations=4, gradient_step=0.25, type_of_transform="SyN")
    ants_seconds = time.time() - start
    ants.image_write(theirs, os.path.join(out, "ants_template.nii.gz"))

    keys = ("iteration", "meanCorrelation", "sharpness", "shapeUpdate") + (("meanLabelDice",) if labels else ())
    scoring = os.path.join(out, "scoring")
    os.makedirs(scoring, exist_ok=True)
    result = {
        "set": args.set, "data": SETS[args.set], "rounds": 4, "gradientStep": 0.25, "threads": 2,
        "swiftreg": {"seconds": ours_seconds, "sharpness": sharpness(ours), **representation(ours, paths, labels),
                     **representation_swiftreg(os.path.join(out, "swiftreg", "template.nii.gz"), paths, labels, swiftreg, scoring),
                     "ownRounds": [{k: r[k] for k in keys} for r in summary["iterations"]]},
        "ants": {"seconds": ants_seconds, "sharpness": sharpness(theirs), **representation(theirs, paths, labels),
                 **representation_swiftreg(os.path.join(out, "ants_template.nii.gz"), paths, labels, swiftreg, scoring)},
    }
    result["timeRatio"] = ants_seconds / ours_seconds
    print(json.dumps(result, indent=2))
    if args.record:
        with open(args.record, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
