#!/usr/bin/env python3
"""SwiftReg's benchmark against ANTs, elastix and NiftyReg on real data.

For every case and every installed tool: run the registration with the tool's usual settings
(bench/README.md lists them), timed by /usr/bin/time -v (wall time, peak RSS) with the same
thread count for all; then ask the tool itself to carry the moving labels onto the fixed grid
(nearest neighbour) and to write its whole transform as one displacement field (LPS mm on the
fixed grid, fixed -> moving, as ITK and ANTs write them). One evaluator, `swiftreg evaluate`,
scores every tool the same way: Dice and HD95 of the labels, folded % and SDlogJ of the field
(det J in physical space, direction cosines included), and the endpoint error against the known
transform where there is one. Results go to bench/results/results.json; bench/report.py turns
them into docs/BENCHMARKS.md.

Only the Python standard library is needed; peers are found in PEERS/bin (scripts/install-peers.sh).

Usage: bench/run.py [--quick] [--threads 2] [--tools swiftreg,ants-quick,...] [--cases lapirn,...]
"""
import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOLS = ["none", "swiftreg", "ants-quick", "elastix", "niftyreg", "ants"]
VOXELMORPH_LABELS = "2,3,4,7,8,10,11,12,13,14,15,16,17,18,24,28,31,41,42,43,46,47,49,50,51,52,53,54,60,63"


class Case:
    """One registration problem: images, labels, a mask for the field statistics and, where known, the true transform."""

    def __init__(self, name, title, group, fixed, moving, labels=None, mask=None, truth=None,
                 modality="mono", stage="deformable", dim=3, label_ids=None, quick=False, tools=None):
        self.name, self.title, self.group = name, title, group
        self.fixed, self.moving = fixed, moving
        self.labels = labels          # (fixed labels, moving labels) or None
        self.mask = mask              # non-zero voxels on the fixed grid: where det J and the endpoint error count
        self.truth = truth            # known fixed -> moving displacement field on the fixed grid
        self.modality, self.stage, self.dim = modality, stage, dim
        self.label_ids, self.quick = label_ids, quick
        self.tools = tools            # None: every tool that handles the stage
        self.prep = []                # (output, command) that make the inputs, run when the case runs


def log(message):
    print(message, flush=True)


def run(cmd, logfile, env=None, cwd=None):
    """Runs a command, its output appended to logfile; raises with the log's tail on failure."""
    with open(logfile, "a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        code = subprocess.call(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    if code != 0:
        with open(logfile) as f:
            tail = "".join(f.readlines()[-15:])
        raise RuntimeError(f"{os.path.basename(cmd[0])} exited with {code}; log {logfile}:\n{tail}")


def require_native(binary, allow_portable=False):
    """Exits unless `binary --version` says it is a native build (scripts/build.sh): a test build
    (`swift build -c release --build-tests`) writes the same path with a portable binary, which
    runs some kernels up to 1.7× slower (the σ = 3 field smoothing on a Zen 3 host)."""
    try:
        version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except OSError as error:
        sys.exit(f"{binary}: {error}")
    if "native build" not in version and not allow_portable:
        sys.exit(f"{binary} is not a native build ('{version}'): run scripts/build.sh first, or pass --allow-portable")


def timed(cmd, logfile, env=None, cwd=None):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS in MB)."""
    tfile = logfile + ".time"
    run(["/usr/bin/time", "-v", "-o", tfile] + cmd, logfile, env, cwd)
    text = open(tfile).read()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    return seconds, rss_kb / 1024


class Bench:
    def __init__(self, args):
        self.args = args
        self.threads = args.threads
        self.swiftreg = os.path.join(ROOT, ".build/release/swiftreg")
        self.peers = os.path.abspath(args.peers)
        self.data = os.path.abspath(args.data)
        self.fetched = os.path.join(ROOT, "data")
        self.work = os.path.abspath(args.work)
        self.env = dict(os.environ, ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS=str(self.threads),
                        OMP_NUM_THREADS=str(self.threads), OPENBLAS_NUM_THREADS="1")

    # ---- tools -------------------------------------------------------------------------------

    def peer(self, name):
        path = os.path.join(self.peers, "bin", name)
        return path if os.access(path, os.X_OK) else None

    def available(self, tool):
        needs = {"none": [], "swiftreg": [], "ants": ["antsRegistration", "antsApplyTransforms"],
                 "ants-quick": ["antsRegistration", "antsApplyTransforms"], "elastix": ["elastix", "transformix"],
                 "niftyreg": ["reg_aladin", "reg_f3d", "reg_resample", "reg_transform"]}[tool]
        if tool == "niftyreg" and not os.access(os.path.join(self.peers, "venv/bin/python"), os.X_OK):
            return False
        return all(self.peer(n) for n in needs)

    def sr(self, *args):
        return [self.swiftreg] + list(args)

    def run_none(self, case, d, lg):
        """Before registration: the identity transform."""
        if case.labels:
            run(self.sr("apply", "-i", case.labels[1], "-r", case.fixed, "--interp", "nearest", "-o", f"{d}/labels.nii.gz"), lg)
        run(self.sr("compose", "-r", case.fixed, "-o", f"{d}/field.nii.gz"), lg)
        return 0.0, 0.0

    def run_swiftreg(self, case, d, lg):
        preset = {"deformable": "syn-mi" if case.modality == "multi" else "syn", "affine": "affine", "rigid": "rigid"}[case.stage]
        wall, rss = timed(self.sr("register", "-f", case.fixed, "-m", case.moving, "-o", f"{d}/reg", "--preset", preset,
                                  "--threads", str(self.threads), "--quiet"), lg)
        chain = (["-t", f"{d}/reg_warp.nii.gz"] if case.stage == "deformable" else []) + ["-t", f"{d}/reg_affine.txt"]
        if case.labels:
            run(self.sr("apply", "-i", case.labels[1], "-r", case.fixed, "--interp", "nearest", "-o", f"{d}/labels.nii.gz", *chain), lg)
        run(self.sr("compose", "-r", case.fixed, "-o", f"{d}/field.nii.gz", *chain), lg)
        return wall, rss

    def ants_stages(self, case, quick):
        """antsRegistrationSyN.sh (quick: antsRegistrationSyNQuick.sh) stages, written out."""
        f, m = case.fixed, case.moving
        linear_its = "1000x500x250x0" if quick else "1000x500x250x100"
        shrink, sigmas = ("8x4x2x1", "3x2x1x0vox") if case.dim == 3 else ("4x2x1", "2x1x0vox")
        if case.dim == 2:
            linear_its = "1000x500x250"
        mi = f"MI[{f},{m},1,32,Regular,0.25]"
        stages = ["-t", "Rigid[0.1]", "-m", mi, "-c", f"[{linear_its},1e-6,10]", "-f", shrink, "-s", sigmas]
        if case.stage in ("affine", "deformable"):
            stages += ["-t", "Affine[0.1]", "-m", mi, "-c", f"[{linear_its},1e-6,10]", "-f", shrink, "-s", sigmas]
        if case.stage == "deformable":
            metric = f"MI[{f},{m},1,32]" if quick or case.modality == "multi" else f"CC[{f},{m},1,2]"
            its = "100x70x50x0" if quick else "100x70x50x20"
            stages += ["-t", "SyN[0.1,3,0]", "-m", metric, "-c", f"[{its},1e-6,10]", "-f", shrink, "-s", sigmas]
        return stages

    def run_ants(self, case, d, lg, quick=False):
        dim = str(case.dim)
        cmd = [self.peer("antsRegistration"), "-d", dim, "--float", "1", "-v", "0", "-o", f"{d}/ants_", "-n", "Linear",
               "-w", "[0.005,0.995]", "-u", "0", "-r", f"[{case.fixed},{case.moving},1]"] + self.ants_stages(case, quick)
        wall, rss = timed(cmd, lg, self.env)
        chain = (["-t", f"{d}/ants_1Warp.nii.gz"] if case.stage == "deformable" else []) + ["-t", f"{d}/ants_0GenericAffine.mat"]
        apply = [self.peer("antsApplyTransforms"), "-d", dim, "-r", case.fixed]
        if case.labels:
            run(apply + ["-i", case.labels[1], "-n", "NearestNeighbor", "-o", f"{d}/labels.nii.gz"] + chain, lg, self.env)
        run(apply + ["-o", f"[{d}/field.nii.gz,1]"] + chain, lg, self.env)
        return wall, rss

    def run_elastix(self, case, d, lg):
        metric = "mi" if case.modality == "multi" else "ncc"
        par = os.path.join(ROOT, "bench/elastix")
        params = {"rigid": [f"{par}/rigid2d_mi.txt"], "affine": [f"{par}/affine_{metric}.txt"],
                  "deformable": [f"{par}/affine_{metric}.txt", f"{par}/bspline_{metric}.txt"]}[case.stage]
        out = f"{d}/elastix"
        os.makedirs(out, exist_ok=True)
        cmd = [self.peer("elastix"), "-f", case.fixed, "-m", case.moving, "-out", out, "-threads", str(self.threads)]
        for p in params:
            cmd += ["-p", p]
        wall, rss = timed(cmd, lg, self.env)
        last = f"{out}/TransformParameters.{len(params) - 1}.txt"
        if case.labels:
            # The same transform with nearest-neighbour resampling and integer output.
            text = open(last).read()
            text = re.sub(r"\(FinalBSplineInterpolationOrder \d+\)", "(FinalBSplineInterpolationOrder 0)", text)
            text = re.sub(r'\(ResultImagePixelType "\w+"\)', '(ResultImagePixelType "short")', text)
            nearest = f"{out}/TransformParameters.nearest.txt"
            open(nearest, "w").write(text)
            os.makedirs(f"{out}/labels", exist_ok=True)
            run([self.peer("transformix"), "-in", case.labels[1], "-tp", nearest, "-out", f"{out}/labels",
                 "-threads", str(self.threads)], lg, self.env)
            shutil.move(self.only_file(f"{out}/labels", "result."), f"{d}/labels.nii.gz")
        os.makedirs(f"{out}/field", exist_ok=True)
        run([self.peer("transformix"), "-def", "all", "-tp", last, "-out", f"{out}/field", "-threads", str(self.threads)], lg, self.env)
        shutil.move(self.only_file(f"{out}/field", "deformationField."), f"{d}/field.nii.gz")
        return wall, rss

    @staticmethod
    def only_file(folder, prefix):
        found = [n for n in os.listdir(folder) if n.startswith(prefix)]
        if len(found) != 1:
            raise RuntimeError(f"expected one {prefix}* in {folder}, found {found}")
        return os.path.join(folder, found[0])

    def run_niftyreg(self, case, d, lg):
        omp = ["-omp", str(self.threads)]
        aladin = [self.peer("reg_aladin"), "-ref", case.fixed, "-flo", case.moving, "-aff", f"{d}/aff.txt",
                  "-res", f"{d}/aladin.nii.gz"] + omp + (["-rigOnly"] if case.stage == "rigid" else [])
        wall, rss = timed(aladin, lg, self.env)
        trans = f"{d}/aff.txt"
        if case.stage == "deformable":
            w2, r2 = timed([self.peer("reg_f3d"), "-ref", case.fixed, "-flo", case.moving, "-aff", f"{d}/aff.txt",
                            "-cpp", f"{d}/cpp.nii.gz", "-res", f"{d}/f3d.nii.gz"] + omp, lg, self.env)
            wall, rss, trans = wall + w2, max(rss, r2), f"{d}/cpp.nii.gz"
        if case.labels:
            run([self.peer("reg_resample"), "-ref", case.fixed, "-flo", case.labels[1], "-trans", trans, "-inter", "0",
                 "-res", f"{d}/labels.nii.gz"] + omp, lg, self.env)
        run([self.peer("reg_transform"), "-ref", case.fixed, "-disp", trans, f"{d}/disp_ras.nii.gz"] + omp, lg, self.env)
        # NiftyReg's displacements are in its world (RAS) frame: flip x and y into ITK's LPS.
        run([os.path.join(self.peers, "venv/bin/python"), os.path.join(ROOT, "bench/niftyreg_to_itk.py"),
             f"{d}/disp_ras.nii.gz", f"{d}/field.nii.gz"], lg)
        return wall, rss

    def timed_commands(self, logfile):
        """The registration commands of a tool's log (those run under /usr/bin/time), paths shortened."""
        out = []
        for line in open(logfile):
            if line.startswith("$ /usr/bin/time -v -o "):
                words = line.split()[5:]
                text = " ".join(words)
                for path, short in ((self.work, "WORK"), (self.data, "DATA"), (self.peers + "/bin/", ""), (ROOT + "/", "")):
                    text = text.replace(path, short)
                out.append(text)
        return out

    # ---- cases -------------------------------------------------------------------------------

    def shared(self, rel):
        return os.path.join(self.data, rel)

    def prepare(self):
        """The cases; each carries the commands that make its inputs under WORK/cases (kept between runs)."""
        c = os.path.join(self.work, "cases")
        os.makedirs(c, exist_ok=True)
        cases, pending = [], []

        def once(path, cmd):
            pending.append((path, cmd))
            return path

        def add(case):
            case.prep = list(pending)
            pending.clear()
            cases.append(case)

        lap = self.shared("brain/lapirn")
        if os.path.isdir(lap):
            img = {k: f"{lap}/image_{k}_160x192x144.nii.gz" for k in "AB"}
            seg = {k: self.find(lap, f"image_{k}", "seg") for k in "AB"}
            # The seg of A has its own header: carry it onto image A's grid through physical space.
            seg_a = f"{c}/lapirn_A_seg.nii.gz"
            labels = {"A": seg_a, "B": seg["B"]}
            for f, m in (("B", "A"), ("A", "B")):
                once(seg_a, self.sr("apply", "-i", seg["A"], "-r", img["A"], "--interp", "nearest", "-o", seg_a))
                add(Case(f"lapirn_{m}{f}", f"lapirn {m} → {f} (OASIS, 160×192×144, 2 tissue labels)", "lapirn",
                                  img[f], img[m], labels=(labels[f], labels[m]), mask=labels[f], quick=(m == "A"),
                                  tools=TOOLS))
        else:
            log(f"skipping the lapirn cases: {lap} not found")

        subjects = [("clapirnA", "brain/clapirn/image_A_fullsize.nii.gz", 1), ("symnetA", "brain/symnet/image_A_full_size.nii.gz", 2)]
        for name, rel, seed in subjects:
            image = self.shared(rel)
            if not os.path.exists(image):
                log(f"skipping known-warp {name}: {image} not found")
                continue
            p = f"{c}/kw_{name}"
            once(p + "_true_warp.nii.gz", self.sr("synth", "warp", image, "-o", p, "--max-displacement", "15", "--seed", str(seed)))
            add(Case(f"knownwarp_{name}", f"known warp on {name} (160×192×224, up to 15 mm, 3 intensity classes)",
                              "knownwarp", image, p + "_moving.nii.gz", labels=(p + "_labels.nii.gz", p + "_moving_labels.nii.gz"),
                              mask=p + "_labels.nii.gz", truth=p + "_true_warp.nii.gz",
                              tools=[t for t in TOOLS if t != "ants"]))

        maps = self.shared("brain/synthseg_label_maps")
        for n, (i, j) in enumerate([(1, 2), (3, 4), (5, 6)]):
            fl, ml = f"{maps}/training_seg_{i:02d}.nii.gz", f"{maps}/training_seg_{j:02d}.nii.gz"
            if not (os.path.exists(fl) and os.path.exists(ml)):
                log(f"skipping multi-contrast {i:02d}-{j:02d}: label maps not found in {maps}")
                continue
            p = f"{c}/mc_{i:02d}_{j:02d}"
            once(p + "_fixed.nii.gz", self.sr("synth", "contrast", fl, "--shrink", "2", "--seed", str(2 * n + 1),
                                              "-o", p + "_fixed.nii.gz", "--labels-output", p + "_fixed_labels.nii.gz"))
            once(p + "_moving.nii.gz", self.sr("synth", "contrast", ml, "--shrink", "2", "--seed", str(2 * n + 2),
                                               "-o", p + "_moving.nii.gz", "--labels-output", p + "_moving_labels.nii.gz"))
            add(Case(f"multicontrast_{i:02d}_{j:02d}", f"multi-contrast {j:02d} → {i:02d} (synthetic contrasts, 2 mm, 30 labels)",
                              "multicontrast", p + "_fixed.nii.gz", p + "_moving.nii.gz",
                              labels=(p + "_fixed_labels.nii.gz", p + "_moving_labels.nii.gz"), mask=p + "_fixed_labels.nii.gz",
                              modality="multi", label_ids=VOXELMORPH_LABELS, quick=(n == 0),
                              tools=[t for t in TOOLS if t != "ants"]))

        slices = self.shared("2d/itk_examples")
        if os.path.isdir(slices):
            f, m = f"{c}/itk2d_fixed.nii.gz", f"{c}/itk2d_moving.nii.gz"
            once(f, self.sr("convert", f"{slices}/BrainT1SliceBorder20.png", f, "--type", "float32"))
            once(m, self.sr("convert", f"{slices}/BrainProtonDensitySliceR10X13Y17.png", m, "--type", "float32"))
            once(f"{c}/itk2d_mask.nii.gz", self.sr("convert", f"{slices}/BrainProtonDensitySliceBorder20.png",
                                                   f"{c}/itk2d_mask.nii.gz", "--threshold", "10"))
            once(f"{c}/itk2d_true_warp.nii.gz", self.sr("compose", "-r", f, "-t", os.path.join(ROOT, "bench/itk2d_truth.txt"),
                                                        "-o", f"{c}/itk2d_true_warp.nii.gz"))
            add(Case("itk2d_rigid", "ITK T1 → PD slice rotated 10° and shifted (2-D, rigid, multi-modal)", "itk2d", f, m,
                              mask=f"{c}/itk2d_mask.nii.gz", truth=f"{c}/itk2d_true_warp.nii.gz", modality="multi",
                              stage="rigid", dim=2, quick=True, tools=[t for t in TOOLS if t != "ants"]))

        colin, icbm = f"{self.fetched}/mricron/ch2bet.nii.gz", f"{self.fetched}/icbm2009a/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"
        if os.path.exists(colin) and os.path.exists(icbm):
            gm = f"{self.fetched}/icbm2009a/mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz"
            once(f"{c}/icbm_gm.nii.gz", self.sr("convert", gm, f"{c}/icbm_gm.nii.gz", "--threshold", "0.5"))
            once(f"{c}/icbm_brain.nii.gz", self.sr("convert", icbm, f"{c}/icbm_brain.nii.gz", "--threshold", "1e-6"))
            once(f"{c}/aal_gm.nii.gz", self.sr("convert", f"{self.fetched}/mricron/aal.nii.gz", f"{c}/aal_gm.nii.gz",
                                               "--threshold", "0.5"))
            add(Case("colin27_icbm2009a", "Colin27 → ICBM 2009a (AAL grey matter against the template's GM ≥ 0.5)", "colin",
                              icbm, colin, labels=(f"{c}/icbm_gm.nii.gz", f"{c}/aal_gm.nii.gz"), mask=f"{c}/icbm_brain.nii.gz",
                              tools=[t for t in TOOLS if t != "ants"]))
        else:
            log("skipping Colin27 → ICBM 2009a: run scripts/fetch-data.sh first")

        for name, rel, seed in (("clapirnB", "brain/clapirn/image_B_fullsize.nii.gz", 5),
                                ("symnetB", "brain/symnet/image_B_full_size.nii.gz", 6)):
            image = self.shared(rel)
            if not os.path.exists(image):
                continue
            p = f"{c}/aff_{name}"
            once(p + "_true_warp.nii.gz", self.sr("synth", "affine", image, "-o", p, "--seed", str(seed)))
            add(Case(f"affine_{name}", f"known affine on {name} (up to 10°, ±8 % stretch, 8 mm)", "affine", image,
                              p + "_moving.nii.gz", mask=p + "_labels.nii.gz", truth=p + "_true_warp.nii.gz", stage="affine",
                              tools=[t for t in TOOLS if t != "ants"]))
        return cases

    @staticmethod
    def find(folder, start, contains):
        names = sorted(n for n in os.listdir(folder) if n.startswith(start) and contains in n)
        if not names:
            raise RuntimeError(f"no {start}*{contains}* in {folder}")
        return os.path.join(folder, names[0])

    # ---- scoring -------------------------------------------------------------------------------

    def evaluate(self, case, d, lg):
        cmd = self.sr("evaluate", "--warp", f"{d}/field.nii.gz", "--json", f"{d}/evaluation.json", "--threads", str(self.threads))
        if case.mask:
            cmd += ["--mask", case.mask]
        if case.labels:
            cmd += ["--labels", case.labels[0], f"{d}/labels.nii.gz"]
            if case.label_ids:
                cmd += ["--label-ids", case.label_ids]
        if case.truth:
            cmd += ["--reference-warp", case.truth]
        run(cmd, lg)
        return json.load(open(f"{d}/evaluation.json"))

    @staticmethod
    def summary(evaluation):
        out = {}
        if evaluation.get("labels"):
            e = evaluation["labels"]
            out["dice"], out["hd95"] = e["meanDice"], e.get("meanHD95")
            out["dice_per_label"] = {str(l["id"]): l["dice"] for l in e["labels"]}
        j = evaluation.get("jacobian")
        if j:
            out["folded_percent"], out["sdlogj"] = 100 * j["foldedFraction"], j["sdLogJ"]
            out["min_det_j"] = j["minimum"]
        e = evaluation.get("endpoint")
        if e:
            out["epe_mean"], out["epe_p95"], out["rotation_deg"], out["truth_mean"] = \
                e["meanError"], e["error95"], e["rotationDegrees"], e["meanTruth"]
        return out

    # ---- the run -------------------------------------------------------------------------------

    def machine(self):
        cpu, flags = "unknown", []
        try:
            for line in open("/proc/cpuinfo"):
                if line.startswith("model name") and cpu == "unknown":
                    cpu = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    break
            memory = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")) / 1024 ** 2
        except OSError:
            memory = 0
        return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1), "os": platform.platform(),
                "threads": self.threads, "avx512": "avx512f" in flags}

    def versions(self, tools):
        v = {}
        def first_line(cmd, pattern=None):
            try:
                text = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
            except Exception:
                return "?"
            lines = [l for l in text.splitlines() if l.strip()]
            if pattern:
                lines = [l for l in lines if re.search(pattern, l)] or lines
            return lines[0].strip() if lines else "?"
        v["swiftreg"] = "git " + first_line(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"]) + ", " + \
            first_line([self.swiftreg, "--version"]) + ", " + first_line(["swift", "--version"], "Swift version")
        if "ants" in tools or "ants-quick" in tools:
            v["ants"] = first_line([self.peer("antsRegistration"), "--version"], "Version") + " (PyPI antspyx " + \
                first_line([os.path.join(self.peers, "venv/bin/python"), "-c", "import ants; print(ants.__version__)"]) + ")"
        if "elastix" in tools:
            v["elastix"] = first_line([self.peer("elastix"), "--version"])
        if "niftyreg" in tools:
            v["niftyreg"] = "NiftyReg " + first_line([self.peer("reg_f3d"), "--version"]) + " (PyPI niftyreg)"
        return v

    def kernels(self, lg, repeats):
        image = self.shared("brain/clapirn/image_A_fullsize.nii.gz")
        out = os.path.join(self.work, "kernels.json")
        cmd = self.sr("bench", "--threads", str(self.threads), "--repeats", str(repeats), "--json", out)
        if os.path.exists(image):
            cmd += ["--input", image]
        rows = {}
        for only in ("warp, trilinear", "gaussian", "metric"):
            run(cmd + ["--only", only], lg)
            for k in json.load(open(out))["kernels"]:
                rows[k["kernel"]] = {"swiftreg_ms": k["medianMs"]}
        py = os.path.join(self.peers, "venv/bin/python")
        if os.access(py, os.X_OK) and os.path.exists(image):
            try:
                run([py, os.path.join(ROOT, "bench/kernels_sitk.py"), image, str(self.threads), out], lg)
                for name, ms in json.load(open(out)).items():
                    rows.setdefault(name, {})["simpleitk_ms"] = ms
            except RuntimeError as error:
                log(f"  SimpleITK kernels skipped: {error}")
        return rows

    def main(self):
        if not os.access(self.swiftreg, os.X_OK):
            sys.exit(f"{self.swiftreg} not found: build it first (scripts/build.sh)")
        require_native(self.swiftreg, self.args.allow_portable)
        wanted_tools = self.args.tools.split(",") if self.args.tools else TOOLS
        tools = [t for t in wanted_tools if self.available(t)]
        skipped = [t for t in wanted_tools if t not in tools]
        if skipped:
            log(f"peers not installed, skipped: {', '.join(skipped)} (scripts/install-peers.sh installs them into {self.peers})")
        cases = self.prepare()
        if self.args.quick:
            cases = [c for c in cases if c.quick]
        if self.args.cases:
            keep = self.args.cases.split(",")
            cases = [c for c in cases if any(c.name.startswith(k) or c.group == k for k in keep)]
        results_path = os.path.abspath(self.args.results)
        old = json.load(open(results_path)) if os.path.exists(results_path) and self.args.keep else {}
        results = {"machine": self.machine(), "versions": {**old.get("versions", {}), **self.versions(tools)}, "threads": self.threads,
                   "mode": "quick" if self.args.quick else "full",
                   "skipped_tools": [t for t in skipped if t not in old.get("versions", {})],
                   "started": old.get("started", time.strftime("%Y-%m-%d %H:%M")), "cases": old.get("cases", {})}
        if old.get("kernels"):
            results["kernels"] = old["kernels"]
        start = time.time()
        # With --keep the run time adds up every run whose rows are kept (reruns included).
        earlier = old.get("total_s", 0) if self.args.keep else 0
        for case in cases:
            entry = results["cases"].setdefault(case.name, {"title": case.title, "group": case.group, "stage": case.stage,
                                                             "modality": case.modality, "tools": {}})
            entry["title"] = case.title
            for path, cmd in case.prep:
                if not os.path.exists(path):
                    run(cmd, os.path.join(self.work, "cases", "prepare.log"))
            for tool in tools:
                if case.tools is not None and tool not in case.tools:
                    continue
                if self.args.quick and tool == "ants":
                    continue
                d = os.path.join(self.work, case.name, tool)
                shutil.rmtree(d, ignore_errors=True)
                os.makedirs(d)
                lg = os.path.join(d, "log.txt")
                log(f"{case.name} / {tool} …")
                try:
                    runner = {"none": self.run_none, "swiftreg": self.run_swiftreg, "ants": self.run_ants,
                              "ants-quick": lambda c, dd, l: self.run_ants(c, dd, l, quick=True),
                              "elastix": self.run_elastix, "niftyreg": self.run_niftyreg}[tool]
                    wall, rss = runner(case, d, lg)
                    row = self.summary(self.evaluate(case, d, lg))
                    row.update({"wall_s": wall, "rss_mb": rss, "commands": self.timed_commands(lg), "measured": time.strftime("%Y-%m-%d")})
                except RuntimeError as error:
                    log(f"  FAILED: {error}")
                    row = {"error": str(error).splitlines()[0]}
                entry["tools"][tool] = row
                log("  " + ", ".join(f"{k} {v:.4g}" for k, v in row.items() if isinstance(v, float)))
                results["total_s"] = earlier + round(time.time() - start)
                json.dump(results, open(results_path, "w"), indent=1, sort_keys=True)
        if not self.args.cases or "kernels" in self.args.cases.split(","):
            log("kernels …")
            results["kernels"] = self.kernels(os.path.join(self.work, "kernels.log"), 3 if self.args.quick else 7)
        results["total_s"] = earlier + round(time.time() - start)
        json.dump(results, open(results_path, "w"), indent=1, sort_keys=True)
        log(f"results in {results_path} ({results['total_s']} s)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="lapirn A→B, one multi-contrast pair, the 2-D pair and the kernels; no full ANTs SyN (under 10 minutes)")
    parser.add_argument("--threads", type=int, default=2, help="threads for every tool (default 2)")
    parser.add_argument("--tools", help=f"comma-separated subset of {','.join(TOOLS)}")
    parser.add_argument("--cases", help="comma-separated case names or groups (lapirn, knownwarp, multicontrast, itk2d, colin, affine, kernels)")
    parser.add_argument("--data", default=os.path.join(ROOT, "../shared/data"), help="the shared data folder")
    parser.add_argument("--peers", default=os.path.join(ROOT, "peers"), help="where scripts/install-peers.sh put the peers")
    parser.add_argument("--work", default=os.path.join(ROOT, "out/bench"), help="scratch folder")
    parser.add_argument("--results", default=os.path.join(ROOT, "bench/results/results.json"), help="results file")
    parser.add_argument("--keep", action="store_true", help="keep earlier results of cases and tools not rerun")
    parser.add_argument("--allow-portable", action="store_true", help="time a portable build of swiftreg (default: native builds only)")
    Bench(parser.parse_args()).main()


if __name__ == "__main__":
    main()
