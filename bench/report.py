#!/usr/bin/env python3
"""Writes docs/BENCHMARKS.md from bench/results/results.json (and the evaluator check, when present).
Usage: bench/report.py [RESULTS.json] [OUT.md]"""
import json
import statistics
from collections import Counter
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORDER = ["none", "swiftreg", "ants", "ants-quick", "elastix", "niftyreg"]
NAMES = {"none": "before registration", "swiftreg": "**SwiftReg**", "ants-quick": "ANTs SyN-quick", "ants": "ANTs SyN (CC)",
         "elastix": "elastix", "niftyreg": "NiftyReg"}
LINEAR_NAMES = dict(NAMES, **{"ants-quick": "ANTs (its linear stages)", "niftyreg": "NiftyReg (reg_aladin)",
                              "elastix": "elastix (affine or rigid stage)"})
VERSION_NAMES = {"swiftreg": "SwiftReg", "ants": "ANTs", "elastix": "elastix", "niftyreg": "NiftyReg"}
GROUPS = [
    ("lapirn", "Inter-subject brains: OASIS lapirn pair",
     "Labels 1 (cortical ribbon) and 2 (inner brain) carried by each tool's own nearest-neighbour warp; "
     "det J statistics over the fixed brain (its labels > 0).",
     ["dice", "dice_1", "dice_2", "hd95", "folded_percent", "sdlogj", "wall_s", "rss_mb"]),
    ("knownwarp", "Known-warp recovery on real subjects",
     "The subject is deformed by a smooth random diffeomorphism (`swiftreg synth warp`, up to 15 mm) and registered back: "
     "endpoint error of the tool's whole transform against the known one over the brain, and Dice of 3 intensity "
     "classes carried back.",
     ["epe_mean", "epe_p95", "dice", "folded_percent", "sdlogj", "wall_s", "rss_mb"]),
    ("multicontrast", "Multi-contrast pairs synthesised from real label maps",
     "Two subjects' label maps (`brain/synthseg_label_maps`, shrunk to 2 mm, 128³) painted with different random "
     "contrasts (`swiftreg synth contrast`), so mutual information is needed; Dice over the 30 FreeSurfer labels of "
     "the VoxelMorph set, det J over the fixed head. SwiftReg's `syn-mi` smoothing (update σ 4, total σ 1.5 voxels) "
     "was chosen on these three pairs, so they are not held out for it; over all 45 pairs of the 10 maps "
     "(`swiftreg bench-deformable multi-contrast --shrink 2`, other contrasts) its mean Dice is 0.535 (affine alone 0.475), worst pair 0.217, with the linear stages sampling the smaller head and 30 iterations at SyN's coarsest level (0.518 and 0.166 with the former 100; 0.476, 0.416 and 0.047 sampling the fixed one). The three tables below were measured with the former 100 coarsest iterations.",
     ["dice", "hd95", "folded_percent", "sdlogj", "wall_s", "rss_mb"]),
    ("itk2d", "2-D multi-modal rigid pair (ITK example slices)",
     "T1 slice (fixed) against the proton-density slice rotated 10° and shifted (moving). The known transform, "
     "10.00° taking (110, 128) to (123.09, 143.92) px, comes from a mean-squares fit of the unrotated PD slice by "
     "SimpleITK (`bench/itk2d_truth.txt`); errors over the PD brain, in mm = pixels.",
     ["epe_mean", "epe_p95", "rotation_deg", "wall_s", "rss_mb"]),
    ("colin", "Atlas to template: Colin27 to ICBM 2009a",
     "The AAL atlas (defined on Colin27) carried onto the ICBM 2009a template, scored as the Dice of its union "
     "(AAL > 0, the grey matter it covers) against the template's grey-matter map ≥ 0.5; det J over the template's brain.",
     ["dice", "hd95", "folded_percent", "sdlogj", "wall_s", "rss_mb"]),
    ("affine", "Affine recovery from known transforms",
     "The subject moved by a random affine (`swiftreg synth affine`: up to 10° about a random axis, ±8 % scaling "
     "and shear, 8 mm) and registered back with each tool's affine stage; endpoint error over the brain and the "
     "angle of the residual rotation.",
     ["epe_mean", "epe_p95", "rotation_deg", "wall_s", "rss_mb"]),
]
HEADERS = {"dice": "Dice", "dice_1": "Dice 1", "dice_2": "Dice 2", "hd95": "HD95 mm", "folded_percent": "det J ≤ 0 %",
           "sdlogj": "SDlogJ", "wall_s": "wall s", "rss_mb": "peak RSS GB", "epe_mean": "endpoint error mm",
           "epe_p95": "95th pct mm", "rotation_deg": "rotation error °"}


def cell(row, key):
    if key.startswith("dice_"):
        value = row.get("dice_per_label", {}).get(key[5:])
    else:
        value = row.get(key)
    if value is None:
        return "–"
    if key == "rss_mb":
        return "–" if value == 0 else f"{value / 1024:.2f}"
    if key == "wall_s":
        return "–" if value == 0 else f"{value:.1f}"
    if key == "folded_percent":
        return f"{value:.3f}"
    return f"{value:.3f}"


def table(case, keys):
    names = NAMES if case["stage"] == "deformable" else LINEAR_NAMES
    lines = ["| tool | " + " | ".join(HEADERS[k] for k in keys) + " |", "|---|" + "---:|" * len(keys)]
    for tool in sorted(case["tools"], key=lambda t: ORDER.index(t) if t in ORDER else len(ORDER)):
        row = case["tools"][tool]
        if "error" in row:
            lines.append(f"| {names.get(tool, tool)} | failed: {row['error']} |" + " |" * (len(keys) - 1))
            continue
        lines.append(f"| {names.get(tool, tool)} | " + " | ".join(cell(row, k) for k in keys) + " |")
    return "\n".join(lines)


def commands(r):
    """The exact registration commands of one case per kind (DATA: the shared data, WORK: the scratch folder)."""
    out = "\n## Exact commands\n\nAs run (and timed) for one case of each kind; DATA is `../shared/data`, WORK the " \
          "scratch folder (`out/bench`). Every case's commands are in `bench/results/results.json`.\n"
    for name in ("lapirn_AB", "multicontrast_01_02", "affine_clapirnB", "itk2d_rigid"):
        c = r["cases"].get(name)
        if not c:
            continue
        out += f"\n`{name}`:\n\n```sh\n"
        for tool in sorted(c["tools"], key=lambda t: ORDER.index(t) if t in ORDER else len(ORDER)):
            for command in c["tools"][tool].get("commands", []):
                out += command + "\n"
        out += "```\n"
    return out


def summary(r):
    """One line per case: the most accurate tool by the case's main measure, the fastest, and SwiftReg's place."""
    out = "\n## Summary\n\nThe most accurate and the fastest tool of each case, and where SwiftReg stands " \
          "(\"folds\": det J ≤ 0 somewhere in the mask).\n\n" \
          "| case | measure | most accurate | fastest | SwiftReg | SwiftReg's rank |\n|---|---|---|---|---|---:|\n"
    for group, *_ in GROUPS:
        for name, c in sorted((n, c) for n, c in r["cases"].items() if c["group"] == group):
            key, better = ("dice", max) if "dice" in next(iter(c["tools"].values())) and group != "knownwarp" else ("epe_mean", min)
            rows = {t: row for t, row in c["tools"].items() if t != "none" and "error" not in row and row.get(key) is not None}
            if not rows:
                continue
            names = NAMES if c["stage"] == "deformable" else LINEAR_NAMES
            def label(t):
                folds = " (folds)" if rows[t].get("folded_percent", 0) > 0 else ""
                return f"{names[t].strip('*')} {rows[t][key]:.3f}{folds}"
            best = better(rows, key=lambda t: rows[t][key])
            fastest = min(rows, key=lambda t: rows[t]["wall_s"])
            ranked = sorted(rows, key=lambda t: rows[t][key], reverse=(better is max))
            ours = label("swiftreg") + f", {rows['swiftreg']['wall_s']:.1f} s" if "swiftreg" in rows else "–"
            rank = f"{ranked.index('swiftreg') + 1} of {len(ranked)}" if "swiftreg" in rows else "–"
            measure = "mean Dice" if key == "dice" else "endpoint error mm"
            out += f"| `{name}` | {measure} | {label(best)} | {names[fastest].strip('*')} {rows[fastest]['wall_s']:.1f} s | " \
                   f"{ours} | {rank} |\n"
    return out


def longitudinal(path):
    """Simulated atrophy on real brains (`scripts/bench.sh longitudinal`), when it has run."""
    if not os.path.exists(path):
        return ""
    run = json.load(open(path))
    rows, s = run["rows"], run["summary"]
    out = ("\n## Longitudinal change: simulated atrophy on real brains\n\n"
           "`swiftreg synth atrophy` shrinks the brain (threshold mask) of six real skull-stripped subjects by 0.5, 1 and 2 % "
           "(and hippocampi and lateral ventricles of two painted whole-head label maps by −5 and +10 %), moves the follow-up "
           "by 2° and 1.5 mm and gives both scans independent noise (2 % of the 99th percentile); `swiftreg longitudinal` "
           "(default deformable stage) measures the pair, and the swapped pair. "
           f"`scripts/bench.sh longitudinal`, {run['date']}.\n\n")
    out += "| case | region | truth % | det J % | boundary shift % | swapped truth % | swapped det J % | ANTs rigid+SyN % | ANTs SyN % |\n"
    out += "|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
    for r in rows:
        f = lambda k: f"{r[k]:.3f}" if r.get(k) is not None else ""
        out += (f"| {r['case']} | {r['region']} | {f('truth')} | {f('detJ')} | {f('boundaryShift')} | {f('swappedTruth')} | "
                f"{f('swappedDetJ')} | {f('ants')} | {f('antsPlainSyN')} |\n")
    g = lambda k: f"{s[k]:.3f}" if s.get(k) is not None else "–"
    out += (f"\nWhole brain ({s['brainCases']} cases): mean absolute error det J {g('brainMAE_detJ')} points, boundary shift "
            f"{g('brainMAE_boundaryShift')}; swapped inputs against the negated change {g('brainSymmetry_detJ')}. Structures "
            f"({s['structureCases']}): det J {g('structureMAE_detJ')}. ANTs on {s['antsCases']} cases: rigid + SyN {g('antsBrainMAE')}, "
            f"plain SyN (affine + SyN) {g('antsPlainSyNBrainMAE')}, SwiftReg on the same cases {g('oursOnAntsCasesMAE')}.\n")
    return out


def abnormality(path):
    """Normative models and simulated lesions (`scripts/bench.sh abnormality`), when it has run."""
    if not os.path.exists(path):
        return ""
    run = json.load(open(path))
    rows, s = run["rows"], run["summary"]
    out = ("\n## Abnormality detection: simulated lesions on real brains\n\n"
           "Atlas lapirn A; two normative models of six real healthy subjects, each leaving out the subject it scores "
           "(`scripts/abnormality-sim.py`); lesions by `swiftreg synth lesion` in tissue, local atrophy by `synth atrophy` (both resample the subject once, by cubic B-spline); "
           "the default model (maps smoothed by σ 4 mm) and combined z-map (the healthy tail of zJ² + max(zR, 0)²). "
           f"`scripts/bench.sh abnormality`, {run['date']}.\n\n")
    out += "| case | clusters | found (peak ≤ 10 mm) | nearest peak mm | ROC AUC | largest other cluster mm³ |\n|---|---:|---|---:|---:|---:|\n"
    for r in rows:
        f = lambda k, fmt: (fmt % r[k]) if r.get(k) is not None else ""
        out += f"| {r['case']} | {r['clusters']} | {f('found', '%s')} | {f('nearestPeakMM', '%.2f')} | {f('auc', '%.3f')} | {r['largestFalse']:.0f} |\n"
    out += (f"\nLesions of radius ≥ 8 mm found: {s['lesionsRadius8OrMoreFound']} (all: {s['lesionsFound']}); ROC AUC mean "
            f"{s['meanAUC']:.3f}, worst {s['worstAUC']:.3f}; largest cluster on an unmodified subject "
            f"{s['largestFalsePositiveOnUnmodifiedMM3']:.0f} mm³; {s['secondsPerSubject']:.0f} s per subject.\n")
    return out


def template(folder):
    """Template construction against ants.build_template (`bench/template_compare.py`), for each set that has run."""
    runs = [(name, os.path.join(folder, f)) for name, f in (("oasis2d", "template_compare.json"), ("oasis3d", "template_compare_oasis3d.json"),
                                                           ("synthseg", "template_compare_synthseg.json"))]
    runs = [(name, json.load(open(p))) for name, p in runs if os.path.exists(p)]
    if not runs:
        return ""
    out = ("\n## Template construction\n\n"
           "SwiftReg `template` against ANTsPy `build_template`, both with 4 rounds, gradient step 0.25, SyN, 2 threads "
           "(`peers/venv/bin/python bench/template_compare.py --set SET`); SwiftReg with its defaults, so its rounds 1 to 3 "
           "leave out SyN's finest level (`--fine-rounds 1`). Both templates are scored the same way: sharpness is the "
           "mean gradient magnitude inside the foreground; representation is the mean correlation of the subjects "
           "registered to the template by ANTs SyN (neither template is favoured by its own registration); with labels, label "
           "consistency is each subject's labels carried by those registrations against their majority vote (mean Dice over "
           "labels, then subjects). A subject that ANTs SyN fails to register to a template (a correlation far below the others) "
           "lowers that template's mean; in 2-D this happens to either tool's template, run to run.\n")
    for name, r in runs:
        labelled = "meanLabelDiceUnderANTsSyN" in r["ants"]
        out += (f"\n**{name}**: {r['data']}.\n\n| tool | seconds | sharpness | mean correlation | "
                + ("label consistency | " if labelled else "") + "per subject |\n|---|---:|---:|---:|" + ("---:|" if labelled else "") + "---|\n")
        for tool, title in (("swiftreg", "SwiftReg `template`"), ("ants", "ANTsPy `build_template`")):
            t = r[tool]
            out += (f"| {title} | {t['seconds']:.1f} | {t['sharpness']:.4f} | {t['meanCorrelationUnderANTsSyN']:.3f} | "
                    + (f"{t['meanLabelDiceUnderANTsSyN']:.3f} | " if labelled else "")
                    + ", ".join(f"{c:.3f}" for c in t["correlationUnderANTsSyN"]) + " |\n")
        if "meanCorrelationUnderSwiftRegSyN" in r["ants"]:
            out += ("\nScored instead with SwiftReg `syn` as the registration to each template: "
                    + "; ".join(f"{title} mean correlation {r[tool]['meanCorrelationUnderSwiftRegSyN']:.3f}"
                                + (f", label consistency {r[tool]['meanLabelDiceUnderSwiftRegSyN']:.3f}" if labelled else "")
                                for tool, title in (("swiftreg", "SwiftReg's template"), ("ants", "ANTs' template"))) + ".\n")
        out += ("\nSwiftReg's own rounds (mean correlation of the warped subjects with the template they were registered to; "
                "the update's RMS movement in mm" + ("; the label Dice against the fused template labels" if labelled else "") + "): "
                + "; ".join(f"{x['iteration']}: {x['meanCorrelation']:.3f}, {x['shapeUpdate']:.2f} mm"
                            + (f", Dice {x['meanLabelDice']:.3f}" if labelled else "") for x in r["swiftreg"]["ownRounds"])
                + f". ANTs took {r['timeRatio']:.1f}× as long.\n")
    return out


def batch(path):
    """The batch of painted pairs locally and on Slurm (`bench/batch_cohort.py`), when it has run."""
    if not os.path.exists(path):
        return ""
    r = json.load(open(path))
    return ("\n## Batch: locally and on Slurm\n\n"
            f"{r['data'][0].upper() + r['data'][1:]} (`python3 bench/batch_cohort.py`, a one-node Slurm from `scripts/slurm-local.sh`). "
            f"{r['tasks']} tasks took {r['localSeconds']:.0f} s locally (`--jobs {r['localJobs']}`, one thread each) and "
            f"{r['slurmSeconds']:.0f} s on Slurm (`--cpus-per-task {r['slurmCpusPerTask']}`), the array cancelled once "
            f"{r['doneWhenCancelled']} were done and the batch run again; the rerun redid {len(r['redoneByRerun'])} finished tasks; "
            f"{r['outputsCompared']} result files compared, {len(r['outputsDifferent'])} differ. Mean Dice of the carried labels "
            f"(an `evaluate` batch): {r['meanDice']:.3f}.\n")


def python_api(path):
    """The Python package against the CLI (`bench/python_api.py`), when it has run."""
    if not os.path.exists(path):
        return ""
    r = json.load(open(path))
    o, m = r["overhead"], r["memory"]
    return ("\n## Python against the command line\n\n"
            f"`python3 bench/python_api.py`, {r['threads']} threads, alternated in one run. {o['pair']}: the CLI (process, reading, "
            "registering, writing) " + ", ".join(f"{x:.1f}" for x in o["cliSeconds"]) + f" s (median {statistics.median(o['cliSeconds']):.2f}); "
            "Python (`Image.read`, `register`, `save`) " + ", ".join(f"{x:.1f}" for x in o["pythonSeconds"])
            + f" s (median {statistics.median(o['pythonSeconds']):.2f}); Python the faster in "
            + f"{sum(p < c for c, p in zip(o['cliSeconds'], o['pythonSeconds']))} of {len(o['cliSeconds'])} alternated pairs. {m['pair']} registered from NumPy arrays four times in one "
            "process: RSS after each call " + ", ".join(f"{x:.0f}" for x in m["python"]["rssAfterEachMB"])
            + f" MB (peak {m['python']['peakMB']:.0f} MB, of which {m['python']['arraysMB']:.0f} MB the interpreter and the two arrays); "
            f"the CLI's peak on the same files {m['cliPeakMB']:.0f} MB. "
            + (large_pair(r["large"]) if "large" in r else "")
            + "A small 2-D pair registered 100 times: RSS after 10, 50, 100 "
            "calls " + ", ".join(f"{x:.1f}" for x in r["hundred"]["rssAfter10_50_100MB"]) + " MB.\n")


def large_pair(runs):
    """The 1 GB pair from Fortran-order arrays (shared) and from C-order arrays (copied)."""
    def one(r, name):
        return (f"{name}: {r['arraysMB']:.0f} MB with the arrays, {r['imagesMadeMB']:.0f} MB once the images are made, RSS after "
                "each call " + ", ".join(f"{x:.0f}" for x in r["rssAfterEachMB"]) + f" MB, peak {r['peakMB']:.0f} MB")
    first = runs["asfortranarray"]
    return (f"{first['pair']}, three times in one process, "
            + one(first, "from Fortran-order float32 arrays (read in place)") + "; "
            + one(runs["ascontiguousarray"], "from C-order arrays (copied)") + ". ")


def rotations(folder):
    """Large turns recovered by the default `affine` preset (`bench/rotation_recovery.py`), when it has run."""
    runs = [json.load(open(p)) for p in (os.path.join(folder, f) for f in ("rotation_recovery.json", "rotation_recovery_cross.json"))
            if os.path.exists(p)]
    if not runs:
        return ""
    out = ("\n## Large rotations\n\nReal brains (2 mm) whose grid is turned by 60°, 90°, 120° and 180° about random axes, "
           "registered with `swiftreg register --multi-start` (the `affine` preset); end-point error of the "
           "affine against the truth, mean over the brain (`python3 bench/rotation_recovery.py --extra=--multi-start [--cross] [--ants]`; without `--multi-start` 1 of 12 turned subjects is recovered).\n\n"
           "| pairs | turn | SwiftReg EPE mm | SwiftReg s | start kept | ANTs `Affine` EPE mm | ANTs s |\n|---|---:|---:|---:|---|---:|---:|\n")
    for r in runs:
        kind = "another subject turned" if r["cross"] else "the same image turned"
        for c in r["cases"]:
            ants = (f"{c['antsEpeMM']:.1f} | {c['antsSeconds']:.1f}") if "antsEpeMM" in c else "– | –"
            out += (f"| {kind}: {c['fixed'].split('/')[0]} | {c['degrees']}° | {c['epeMM']:.3f} | {c['seconds']:.1f} | {c['start']} | {ants} |\n")
        out += (f"\n{kind.capitalize()}: {r['recovered']} of {r['of']} within 0.5 mm"
                + (f"; ANTs' `Affine` (ANTsPy defaults) {r['antsRecovered']} of {r['of']}" if "antsRecovered" in r else "") + ".\n\n")
    return out


def linear_sampling(path):
    """Which image the linear stages sample in (`bench/linear_sampling.py`), when it has run."""
    if not os.path.exists(path):
        return ""
    run = json.load(open(path))
    out = ("\n## Linear stages: which image is sampled\n\nThe ten whole-head label maps painted at 2 mm (not cropped: map 01 "
           "holds the neck, others end at the cerebellum); all "
           f"{run['pairs']} ordered pairs registered with the `affine` preset, sampling in the image whose content is over 10 % smaller "
           "(`--linear-sampling smaller`, the default) or always in the fixed image (`fixed`, as ANTs and elastix); mean Dice of the carried "
           f"labels over the data README's 30 labels (`python3 bench/linear_sampling.py`, {run['date']}).\n\n"
           "| cohort | sampling | mean Dice | worst | pairs below 0.3 | sampled in the moving image | seconds |\n|---|---|---:|---:|---:|---:|---:|\n")
    for name, rows in run["cohorts"].items():
        for sampling, r in rows.items():
            out += (f"| {name} | {sampling} | {r['meanDice']:.3f} | {r['worstDice']:.3f} | {r['below03']} | {r['sampledInMoving']} "
                    f"| {r['seconds']:.0f} |\n")
    return out


def keypoints(folder):
    """Keypoint matching precision (`bench/keypoint_matching.py`), when it has run."""
    path = os.path.join(folder, "keypoint_matching.json")
    if not os.path.exists(path):
        return ""
    run = json.load(open(path))
    out = ("\n## Keypoint matching\n\n`swiftreg keypoints FIXED --match MOVING` (Förstner points, MIND-SSC descriptors, "
           "cross-checked, `--filter smooth` unless said) on real images moved by a known warp (`synth warp`, up to 15 mm) "
           "or shift; precision is the share of kept matches within 2 mm of the truth (`python3 bench/keypoint_matching.py`, "
           f"{run['threads']} threads, started {run['started']}).\n\n"
           "| case | contrast | points | matched both ways | kept | within 2 mm | median error mm | s |\n"
           "|---|---|---:|---:|---:|---:|---:|---:|\n")
    for c in run["cases"]:
        out += (f"| {c['case']} | {c['kind']} | {c['detected']} | {c['matchedBothWays']} | {c['kept']} | "
                f"{100 * c['within2mm']:.1f} % | {c['medianErrorMM']:.2f} | {c['seconds']:.1f} |\n")
    return out


def guided(folder):
    """SyN and the B-spline stage with and without landmark pairs in the stage (`bench/guided_registration.py`), when it has run."""
    runs = [(preset, json.load(open(os.path.join(folder, name)))) for preset, name in
            (("syn", "guided_registration.json"), ("bspline", "guided_registration_bspline.json")) if os.path.exists(os.path.join(folder, name))]
    if not runs:
        return ""
    out = ("\n## Guided deformable registration\n\n`register --preset syn` (and `--preset bspline`) without and with 20 landmark pairs in "
           "the deformable stage (`--landmarks F M --deformable-landmark-weight W`: for SyN the share of each gap an update closes, for "
           "the B-spline stage the weight of the pairs' mean squared distance in mm²) against a known warp (`synth warp`, up to 15 mm): "
           "the lung CT with 20 of its 100 landmarks and their true places as guides, the other 80 held out; real brains with 20 pairs "
           "from `swiftreg keypoints --match` (found, not true) as guides and the other kept keypoints' true places held out "
           "(`python3 bench/guided_registration.py [--preset bspline]`, 2 threads, started "
           + ", ".join(f"{run['started']} ({preset})" for preset, run in runs) + ").\n\n"
           "| preset | case | W | unregistered mm | held-out TRE mm, unguided | guided | guide error mm, unguided | guided | folded voxels | s, unguided | guided |\n"
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for preset, run in runs:
        for c in run["cases"]:
            u, g = c["unguided"], c["guided"]
            out += (f"| {preset} | {c['case']} | {c['weight']} | {c['unregisteredMM']:.2f} | {u['heldOutTreMM']:.3f} | {g['heldOutTreMM']:.3f} | "
                    f"{u['guideErrorMM']:.3f} | {g['guideErrorMM']:.3f} | {u['foldedVoxels']} / {g['foldedVoxels']} | {u['seconds']} | {g['seconds']} |\n")
    return out


def segmentation(path):
    """The leave-one-out atlas segmentation of `scripts/bench.sh segment`, when it has run."""
    if not os.path.exists(path):
        return ""
    run = json.load(open(path))
    rows = run["targets"]
    size = "256³ (full size)" if run["shrink"] == 1 else f"{256 // run['shrink']}³ (the maps shrunk by {run['shrink']})"
    out = ("\n## Atlas-based segmentation\n\nLeave-one-out on the ten whole-head label maps "
           "(`brain/synthseg_label_maps`), each painted with one shared T1-like contrast (`swiftreg synth contrast --seed 7`), "
           f"at {size}: for each target the other nine are the atlases, registered with `--preset syn` once "
           "(`segment --keep-warps`) and fused every way; Dice over the 30 FreeSurfer labels of the data README. "
           f"{len(rows)} targets, {run['threads']} threads, {run['swiftreg']}, started {run['started']}. "
           "`scripts/bench.sh segment` (add `--shrink 2` for the quick version).\n\n")
    methods = [("oracle", "best single atlas (oracle)"), ("select1", "`--select 1` (NCC after the affine stages)"),
               ("majority", "majority voting"), ("weighted", "locally weighted voting"), ("staple", "STAPLE"),
               ("jlf", "SwiftReg joint label fusion"), ("ants_jlf", "ANTs `antsJointFusion` (antspyx), the same warped atlases")]
    out += "| method | mean Dice | worst target | targets |\n|---|---:|---:|---:|\n"
    for key, name in methods:
        values = [r[key] for r in rows if key in r]
        if values:
            out += f"| {name} | {sum(values) / len(values):.4f} | {min(values):.4f} | {len(values)} |\n"
    seconds = [r["segment_seconds"] for r in rows]
    fusion = [r["phases"]["fusion"] for r in rows]
    out += (f"\n`segment` with JLF (registration of 9 atlases + fusion): mean {sum(seconds) / len(seconds):.0f} s, "
            f"max {max(seconds):.0f} s; fusion alone mean {sum(fusion) / len(fusion):.1f} s; "
            f"peak RSS {max(r['segment_rss_gb'] for r in rows):.2f} GB.\n")
    full = run.get("fullsize")
    if full:
        d, ph = full["dice"], full["phases"]
        out += (f"\nAt full size (256³), target {full['target']}, {full['atlases']} atlases, {full['threads']} threads, the "
                f"default `segment` ({full['swiftreg']}): {full['wall_seconds']:.0f} s in all (reading {ph['read']:.0f} s, "
                f"registrations {ph['registration']:.0f} s, fusion {ph['fusion']:.0f} s, writing {ph['writing']:.0f} s), peak RSS "
                f"{full['peak_rss_gb']:.2f} GB; Dice JLF {d['jlf']:.4f}")
        named = [("weighted", "locally weighted"), ("majority", "majority"), ("oracle", "best single atlas")]
        out += "".join(f", {name} {d[key]:.4f}" for key, name in named if key in d)
        out += ("; single-atlas Dice " + ", ".join(f"{x:.2f}" for x in full["single_atlases"])) if "single_atlases" in full else ""
        out += ".\n"
        if full.get("before"):
            out += f"Before: {full['before']}.\n"
        checks = full.get("finest_level_check", [])
        if checks:
            out += ("\nJoint label fusion with and without SyN's finest level, full size, same host and atlases: "
                    + "; ".join(f"target {c['target']} {c['without']:.4f} without, {c['with']:.4f} with" for c in checks) + ".\n")
    ants = [r for r in rows if "ants_jlf_seconds" in r]
    if ants:
        ids = ", ".join(r["target"] for r in ants)
        mean = lambda key: sum(r[key] for r in ants) / len(ants)
        out += (f"On the targets ANTs ran ({ids}): SwiftReg JLF {mean('jlf'):.4f}, ANTs joint fusion {mean('ants_jlf'):.4f}, "
                f"majority {mean('majority'):.4f}. ANTs joint fusion alone took {mean('ants_jlf_seconds'):.0f} s per target "
                f"(one thread: antspyx's `antsJointFusion` used one core); SwiftReg's whole `segment` (registrations included) "
                f"{mean('segment_seconds'):.0f} s.\n")
    if run.get("ants_synquick_seconds_128"):
        out += (f"One `antsRegistrationSyNQuick[s]` of two of these 128³ images took {run['ants_synquick_seconds_128']:.0f} s "
                "(antspyx), so ANTs' pipeline for one target (nine registrations, then joint fusion) takes about "
                f"{9 * run['ants_synquick_seconds_128'] + (sum(r['ants_jlf_seconds'] for r in ants) / len(ants) if ants else 0):.0f} s.\n")
    return out


def main():
    results_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench/results/results.json")
    out_path = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "docs/BENCHMARKS.md")
    r = json.load(open(results_path))
    m = r["machine"]
    doc = open(os.path.join(ROOT, "bench/BENCHMARKS.head.md")).read()
    doc += f"\n## This run\n\n- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['os']}.\n"
    doc += f"- Every tool ran with {r['threads']} threads; mode: {r['mode']}; started {r['started']}, {r.get('total_s', 0) // 60} min in all.\n"
    days = Counter(row.get("measured", "earlier") for c in r["cases"].values() for t, row in c["tools"].items() if "wall_s" in row)
    avx512 = "" if "avx512" not in m else f" (the latest run's host {'has' if m['avx512'] else 'lacks'} AVX-512)"
    doc += ("- Rows measured: " + ", ".join(f"{d} ({n})" for d, n in sorted(days.items())) + ". Rows of different days may come from"
            " different hosts of this kind and runs drift within an hour, so compare wall times only within a day"
            f"{avx512}.\n")
    doc += "- Versions: " + "; ".join(f"{VERSION_NAMES.get(k, k)}: {v}" for k, v in sorted(r["versions"].items())) + ".\n"
    if r.get("skipped_tools"):
        doc += f"- Not installed, skipped: {', '.join(r['skipped_tools'])}.\n"
    doc += "- Regenerate: `scripts/bench.sh` (full) or `scripts/bench.sh --quick`.\n"
    doc += summary(r)
    for group, title, text, keys in GROUPS:
        cases = [(name, c) for name, c in r["cases"].items() if c["group"] == group]
        if not cases:
            continue
        doc += f"\n## {title}\n\n{text}\n"
        for name, c in sorted(cases):
            doc += f"\n**{c['title']}** (`{name}`)\n\n" + table(c, keys) + "\n"
    doc += commands(r)
    if r.get("kernels"):
        doc += "\n## Kernels\n\nMedian of repeated runs on `brain/clapirn/image_A_fullsize` (160×192×224 floats), " \
               f"{r['threads']} threads: `swiftreg bench` and the same operations through SimpleITK (ITK).\n\n"
        doc += "| kernel | SwiftReg ms | SimpleITK ms |\n|---|---:|---:|\n"
        for name, k in r["kernels"].items():
            s, i = k.get("swiftreg_ms"), k.get("simpleitk_ms")
            doc += f"| {name} | {'–' if s is None else f'{s:.1f}'} | {'–' if i is None else f'{i:.1f}'} |\n"
    doc += segmentation(os.path.join(os.path.dirname(results_path), "segment_loo.json"))
    doc += longitudinal(os.path.join(os.path.dirname(results_path), "longitudinal_sim.json"))
    doc += abnormality(os.path.join(os.path.dirname(results_path), "abnormality_sim.json"))
    doc += template(os.path.dirname(results_path))
    doc += batch(os.path.join(os.path.dirname(results_path), "batch_cohort.json"))
    doc += python_api(os.path.join(os.path.dirname(results_path), "python_api.json"))
    doc += rotations(os.path.dirname(results_path))
    doc += linear_sampling(os.path.join(os.path.dirname(results_path), "linear_sampling.json"))
    doc += keypoints(os.path.dirname(results_path))
    doc += guided(os.path.dirname(results_path))
    check = os.path.join(os.path.dirname(results_path), "evaluator_check.json")
    if os.path.exists(check):
        doc += "\n## The evaluator against an independent computation\n\n" \
               "`bench/check_evaluator.py` recomputes, with numpy and scipy from the files the run left, the numbers " \
               "`swiftreg evaluate` gave (Dice; HD95 by scipy's exact distance transform; folded % and SDlogJ from det J " \
               "taken by numpy in physical space; the endpoint error):\n\n"
        doc += "| case / tool | measure | evaluator | independent |\n|---|---|---:|---:|\n"
        for row in json.load(open(check)):
            for k, v in row.items():
                if isinstance(v, dict):
                    doc += f"| {row['case']} / {row['tool']} | {k} | {v['evaluator']:.6f} | {v['independent']:.6f} |\n"
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    open(out_path + ".tmp", "w").write(doc)
    os.replace(out_path + ".tmp", out_path)
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
