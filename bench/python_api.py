"""The Python package against the command line (issue 36), in one run on this machine:
- overhead: `swiftreg register` (CLI, files in and out) against `swiftreg.register` from Python
  (Image.read, register, save) on the full-size lapirn pair, syn, 2 threads; ten times each, alternated;
- memory: peak RSS of a process registering a 256³ float32 pair (64 MB each, `affine`) four times
  from NumPy arrays, against the CLI's on the same files; RSS after each call;
- RSS over 100 registrations of a small 2-D pair in one process.

With --large, also a 512³ pair (1 GB of arrays) registered three times in one process, once from
float32 arrays in Fortran order (read in place) and once in C order (copied), each in its own process.

Usage: python3 bench/python_api.py [--large] [--record bench/results/python_api.json]
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import swiftreg  # noqa: E402

CLI = os.path.join(ROOT, ".build", "release", "swiftreg")
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data", "brain", "lapirn")


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def child(code):
    """Runs `code` in a fresh Python; returns what it prints as JSON."""
    out = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {os.path.join(ROOT, 'python')!r})\n" + code],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def cli_peak(args):
    """Wall seconds and peak RSS (MB) of one CLI run."""
    start = time.time()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", CLI, *args], check=True, capture_output=True, text=True)
    return time.time() - start, int(r.stderr.strip().splitlines()[-1]) / 1024


# A 512³ pair (1 GB of arrays) registered three times in one process: float32 in Fortran order
# (read in place, no copy) or in C order (copied once, transposed).
LARGE = """
import json, resource, numpy as np, swiftreg
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2 ** 20
g = np.meshgrid(*[np.linspace(-1, 1, 512, dtype=np.float32)] * 3, indexing='ij', sparse=True)
fixed = np.LAYOUT(np.exp(-(g[0] ** 2 + (g[1] / 0.8) ** 2 + (g[2] / 0.7) ** 2) * 4) * 100, dtype=np.float32)
moving = np.LAYOUT(np.exp(-((g[0] - 0.05) ** 2 + (g[1] / 0.75) ** 2 + (g[2] / 0.7) ** 2) * 4) * 100, dtype=np.float32)
arrays = rss()
images = swiftreg.Image(fixed), swiftreg.Image(moving)
made, after = rss(), []
for _ in range(3):
    swiftreg.register(*images, preset="affine", threads=2, progress=False)
    after.append(rss())
print(json.dumps({"pair": "512³ float32 (512 MB each), affine", "layout": "LAYOUT", "arraysMB": arrays, "imagesMadeMB": made,
                  "rssAfterEachMB": after, "peakMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--record")
    parser.add_argument("--large", action="store_true", help="also a 1 GB pair (512³, two arrays), three times")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="pyapi-")
    fixed, moving = (os.path.join(DATA, f"image_{s}_160x192x144.nii.gz") for s in "AB")
    result = {"machine": f"{os.cpu_count()} cores", "threads": 2}

    # Overhead: CLI and Python ten times each, in the order CLI, Python, Python, CLI, … so that a
    # machine that drifts over the run favours neither.
    cli_times, py_times = [], []

    def run_cli(k):
        cli_times.append(cli_peak(["register", "-f", fixed, "-m", moving, "--preset", "syn", "-o", f"{tmp}/cli{k}", "--threads", "2", "-q"])[0])

    def run_python(k):
        py_times.append(child(f"""
import json, time, swiftreg
start = time.time()
r = swiftreg.register(swiftreg.Image.read({fixed!r}), swiftreg.Image.read({moving!r}), preset="syn", threads=2, progress=False)
r.save({tmp + '/py' + str(k)!r})
print(json.dumps(time.time() - start))"""))
    for k in range(10):
        for run in ((run_cli, run_python) if k % 2 == 0 else (run_python, run_cli)):
            run(k)
    result["overhead"] = {"pair": "lapirn A, B (160×192×144), syn", "cliSeconds": cli_times, "pythonSeconds": py_times}

    # Memory: a 256³ pair from NumPy, four times in one process; the CLI on the same files.
    # With --large, a 512³ pair as well (1 GB), three times.
    if args.large:
        result["large"] = {layout: child(LARGE.replace("LAYOUT", layout)) for layout in ("asfortranarray", "ascontiguousarray")}
    big = child(f"""
import json, resource, numpy as np, swiftreg
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2 ** 20
g = np.meshgrid(*[np.linspace(-1, 1, 256, dtype=np.float32)] * 3, indexing='ij', sparse=True)
fixed = np.asfortranarray(np.exp(-(g[0] ** 2 + (g[1] / 0.8) ** 2 + (g[2] / 0.7) ** 2) * 4) * 100, dtype=np.float32)
moving = np.asfortranarray(np.exp(-((g[0] - 0.05) ** 2 + (g[1] / 0.75) ** 2 + (g[2] / 0.7) ** 2) * 4) * 100, dtype=np.float32)
swiftreg.Image(fixed).write({tmp + '/big_fixed.nii.gz'!r}); swiftreg.Image(moving).write({tmp + '/big_moving.nii.gz'!r})
arrays = rss()
after = []
for _ in range(4):
    r = swiftreg.register(swiftreg.Image(fixed), swiftreg.Image(moving), preset="affine", threads=2, progress=False)
    del r
    after.append(rss())
print(json.dumps({{"arraysMB": arrays, "rssAfterEachMB": after, "peakMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))""")
    _, cli_peak_mb = cli_peak(["register", "-f", f"{tmp}/big_fixed.nii.gz", "-m", f"{tmp}/big_moving.nii.gz", "--preset", "affine",
                               "-o", f"{tmp}/big", "--threads", "2", "-q"])
    result["memory"] = {"pair": "256³ float32 (64 MB each), affine", "python": big, "cliPeakMB": cli_peak_mb}

    # 100 registrations in one process.
    result["hundred"] = child("""
import json, numpy as np, swiftreg
def rss():
    return int(open('/proc/self/statm').read().split()[1]) * 4096 / 2 ** 20
g = np.meshgrid(np.arange(64.0), np.arange(64.0), indexing='ij')
f = swiftreg.Image(np.exp(-((g[0] - 30) ** 2 + (g[1] - 32) ** 2) / 200).astype(np.float32))
m = swiftreg.Image(np.exp(-((g[0] - 33) ** 2 + (g[1] - 30) ** 2) / 180).astype(np.float32))
marks = []
for k in range(100):
    swiftreg.register(f, m, preset="syn", progress=False).warped.array
    if k in (9, 49, 99):
        marks.append(rss())
print(json.dumps({"rssAfter10_50_100MB": marks}))""")
    print(json.dumps(result, indent=2))
    if args.record:
        with open(args.record, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
