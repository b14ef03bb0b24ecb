#!/usr/bin/env python3
"""Hostile-input campaign against swiftreg's file readers.

Makes small valid seed files with the binary itself (NIfTI-1/2, .nii.gz, MetaImage, NRRD, PNG,
JPEG, ITK/ANTs transforms, displacement fields, landmark files, plans), mutates them with a
seeded RNG (byte-level and format-aware header mutations) and runs the reader commands that
apply to each mutant, each in a fresh output folder, with a 10 s timeout and a 4 GiB address
space limit.

    python3 scripts/mutant-campaign.py --binary .build/release/swiftreg \\
        --count 12000 --seed 1 --work /tmp/campaign/run1

Reports a table of runs per command and outcome: crash (a signal or an exit status other than
0/1/2; rerun with Swift's backtracer for the trap site), hang (killed at 10 s, or info/convert
over 1 s twice), memory (max RSS over 1 GiB, or a failed allocation), unreadable (exit 0 but an
output that swiftreg cannot read back), plus left files (outputs after a failure) and no-name
(exit 1 without the input's name). Every offending mutant is kept with its command line under
WORK/findings/; every run is in WORK/results.jsonl. Exit status 0 iff there are no crashes,
hangs, memory blow-ups or unreadable outputs.
"""

import argparse
import concurrent.futures
import dataclasses
import gzip
import json
import math
import os
import random
import re
import resource
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import zlib
from pathlib import Path

TIMEOUT_S = 10.0
HANG_BAR_S = 1.0                # info/convert of a tiny file slower than this is a hang
MEMORY_BAR_KB = 1 << 20         # 1 GiB of resident memory
ADDRESS_LIMIT = 4 << 30         # prlimit --as, keeps runaway allocations off the machine
BOMB_BYTES = 1536 << 20         # what the decompression bombs inflate to
INFLATE_LIMIT = 64 << 20        # this process never inflates more: a child's ru_maxrss
                                # starts from its parent's peak RSS
BAR_COMMANDS = {"info", "convert"}
OFFENDING = ("crash", "hang", "memory", "unreadable")
OUTCOMES = ("ok", "rejected") + OFFENDING
FLAGS = ("left-files", "no-name", "slow")
IMAGE_SUFFIXES = (".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".nhdr", ".png")
RUN_ENV = dict(os.environ, SWIFT_BACKTRACE="enable=no")
BACKTRACE_ENV = dict(os.environ, SWIFT_BACKTRACE="enable=yes,interactive=no,color=no")
BACKTRACE_TIMEOUT_S = 120.0
NAN, INF = float("nan"), float("inf")

# ----------------------------------------------------------------------------- seeds

REG_FAST = ["--shrink", "1", "--sigmas", "0", "--iterations", "5", "--deformable-shrink", "1",
            "--deformable-sigmas", "0", "--deformable-iterations", "3", "--step", "0.3",
            "--sampling", "1"]
OBLIQUE = [[1.2 * math.cos(0.3), -math.sin(0.3), 0.0, 10.5],
           [1.2 * math.sin(0.3), math.cos(0.3), 0.0, -7.25],
           [0.0, 0.0, 2.0, 3.0]]
PLANE = [[1.0, 0.0, 0.0, 5.0], [0.0, 1.5, 0.0, -3.0], [0.0, 0.0, 1.0, 0.0]]
ROT_TFM = ("#Insight Transform File V1.0\n#Transform 0\nTransform: AffineTransform_double_3_3\n"
           "Parameters: 0.98 -0.17 0.05 0.17 0.98 0 -0.05 0 1.1 2.5 -1 0.75\n"
           "FixedParameters: 1 2 3\n")
POINTS_CSV = "x,y,z,label\n1,2,3,a\n-4.5,6,7.25,b\n0,0,0,\n12.5,-3,4,d\n"
ELASTIX_POINTS = "point\n3\n1 2 3\n-4.5 6 7.25\n0 0 0\n"


@dataclasses.dataclass
class Seed:
    name: str                   # main file name
    fmt: str                    # mutator family
    role: str                   # which commands read it
    files: dict                 # file name -> bytes, the main file and its companions
    compressed: bool = False    # attached voxel data is deflated (MetaImage, NRRD)


def swiftreg(binary, *args, cwd=None):
    proc = subprocess.run([binary, *map(str, args)], cwd=cwd, capture_output=True)
    if proc.returncode != 0:
        sys.exit(f"seed step failed: swiftreg {shlex.join(map(str, args))}\n"
                 f"{proc.stderr.decode(errors='replace')}")
    return proc.stdout


def write_nifti1(path, dims, affine, values, endian="<", datatype=16, scale=(1.0, 0.0)):
    """A NIfTI-1 file by hand: float32 (16) or int16 (4) voxels, sform from `affine`."""
    code, bitpix = {16: ("f", 32), 4: ("h", 16)}[datatype]
    spacing = [math.sqrt(sum(affine[r][c] ** 2 for r in range(3))) for c in range(3)]
    header = bytearray(352)
    pack = lambda fmt, offset, *v: struct.pack_into(endian + fmt, header, offset, *v)
    pack("i", 0, 348)
    pack("8h", 40, len(dims), *dims, *[1] * (7 - len(dims)))
    pack("2h", 70, datatype, bitpix)
    pack("8f", 76, 1.0, *spacing, 1.0, 1.0, 1.0, 1.0)
    pack("3f", 108, 352.0, *scale)
    pack("B", 123, 2)
    pack("h", 254, 1)
    for row in range(3):
        pack("4f", 280 + 16 * row, *affine[row])
    header[344:348] = b"n+1\0"
    stored = [(v - scale[1]) / scale[0] for v in values]
    if datatype == 4:
        stored = [round(v) for v in stored]
    path.write_bytes(bytes(header) + struct.pack(f"{endian}{len(stored)}{code}", *stored))


def make_images(binary, sdir):
    n3 = 16 * 12 * 6
    values3 = [float((i * 7) % 23) for i in range(n3)]
    write_nifti1(sdir / "vol3d.nii", (16, 12, 6), OBLIQUE, values3)
    write_nifti1(sdir / "vol2d.nii", (20, 16), PLANE, [float((i % 20) * (i // 20) % 50) for i in range(320)])
    write_nifti1(sdir / "vol3d_be.nii", (16, 12, 6), OBLIQUE, values3, ">", 4, (0.5, 1.0))
    for target, extra in [("vol3d.nii.gz", []), ("vol3d.mha", []), ("vol3dz.mha", ["--compress"]),
                          ("vol3d.mhd", []), ("vol3d.nrrd", []), ("vol3dz.nrrd", ["--compress"]),
                          ("vol3dn.nhdr", []), ("vol3d_n2.nii", ["--nifti2"])]:
        swiftreg(binary, "convert", sdir / "vol3d.nii", sdir / target, *extra)
    swiftreg(binary, "convert", sdir / "vol2d.nii", sdir / "vol2d.png", "--type", "uint8")
    swiftreg(binary, "convert", sdir / "vol2d.nii", sdir / "vol2d16.png", "--type", "uint16")
    return values3


def find_jpegs():
    """Small JPEGs that ship with Python's test suite, else the first few under /usr/share."""
    stdlib = Path(sysconfig.get_paths()["stdlib"]) / "test" / "imghdrdata"
    found = [p for p in (stdlib / "python.jpg", stdlib / "python-raw.jpg") if p.is_file()]
    if not found:
        found = sorted(p for p in Path("/usr/share").rglob("*.jp*g") if p.stat().st_size < 65536)[:2]
    return found


def make_references(binary, rdir, values3):
    """Files the runs read unmutated: a 3-D pair, its registration, a points file."""
    rdir.mkdir()
    write_nifti1(rdir / "fixed3d.nii", (16, 12, 6), OBLIQUE, values3)
    write_nifti1(rdir / "moving3d.nii", (16, 12, 6), OBLIQUE, values3[1:] + values3[:1])
    swiftreg(binary, "register", "-f", rdir / "fixed3d.nii", "-m", rdir / "moving3d.nii",
             "-o", rdir / "reg", "--preset", "syn", "-q", *REG_FAST)
    (rdir / "points.csv").write_text(POINTS_CSV)
    return {"image": rdir / "fixed3d.nii", "moving": rdir / "moving3d.nii",
            "points": rdir / "points.csv", "affine": rdir / "reg_affine.txt"}


def make_other_seeds(binary, sdir, refs):
    rdir = refs["image"].parent
    shutil.copy(rdir / "reg_affine.txt", sdir / "affine.txt")
    shutil.copy(rdir / "reg_affine.mat", sdir / "affine.mat")
    shutil.copy(rdir / "reg_warp.nii.gz", sdir / "warp.nii.gz")
    swiftreg(binary, "convert", sdir / "warp.nii.gz", sdir / "warp.nrrd")
    (sdir / "rot.tfm").write_text(ROT_TFM)
    (sdir / "points.csv").write_text(POINTS_CSV)
    swiftreg(binary, "apply-points", "-p", sdir / "points.csv", "-o", sdir / "points.fcsv")
    (sdir / "elastix.txt").write_text(ELASTIX_POINTS)
    plan_args = ["register", "-f", refs["image"], "-m", refs["moving"], "-o", "r",
                 "--preset", "syn", *REG_FAST, "--print-plan"]
    (sdir / "plan.yaml").write_bytes(swiftreg(binary, *plan_args))
    (sdir / "plan.json").write_bytes(swiftreg(binary, *plan_args, "--plan-format", "json"))


SEED_TABLE = [  # name, fmt, role, companion, compressed
    ("vol3d.nii", "nifti1", "image", None, False), ("vol2d.nii", "nifti1", "image", None, False),
    ("vol3d_be.nii", "nifti1", "image", None, False), ("vol3d_n2.nii", "nifti2", "image", None, False),
    ("vol3d.nii.gz", "niftigz", "image", None, False), ("vol3d.mha", "meta", "image", None, False),
    ("vol3dz.mha", "meta", "image", None, True), ("vol3d.mhd", "meta", "image", "vol3d.raw", False),
    ("vol3d.nrrd", "nrrd", "image", None, False), ("vol3dz.nrrd", "nrrd", "image", None, True),
    ("vol3dn.nhdr", "nrrd", "image", "vol3dn.raw", False), ("vol2d.png", "png", "image", None, False),
    ("vol2d16.png", "png", "image", None, False), ("affine.txt", "itk", "transform", None, False),
    ("rot.tfm", "itk", "transform", None, False), ("affine.mat", "mat", "transform", None, False),
    ("warp.nii.gz", "niftigz", "field", None, False), ("warp.nrrd", "nrrd", "field", None, False),
    ("points.csv", "csv", "points", None, False), ("points.fcsv", "fcsv", "points", None, False),
    ("elastix.txt", "elastix", "points", None, False), ("plan.yaml", "yaml", "plan", None, False),
    ("plan.json", "json", "plan", None, False),
]


def make_seeds(binary, sdir):
    """Writes the seed files and the reference files; returns (seeds, refs)."""
    sdir.mkdir(parents=True)
    values3 = make_images(binary, sdir)
    refs = make_references(binary, sdir / "ref", values3)
    make_other_seeds(binary, sdir, refs)
    table = list(SEED_TABLE)
    for jpeg in find_jpegs():
        shutil.copy(jpeg, sdir / jpeg.name)
        table.append((jpeg.name, "jpeg", "image", None, False))
    seeds = []
    for name, fmt, role, companion, compressed in table:
        files = {name: (sdir / name).read_bytes()}
        if companion:
            files[companion] = (sdir / companion).read_bytes()
        seeds.append(Seed(name, fmt, role, files, compressed))
    return seeds, refs


# ----------------------------------------------------------------------------- byte mutations

def bit_flip(rng, data):
    b = bytearray(data)
    spots = [rng.randrange(len(b)) for _ in range(rng.choice([1, 1, 2, 4, 8]))]
    for p in spots:
        b[p] ^= 1 << rng.randrange(8)
    return bytes(b), f"bit flips at {spots}"


def overwrite_bytes(rng, data):
    p, n = rng.randrange(len(data)), rng.choice([1, 2, 4, 8, 16])
    fill = rng.choice(["random", 0x00, 0xFF, 0x7F, 0x80])
    chunk = rng.randbytes(n) if fill == "random" else bytes([fill]) * n
    return data[:p] + chunk + data[p + n:], f"overwrite {n} bytes at {p} with {fill}"


def insert_run(rng, data):
    p, n = rng.randrange(len(data) + 1), rng.choice([1, 4, 16, 256, 4096])
    chunk = rng.randbytes(n) if rng.random() < 0.5 else bytes([rng.randrange(256)]) * n
    return data[:p] + chunk + data[p:], f"insert {n} bytes at {p}"


def delete_run(rng, data):
    p, n = rng.randrange(len(data)), rng.choice([1, 2, 4, 16, 256])
    return data[:p] + data[p + n:], f"delete {n} bytes at {p}"


def truncate(rng, data):
    limit = len(data) if rng.random() < 0.5 else min(len(data), 600)
    p = rng.randrange(limit)
    return data[:p], f"truncate at {p} of {len(data)}"


def duplicate_chunk(rng, data):
    a = rng.randrange(len(data))
    chunk = data[a:a + rng.choice([4, 16, 64, 512])] * rng.choice([1, 2, 16])
    p = rng.randrange(len(data) + 1)
    return data[:p] + chunk + data[p:], f"duplicate {len(chunk)} bytes from {a} at {p}"


BYTE_OPS = (bit_flip, overwrite_bytes, insert_run, delete_run, truncate, duplicate_chunk)


def random_byte_op(rng, data):
    if not data:
        return b"\0", "empty file -> one NUL"
    return rng.choice(BYTE_OPS)(rng, data)


def float_specials(rng, data, start=0, endian="<"):
    """Overwrites a few aligned float32 voxels with NaN, infinities, extremes."""
    if len(data) < start + 4:
        return random_byte_op(rng, data)
    b = bytearray(data)
    count = rng.choice([1, 4, 64])
    for _ in range(count):
        p = start + 4 * rng.randrange((len(b) - start) // 4)
        struct.pack_into(endian + "f", b, p, rng.choice([NAN, INF, -INF, 3.4e38, -3.4e38, 1e-45]))
    return bytes(b), f"{count} float voxels -> NaN/inf/extremes"


# ----------------------------------------------------------------------------- text mutations

NUM_RE = r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
EXTREMES = ["0", "-1", "1e308", "-1e308", "2147483647", "2147483648", "-2147483648", "4294967296",
            "99999999999", "9223372036854775807", "18446744073709551616", "nan", "inf", "-inf",
            "1e-320", "-0", "0.5", "65536", "1e9"]
DATA_FILES = ["/dev/zero", "/dev/urandom", "/dev/stdin", "/dev/null", "/proc/self/mem",
              "../../etc/passwd", "/etc/passwd", "/", ".", "", "missing.raw",
              "vol%d.raw 0 2147483647 1", "vol%03d.raw 1 99999999 1", "vol%d.raw 0 -1 1",
              "vol%d.raw 5 0 -1", "vol%d.raw 0 2 0", "LIST\nvol3d.raw\nvol3d.raw", "x" * 5000]
META_WORDS = [
    (r"(?<=ElementType = )\S+", ["MET_UCHAR", "MET_CHAR", "MET_SHORT", "MET_USHORT", "MET_INT",
                                 "MET_UINT", "MET_LONG", "MET_ULONG", "MET_LONG_LONG",
                                 "MET_ULONG_LONG", "MET_DOUBLE", "MET_NONE", "MET_OTHER",
                                 "MET_STRING", "MET_FLOAT_ARRAY", "MET_UCHAR_ARRAY", "float", ""]),
    (r"(?<=ObjectType = )\S+", ["Transform", "Mesh", ""]),
    (r"(?<=BinaryData = )\S+", ["False", "false", "0"]),
    (r"(?<=BinaryDataByteOrderMSB = )\S+", ["True", "true", "1"]),
    (r"(?<=CompressedData = )\S+", ["True", "False", "gzip"]),
    (r"(?<=AnatomicalOrientation = )\S+", ["RAI", "XYZ", "LLL", ""]),
    (r"^\w+(?= =)", ["NDims", "DimSize", "ElementSpacing", "ElementSize", "Offset", "Position",
                     "TransformMatrix", "Orientation", "ElementNumberOfChannels", "HeaderSize",
                     "CompressedDataSize", "ElementDataFile", "Unknown"]),
]
META_LINES = ["NDims = 0", "NDims = 10", "NDims = 2147483647", "NDims = -1", "DimSize = 0 0 0",
              "DimSize = 2147483647 2147483647 2147483647", "DimSize = 65536 65536 65536",
              "DimSize = 16 12", "DimSize = -16 12 6", "ElementNumberOfChannels = 0",
              "ElementNumberOfChannels = 3", "ElementNumberOfChannels = 2147483647",
              "ElementNumberOfChannels = -1", "HeaderSize = -1", "HeaderSize = 99999999",
              "HeaderSize = 1", "CompressedData = True", "CompressedDataSize = 0",
              "CompressedDataSize = 99999999999", "ElementSpacing = 0 0 0",
              "ElementSpacing = nan inf -inf", "ElementSize = 0 0 0",
              "TransformMatrix = 0 0 0 0 0 0 0 0 0", "TransformMatrix = nan 0 0 0 nan 0 0 0 nan",
              "Offset = 1e308 -1e308 nan", "ElementType = MET_DOUBLE", "ElementType = MET_UCHAR",
              "BinaryData = False", "BinaryDataByteOrderMSB = True", "ElementDataFile = LOCAL",
              "ElementDataFile = LIST"]
NRRD_WORDS = [
    (r"(?<=type: ).+", ["uchar", "signed char", "short", "ushort", "int", "uint", "longlong",
                        "ulonglong", "double", "block", "int64", "unsigned long long int",
                        "float16", "bool", ""]),
    (r"(?<=encoding: ).+", ["raw", "gzip", "gz", "bzip2", "bz2", "hex", "ascii", "text", "txt",
                            "zstd", "base64", ""]),
    (r"(?<=endian: ).+", ["big", "none", "middle", ""]),
    (r"(?<=kinds: ).+", ["vector domain domain", "domain domain domain domain",
                         "RGB-color domain domain", "3D-matrix domain domain", "none none none",
                         "list", ""]),
    (r"(?<=space: ).+", ["right-anterior-superior", "scanner-xyz", "3D-right-handed",
                         "left-posterior-superior-time", "RAS", ""]),
    (r"(?<=space directions: ).+", ["none (1,0,0) (0,1,0)", "(1,0,0) (0,1,0)",
                                    "(0,0,0) (0,0,0) (0,0,0)", "(nan,0,0) (0,inf,0) (0,0,-inf)",
                                    "(1,0) (0,1) (1,1)", "none none none", "(1,0,0", ""]),
    (r"(?<=space origin: ).+", ["(nan,nan,nan)", "(1e308,1e308,1e308)", "(1,2)", "()", "none", ""]),
    (r"^NRRD\d+", ["NRRD0001", "NRRD0005", "NRRD9999", "NRRD", "nrrd0004"]),
    (r"(?<=dimension: ).+", ["0", "1", "2", "4", "16", "2147483647", "-1", "x"]),
    (r"^[a-z ]+(?=:)", ["type", "dimension", "sizes", "spacings", "space directions", "kinds",
                        "endian", "encoding", "space origin", "data file", "byte skip",
                        "line skip", "unknown field"]),
]
NRRD_LINES = ["byte skip: -1", "byte skip: 99999999", "byte skip: 4608", "line skip: 2147483647",
              "line skip: 3", "encoding: gzip", "encoding: hex", "encoding: ascii",
              "encoding: bzip2", "endian: big", "type: block", "block size: 0",
              "block size: 2147483647", "dimension: 1000", "sizes: 0 0 0",
              "sizes: 2147483647 2147483647 2147483647", "space dimension: 1000000",
              "space dimension: 2", "measurement frame: (nan,0,0) (0,0,0) (0,0,0)",
              "spacings: nan 0 -1", "thicknesses: 0 0 0", "centers: cell cell cell",
              "kinds: vector domain domain", "space directions: none none none",
              "data file: LIST", "content: " + "x" * 100000, "key:=value", ":"]
ITK_WORDS = [
    (r"(?<=Transform: )\S+", ["AffineTransform_double_2_2", "AffineTransform_float_3_3",
                              "MatrixOffsetTransformBase_double_3_3", "Euler3DTransform_double_3_3",
                              "VersorRigid3DTransform_double_3_3", "Rigid2DTransform_double_2_2",
                              "ScaleTransform_double_3_3", "TranslationTransform_double_3_3",
                              "IdentityTransform_double_3_3", "CompositeTransform_double_3_3",
                              "DisplacementFieldTransform_double_3_3",
                              "BSplineTransform_double_3_3", "AffineTransform_double_1000_1000",
                              "AffineTransform_double_0_0", "AffineTransform_double_99999999999_3",
                              "Foo", ""]),
    (r"^#Insight Transform File V1\.0", ["#Insight Transform File V2.0", "#Insight Transform File",
                                         "#", "Insight"]),
    (r"\bParameters:", ["FixedParameters:", "Parameters :", "parameters:", "Parameters"]),
    (r"\bFixedParameters:", ["Parameters:", "FixedParameters"]),
    (r"^#Transform \d+", ["#Transform 1", "#Transform -1", "#Transform"]),
]
ITK_LINES = ["#Transform 1", "Transform: AffineTransform_double_3_3",
             "Parameters: 1 0 0 0 1 0 0 0 1 0 0 0", "Parameters: " + "1 " * 200000, "Parameters:",
             "FixedParameters:", "FixedParameters: nan nan nan",
             "Transform: CompositeTransform_double_3_3",
             "Transform: DisplacementFieldTransform_double_3_3",
             "Parameters: 0 0 0 0 0 0 0 0 0 0 0 0"]
POINT_WORDS = [
    (r"^x,y,z(,label)?", ["x;y;z", "X,Y,Z", "z,y,x", "x,y", "x,y,z,label,extra", "", "label,x,y,z"]),
    (r",", [";", " ", "\t", ",,", ""]),
    (r"(?<=CoordinateSystem = )\S+", ["LPS", "RAS", "0", "1", "2", "IJK", "foo", ""]),
    (r"(?<=columns = ).+", ["x,y,z", "id,label,x,y,z", "", "id", "id,x,y,z,ow,ox,oy,oz"]),
    (r"(?<=version = )[\d.]+", ["3.6", "5.0", "0", ""]),
    (r"^point", ["index", "POINT", "Point", "points", ""]),
]
POINT_LINES = ["1,2", "1,2,3,4,5,6", "", "  ", ",,,", "nan,inf,-inf", "1e999,0,0",
               '"1","2","3"', "# comment", "1 2 3", '1,2,3,"unterminated', "x,y,z", "a,b,c",
               "0x10,0,0", "," * 100000, "1 2", "1 2 3 4", "nan nan nan", "999999999999",
               "index", "point"]
PLAN_WORDS = [
    (r"\b(syn|rigid|affine|mi|lncc|rsgd|random|voxels|moments|false|true)\b",
     ["syn", "syn-mi", "demons", "bspline", "quick", "translation", "rigid", "similarity",
      "affine", "mse", "ncc", "mi", "nmi", "mad", "lncc", "adam", "lbfgs", "rsgd", "grid",
      "random", "mm", "voxels", "none", "geometry", "principalAxes", "landmarks", "true",
      "false", "null", "", "foo", "1", "-1", "1e308", "[]", "{}"]),
    (r"\b\w+(?=\"?:)", ["unknown", "preset", "linear", "deformable", "metrics", "shrink",
                                  "iterations", "step", "radius", "bins", "seed", "inputs"]),
]
PLAN_LINES = ["unknown: 1", "linear: []", "linear:", "deformable: null", "deformable: []",
              "inputs: {}", "preset: syn", "- model: affine", "  shrink: [0]",
              "  iterations: [2147483647]", "shrink: [" + ",".join(["1"] * 100000) + "]", "---",
              "...", "%YAML 1.2", "!!binary AAAA", "x: &a [1]", "y: *a", "z: *undefined",
              '"unknown": 1,', '"linear": [],', '"deformable": null,', ",", "{", "}", "[",
              '"x": 1e999,', '"x": NaN,', '"x": "\\ud800",']
LIST_VALUES = ["[]", "[0]", "[-1]", "[1e308]", "[nan]", "[.nan]", "[2147483647]",
               "[1,1,1,1,1,1,1,1,1,1,1,1]", '["a"]', "[[1]]", "1", "null", "{}"]
TEXT_VOCAB = {"meta": (META_WORDS, META_LINES), "nrrd": (NRRD_WORDS, NRRD_LINES),
              "itk": (ITK_WORDS, ITK_LINES), "csv": (POINT_WORDS, POINT_LINES),
              "fcsv": (POINT_WORDS, POINT_LINES), "elastix": (POINT_WORDS, POINT_LINES),
              "yaml": (PLAN_WORDS, PLAN_LINES), "json": (PLAN_WORDS, PLAN_LINES)}


def pick_match(rng, pattern, text):
    matches = list(re.finditer(pattern, text, re.M))
    return rng.choice(matches) if matches else None


def replace_span(text, span, new):
    return text[:span[0]] + new + text[span[1]:]


def replace_match(rng, text, fmt, pattern, make, fallback):
    """Replaces one match of `pattern` by `make(rng)`; `fallback` mutates when nothing matches."""
    m = pick_match(rng, pattern, text)
    if not m:
        return fallback(rng, text, fmt)
    new = make(rng)
    shown = repr(new) if len(new) <= 60 else f"{len(new)} chars"
    return replace_span(text, m.span(), new), f"{m.group()!r} -> {shown}"


def number_extreme(rng, text, fmt):
    return replace_match(rng, text, fmt, NUM_RE, lambda r: r.choice(EXTREMES), delete_line)


def long_number(rng, text, fmt):
    def make(r):
        n = r.choice([400, 100_000, 1_000_000])
        return r.choice(["9" * n, "0." + "0" * n + "1", "1e" + "9" * n])
    return replace_match(rng, text, fmt, NUM_RE, make, insert_line)


def number_count(rng, text, fmt):
    """Drops one number of a list, or appends extra ones (a count mismatch)."""
    lines = text.split("\n")
    candidates = [i for i, line in enumerate(lines) if len(re.findall(NUM_RE, line)) >= 2]
    if not candidates:
        return number_extreme(rng, text, fmt)
    i = rng.choice(candidates)
    nums = list(re.finditer(NUM_RE, lines[i]))
    if rng.random() < 0.5:
        m = rng.choice(nums)
        lines[i] = replace_span(lines[i], (m.start(), min(m.end() + 1, len(lines[i]))), "")
        return "\n".join(lines), f"line {i + 1}: dropped {m.group()!r}"
    sep = lines[i][nums[-2].end():nums[-1].start()] or " "
    k = rng.choice([1, 3, 1000])
    end = nums[-1].end()
    lines[i] = lines[i][:end] + (sep + "1") * k + lines[i][end:]
    return "\n".join(lines), f"line {i + 1}: {k} extra numbers"


def delete_line(rng, text, fmt):
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    return "\n".join(lines[:i] + lines[i + 1:]), f"deleted line {i + 1} {lines[i][:40]!r}"


def duplicate_line(rng, text, fmt):
    lines = text.split("\n")
    i = rng.randrange(len(lines))
    return "\n".join(lines[:i + 1] + lines[i:]), f"duplicated line {i + 1} {lines[i][:40]!r}"


def insert_line(rng, text, fmt):
    lines = text.split("\n")
    new = rng.choice(TEXT_VOCAB[fmt][1])
    i = rng.randrange(len(lines)) if rng.random() < 0.8 else len(lines)
    return "\n".join(lines[:i] + [new] + lines[i:]), f"inserted at line {i + 1}: {new[:60]!r}"


def swap_word(rng, text, fmt):
    pattern, choices = rng.choice(TEXT_VOCAB[fmt][0])
    return replace_match(rng, text, fmt, pattern, lambda r: r.choice(choices), insert_line)


def data_file(rng, text, fmt):
    """Points the voxel data (or a plan's input image) at a hostile path."""
    value = rng.choice(DATA_FILES)
    pattern, line = {"meta": (r"^ElementDataFile *=.*$", "ElementDataFile = "),
                     "nrrd": (r"^data ?file:.*$", "data file: "),
                     "yaml": (r"(?<=fixed: ).*$|(?<=moving: ).*$", ""),
                     "json": (r'(?<="fixed": ").*?(?=")|(?<="moving": ").*?(?=")', "")}[fmt]
    m = pick_match(rng, pattern, text)
    if m:
        return replace_span(text, m.span(), line + value), f"data file -> {value[:40]!r}"
    body = text.rstrip("\n")
    return body + "\n" + line + value + text[len(body):], f"added data file {value[:40]!r}"


def list_value(rng, text, fmt):
    m = pick_match(rng, r"\[[^\[\]\n]*\]", text)
    if not m:
        return swap_word(rng, text, fmt)
    new = rng.choice(LIST_VALUES)
    return replace_span(text, m.span(), new), f"list {m.group()!r} -> {new}"


def nest_bomb(rng, text, fmt):
    depth = rng.choice([64, 1000, 100_000])
    m = pick_match(rng, r"\[[^\[\]\n]*\]", text)
    span = m.span() if m else (len(text), len(text))
    return replace_span(text, span, "[" * depth + "]" * depth), f"{depth} nested lists"


def alias_bomb(rng, text, fmt):
    """YAML 'billion laughs': nine levels of nine aliases each."""
    lines = ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for k in range(1, 10):
        lines.append(f"lol{k}: &l{k} [" + ", ".join([f"*l{k - 1}"] * 9) + "]")
    return text.rstrip("\n") + "\n" + "\n".join(lines) + "\n", "YAML alias bomb (9^9)"


TEXT_OPS = [number_extreme, number_extreme, number_extreme, number_count, long_number,
            delete_line, duplicate_line, swap_word, swap_word, insert_line, insert_line]


def encoding_op(rng, header):
    """Byte-level text damage: line endings, NULs, invalid UTF-8, BOM, whitespace, case."""
    kind = rng.choice(["crlf", "cr", "nul", "utf8", "bom", "chomp", "tabs", "upper"])
    if kind == "crlf":
        return header.replace(b"\n", b"\r\n"), "CRLF line ends"
    if kind == "cr":
        return header.replace(b"\n", b"\r"), "CR line ends"
    if kind in ("nul", "utf8"):
        p = rng.randrange(len(header) + 1)
        junk = b"\0" if kind == "nul" else b"\xff\xfe\xc3\x28\xed\xa0\x80"
        return header[:p] + junk + header[p:], f"{kind} bytes at {p}"
    if kind == "bom":
        return b"\xef\xbb\xbf" + header, "UTF-8 BOM"
    if kind == "chomp":
        return header.rstrip(b"\n"), "no final newline"
    if kind == "tabs":
        return header.replace(b" ", b"\t"), "spaces -> tabs"
    return header.upper(), "upper case"


# ----------------------------------------------------------------------------- format-aware mutations

INT16_EXT = [0, -1, 1, 2, 3, 7, 8, 255, 32767, -32768]
INT64_EXT = [0, -1, 1, 3, 2**31 - 1, 2**31, 2**32, 2**62, 2**63 - 1, -2**63]
FLOAT_EXT = [0.0, -0.0, -1.0, 1e-45, 1e-38, 1e20, 1e38, -3.4e38, NAN, INF, -INF]
DOUBLE_EXT = FLOAT_EXT + [1e308, -1e308, 5e-324]
DATATYPES = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 768, 1024, 1280, 1536, 1792, 2048, 2304,
             255, -1, 32767]
BITPIX = [0, 1, 7, 8, 16, 24, 32, 64, 128, -8, 32767]
QUATERN = [0.0, 1.0, -1.0, 2.0, 0.7071068, NAN, INF, 1e38]
XFORM_CODES = [0, 1, 2, 3, 4, 5, -1, 32767]
NIFTI1_FIELDS = [  # name, offset, count, struct code, values
    ("sizeof_hdr", 0, 1, "i", [0, -1, 540, 347, 349, 2**31 - 1]),
    ("dim_info", 39, 1, "B", [0, 255, 0x39]),
    ("dim[0]", 40, 1, "h", [0, -1, 1, 2, 3, 4, 5, 7, 8, 9, 32767, -32768]),
    ("dim[1..7]", 42, 7, "h", INT16_EXT),
    ("intent_p", 56, 3, "f", FLOAT_EXT),
    ("intent_code", 68, 1, "h", [0, 1007, 1006, 1011, 2003, -1, 32767]),
    ("datatype", 70, 1, "h", DATATYPES),
    ("bitpix", 72, 1, "h", BITPIX),
    ("pixdim", 76, 8, "f", FLOAT_EXT),
    ("vox_offset", 108, 1, "f", [0.0, -352.0, 1.0, 347.0, 348.0, 351.0, 353.0, 4960.0, 1e10,
                                 4.3e9, 2.0**31, NAN, INF]),
    ("scl_slope", 112, 1, "f", FLOAT_EXT),
    ("scl_inter", 116, 1, "f", FLOAT_EXT),
    ("xyzt_units", 123, 1, "B", [0, 1, 3, 8, 24, 255]),
    ("cal_max/min", 124, 2, "f", FLOAT_EXT),
    ("qform_code", 252, 1, "h", XFORM_CODES),
    ("sform_code", 254, 1, "h", XFORM_CODES),
    ("quatern_bcd", 256, 3, "f", QUATERN),
    ("qoffset", 268, 3, "f", FLOAT_EXT),
    ("srow", 280, 12, "f", FLOAT_EXT),
    ("magic", 344, 1, "4s", [b"ni1\0", b"n+2\0", b"n+1 ", b"\0\0\0\0", b"N+1\0"]),
]
NIFTI2_FIELDS = [
    ("sizeof_hdr", 0, 1, "i", [0, -1, 348, 539, 541, 2**31 - 1]),
    ("magic", 4, 1, "8s", [b"n+1\0\0\0\0\0", b"ni2\0\r\n\x1a\n", b"n+2\0\n\r\x1a\n", b"\0" * 8]),
    ("datatype", 12, 1, "h", DATATYPES),
    ("bitpix", 14, 1, "h", BITPIX),
    ("dim[0]", 16, 1, "q", [0, -1, 1, 2, 3, 4, 5, 7, 8, 9, 2**63 - 1, -2**63]),
    ("dim[1..7]", 24, 7, "q", INT64_EXT),
    ("intent_p", 80, 3, "d", DOUBLE_EXT),
    ("pixdim", 104, 8, "d", DOUBLE_EXT),
    ("vox_offset", 168, 1, "q", [0, -1, 539, 540, 543, 544, 545, 5152, 2**31, 2**62, 2**63 - 1]),
    ("scl_slope", 176, 1, "d", DOUBLE_EXT),
    ("scl_inter", 184, 1, "d", DOUBLE_EXT),
    ("qform_code", 344, 1, "i", XFORM_CODES),
    ("sform_code", 348, 1, "i", XFORM_CODES),
    ("quatern_bcd", 352, 3, "d", QUATERN),
    ("qoffset", 376, 3, "d", DOUBLE_EXT),
    ("srow", 400, 12, "d", DOUBLE_EXT),
    ("xyzt_units", 500, 1, "i", [0, 1, 3, 8, 255, -1]),
    ("intent_code", 504, 1, "i", [0, 1007, 1006, -1]),
    ("dim_info", 524, 1, "B", [0, 255]),
]


def nifti_layout(data):
    """(field table, endian, voxel offset) of a NIfTI header, by its sizeof_hdr."""
    for endian in "<>":
        size = struct.unpack_from(endian + "i", data)[0] if len(data) >= 4 else 0
        if size in (348, 540):
            return (NIFTI1_FIELDS, endian, 352) if size == 348 else (NIFTI2_FIELDS, endian, 544)
    return NIFTI1_FIELDS, "<", 352


def nifti_fields(rng, data):
    """Overwrites one to three header fields with extreme values at their byte offsets."""
    fields, endian, _ = nifti_layout(data)
    b, notes = bytearray(data), []
    for _ in range(rng.choice([1, 1, 2, 3])):
        name, offset, count, code, values = rng.choice(fields)
        k = rng.randrange(count)
        at = offset + k * struct.calcsize(code)
        if at + struct.calcsize(code) <= len(b):
            value = rng.choice(values)
            struct.pack_into(endian + code, b, at, value)
            notes.append(f"{name}[{k}]={value!r}" if count > 1 else f"{name}={value!r}")
    return bytes(b), "NIfTI " + ", ".join(notes or ["(header too short)"])


def nifti_voxels(rng, data):
    _, endian, start = nifti_layout(data)
    return float_specials(rng, data, start, endian)


def nifti_op(rng, data):
    op = rng.choice([nifti_fields] * 6 + [nifti_voxels] + [random_byte_op] * 2)
    return op(rng, data)


# PNG --------------------------------------------------------------------------------------

PNG_IHDR = [("width", 0, "I", [0, 1, 2**31 - 1, 2**31, 2**32 - 1, 65535, 65536, 100000]),
            ("height", 4, "I", [0, 1, 2**31 - 1, 2**31, 2**32 - 1, 65535, 65536, 100000]),
            ("bit depth", 8, "B", [0, 1, 2, 4, 8, 16, 3, 32, 255]),
            ("colour type", 9, "B", [0, 1, 2, 3, 4, 5, 6, 7, 255]),
            ("compression", 10, "B", [1, 255]), ("filter", 11, "B", [1, 255]),
            ("interlace", 12, "B", [1, 2, 255])]
PNG_NEW_CHUNKS = [(b"PLTE", b""), (b"PLTE", bytes(768)), (b"PLTE", bytes(7)), (b"tRNS", bytes(300)),
                  (b"IDAT", b""), (b"ABCD", b"x"), (b"IHDR", bytes(13)), (b"IEND", b""),
                  (b"sBIT", b"\xff"), (b"gAMA", bytes(4)), (b"pHYs", bytes(9))]


def png_parse(data):
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        length = struct.unpack_from(">I", data, pos)[0]
        chunks.append([data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]])
        pos += 12 + length
    return chunks


def png_build(chunks):
    out = [b"\x89PNG\r\n\x1a\n"]
    for ctype, body in chunks:
        out.append(struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body)))
    return b"".join(out)


def png_ihdr(rng, data, bombs):
    chunks = png_parse(data)
    ihdr = next((c for c in chunks if c[0] == b"IHDR" and len(c[1]) == 13), None)
    if ihdr is None:
        return random_byte_op(rng, data)
    name, offset, code, values = rng.choice(PNG_IHDR)
    body, value = bytearray(ihdr[1]), rng.choice(values)
    struct.pack_into(">" + code, body, offset, value)
    ihdr[1] = bytes(body)
    return png_build(chunks), f"PNG IHDR {name}={value} (CRC fixed)"


def png_chunks(rng, data, bombs):
    chunks = png_parse(data)
    if not chunks:
        return random_byte_op(rng, data)
    i = rng.randrange(len(chunks))
    kind = rng.choice(["drop", "duplicate", "swap", "insert", "damage"])
    if kind == "drop":
        del chunks[i]
    elif kind == "duplicate":
        chunks.insert(i, list(chunks[i]))
    elif kind == "swap":
        j = rng.randrange(len(chunks))
        chunks[i], chunks[j] = chunks[j], chunks[i]
    elif kind == "insert":
        chunks.insert(i, list(rng.choice(PNG_NEW_CHUNKS)))
    else:
        chunks[i][1], _ = random_byte_op(rng, chunks[i][1])
    return png_build(chunks), f"PNG chunk {i}: {kind} (CRC fixed)"


def png_length(rng, data, bombs):
    starts, pos = [], 8
    for _, body in png_parse(data):
        starts.append(pos)
        pos += 12 + len(body)
    if not starts:
        return random_byte_op(rng, data)
    at, value = rng.choice(starts), rng.choice([0, 1, 2**31 - 1, 2**32 - 1, 13, 100000])
    return data[:at] + struct.pack(">I", value) + data[at + 4:], f"PNG chunk length at {at} = {value}"


def png_idat(rng, data, bombs):
    """Damages the inflated image data (filter bytes, size), then deflates it again."""
    chunks = png_parse(data)
    raw = inflate(b"".join(body for ctype, body in chunks if ctype == b"IDAT"), 15)
    if raw is None:
        return random_byte_op(rng, data)
    if rng.random() < 0.4 and raw:
        b = bytearray(raw)
        p = rng.randrange(len(b))
        b[p] = rng.choice([5, 6, 127, 255])
        raw, note = bytes(b), f"filter-ish byte at {p}"
    else:
        raw, note = random_byte_op(rng, raw)
    return png_replace_idat(chunks, zlib.compress(raw)), f"PNG IDAT inflated: {note}"


def png_replace_idat(chunks, stream):
    kept = [c for c in chunks if c[0] != b"IDAT"]
    at = next((i for i, c in enumerate(kept) if c[0] == b"IEND"), len(kept))
    return png_build(kept[:at] + [[b"IDAT", stream]] + kept[at:])


def png_bomb(rng, data, bombs):
    return png_replace_idat(png_parse(data), bombs.zlib()), "PNG IDAT inflates to 1.5 GiB of zeros"


# JPEG -------------------------------------------------------------------------------------

SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
SAMPLING = [0x00, 0x11, 0x12, 0x21, 0x22, 0x44, 0x0F, 0xF0, 0xFF]


def jpeg_segments(data):
    """(offset, marker, length) of each marker segment up to and including SOS."""
    segments, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        length = struct.unpack_from(">H", data, pos + 2)[0]
        segments.append((pos, marker, length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return segments


def jpeg_field_sites(data, pos, marker, length):
    """(offset, struct code, values, name) of the interesting fields of one segment."""
    p = pos + 4
    sites = [(pos + 2, "H", [0, 1, 2, 3, 65535, length - 1, length + 1], "length")]
    if marker in SOF_MARKERS:
        sites += [(p, "B", [0, 1, 8, 12, 16, 255], "precision"),
                  (p + 1, "H", [0, 1, 32768, 65535], "height"),
                  (p + 3, "H", [0, 1, 32768, 65535], "width"),
                  (p + 5, "B", [0, 1, 2, 3, 4, 255], "components")]
        for i in range(data[p + 5] if p + 5 < len(data) else 0):
            sites += [(p + 6 + 3 * i, "B", [0, 1, 2, 3, 255], f"component {i} id"),
                      (p + 7 + 3 * i, "B", SAMPLING, f"component {i} sampling"),
                      (p + 8 + 3 * i, "B", [0, 1, 3, 4, 255], f"component {i} table")]
    elif marker == 0xC4:
        sites += [(p, "B", [0x00, 0x01, 0x10, 0x11, 0x04, 0x14, 0xFF], "class/id")]
        sites += [(p + 1 + k, "B", [0, 1, 16, 255], f"count[{k}]") for k in range(16)]
    elif marker == 0xDB:
        sites += [(p, "B", [0x00, 0x01, 0x10, 0x04, 0xF0, 0xFF], "precision/id"),
                  (p + 1, "B", [0, 255], "first entry")]
    elif marker == 0xDA:
        ns = data[p] if p < len(data) else 0
        sites += [(p, "B", [0, 1, 2, 4, 255], "components")]
        sites += [(p + 2 + 2 * j, "B", [0x00, 0x11, 0x44, 0xFF], f"tables {j}") for j in range(ns)]
        sites += [(p + 1 + 2 * ns + k, "B", [0, 1, 63, 64, 255], f"Ss/Se/AhAl[{k}]") for k in range(3)]
    elif marker == 0xDD:
        sites += [(p, "H", [0, 1, 65535], "restart interval")]
    return [s for s in sites if s[0] + struct.calcsize(s[1]) <= len(data)]


def jpeg_field(rng, data, bombs):
    segments = jpeg_segments(data)
    if not segments:
        return random_byte_op(rng, data)
    pos, marker, length = rng.choice(segments)
    sites = jpeg_field_sites(data, pos, marker, length)
    if not sites:
        return random_byte_op(rng, data)
    at, code, values, name = rng.choice(sites)
    value = rng.choice(values)
    b = bytearray(data)
    struct.pack_into(">" + code, b, at, value % (1 << (8 * struct.calcsize(code))))
    return bytes(b), f"JPEG marker {marker:02X} {name}={value}"


def jpeg_marker(rng, data, bombs):
    segments = jpeg_segments(data)
    if not segments:
        return random_byte_op(rng, data)
    pos, marker, length = rng.choice(segments)
    segment = data[pos:pos + 2 + length]
    kind = rng.choice(["drop", "duplicate", "sof", "no-eoi", "rst", "early-eoi"])
    if kind == "drop":
        return data[:pos] + data[pos + 2 + length:], f"JPEG dropped marker {marker:02X}"
    if kind == "duplicate":
        return data[:pos] + segment + data[pos:], f"JPEG duplicated marker {marker:02X}"
    if kind == "sof":
        sof = next((s for s in segments if s[1] in SOF_MARKERS), segments[0])
        new = rng.choice(sorted(SOF_MARKERS | {0xC4, 0xCC, 0xF7}))
        return data[:sof[0] + 1] + bytes([new]) + data[sof[0] + 2:], f"JPEG SOF marker -> {new:02X}"
    if kind == "no-eoi":
        return data[:-2], "JPEG without EOI"
    scan = segments[-1][0] + 2 + segments[-1][2]
    p = rng.randrange(scan, max(scan + 1, len(data)))
    junk = bytes([0xFF, 0xD0 + rng.randrange(8)]) if kind == "rst" else b"\xff\xd9"
    return data[:p] + junk + data[p:], f"JPEG {kind} marker in scan data at {p}"


# ANTs .mat (MATLAB v4) ---------------------------------------------------------------------

MAT_ELEMENT = {0: 8, 1: 4, 2: 4, 3: 2, 4: 2, 5: 1}
MAT_FIELDS = [("type", [0, 10, 20, 30, 40, 50, 1, 2, 1000, 1010, 9999, -1, 100]),
              ("rows", [0, -1, 1, 2, 3, 9, 12, 13, 2**31 - 1, -2**31, 1 << 20]),
              ("columns", [0, -1, 1, 2, 3, 9, 12, 13, 2**31 - 1, -2**31, 1 << 20]),
              ("imaginary", [1, 2, -1]),
              ("name length", [0, 1, -1, 2**31 - 1, 1000, 26, 28])]
MAT_NAMES = ["AffineTransform_double_2_2", "AffineTransform_float_3_3",
             "MatrixOffsetTransformBase_double_3_3", "Euler3DTransform_double_3_3", "fixed",
             "Foo", "", "AffineTransform_double_3_3" * 40]


def mat_records(data):
    """Offsets of the MATLAB v4 records of an ANTs .mat file."""
    records, pos = [], 0
    while pos + 20 <= len(data):
        mopt, rows, cols, imag, namelen = struct.unpack_from("<5i", data, pos)
        if min(rows, cols, namelen) < 0:
            break
        size = MAT_ELEMENT.get(mopt % 100 // 10, 8)
        records.append(pos)
        pos += 20 + namelen + rows * cols * size * (2 if imag else 1)
    return records


def mat_header(rng, data, bombs):
    records = mat_records(data) or [0]
    at, k = rng.choice(records), rng.randrange(len(MAT_FIELDS))
    name, values = MAT_FIELDS[k]
    value = rng.choice(values)
    if at + 4 * k + 4 > len(data):
        return random_byte_op(rng, data)
    return (data[:at + 4 * k] + struct.pack("<i", value) + data[at + 4 * k + 4:],
            f"MAT record at {at}: {name}={value}")


def mat_name(rng, data, bombs):
    records = mat_records(data)
    if not records:
        return random_byte_op(rng, data)
    at = rng.choice(records)
    namelen = struct.unpack_from("<i", data, at + 16)[0]
    new = rng.choice(MAT_NAMES).encode() + (b"\0" if rng.random() < 0.8 else b"")
    head = data[:at + 16] + struct.pack("<i", len(new))
    return head + new + data[at + 20 + namelen:], f"MAT record at {at}: name -> {new[:40]!r}"


# gzip and deflated payloads ----------------------------------------------------------------

class Bombs:
    """Deflate streams that inflate to BOMB_BYTES of zeros (after an optional prefix), made once."""

    def __init__(self):
        self.chunk, self.chunks = bytes(1 << 20), BOMB_BYTES >> 20
        comp = zlib.compressobj(9, zlib.DEFLATED, -15)
        self.zeros = b"".join(comp.compress(self.chunk) for _ in range(self.chunks)) + comp.flush()
        self.cache = {}

    def checksum_of_zeros(self, fn, start):
        for _ in range(self.chunks):
            start = fn(self.chunk, start)
        return start

    def zlib(self):
        if "zlib" not in self.cache:
            adler = self.checksum_of_zeros(zlib.adler32, 1)
            self.cache["zlib"] = b"\x78\x9c" + self.zeros + struct.pack(">I", adler)
        return self.cache["zlib"]

    def gzip(self, prefix=b""):
        """A gzip member of prefix + zeros: the prefix is flushed to a byte boundary first."""
        if prefix not in self.cache:
            comp = zlib.compressobj(9, zlib.DEFLATED, -15)
            head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
            crc = self.checksum_of_zeros(zlib.crc32, zlib.crc32(prefix))
            size = (len(prefix) + BOMB_BYTES) & 0xFFFFFFFF
            self.cache[prefix] = (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + head + self.zeros
                                  + struct.pack("<II", crc, size))
        return self.cache[prefix]


def inflate(data, wbits, limit=INFLATE_LIMIT, whole=True):
    """The inflated bytes of a zlib (15), gzip (31) or either (47) stream, at most `limit` of
    them; None where the stream is broken, or (whole) where it does not end within the limit."""
    stream = zlib.decompressobj(wbits)
    try:
        out = stream.decompress(data, limit)
    except zlib.error:
        return None
    return out if stream.eof or not whole else None


def gz_inner(rng, data, bombs):
    inner = inflate(data, 31)
    if inner is None:
        return random_byte_op(rng, data)
    inner, note = nifti_op(rng, inner)
    return gzip.compress(inner, mtime=0), f"inside gzip: {note}"


def gz_wrapper(rng, data, bombs):
    """The gzip container itself: trailer size/CRC, header flags, extra members."""
    kind = rng.choice(["isize", "crc", "flags", "method", "member", "junk"])
    if kind == "isize":
        value = rng.choice([0, 1, 2**31 - 1, 2**32 - 1])
        return data[:-4] + struct.pack("<I", value), f"gzip ISIZE={value}"
    if kind == "crc":
        return data[:-8] + rng.randbytes(4) + data[-4:], "gzip CRC random"
    if kind == "flags":
        flag = rng.choice([0x02, 0x04, 0x08, 0x10, 0xE0, 0xFF])
        return data[:3] + bytes([flag]) + data[4:], f"gzip FLG={flag:#x}"
    if kind == "method":
        return data[:2] + b"\x07" + data[3:], "gzip method 7"
    if kind == "member":
        return data + data, "gzip second member"
    return data + rng.randbytes(rng.choice([1, 10, 1000])), "junk after gzip member"


def gz_bomb(rng, data, bombs):
    header = inflate(data, 31, 352, whole=False) or b""
    return bombs.gzip(header), "gzip inflates to header + 1.5 GiB of zeros"


# attached text headers (MetaImage, NRRD) ----------------------------------------------------

def split_header(fmt, data):
    """(header, body) of a MetaImage or NRRD file with attached data; text files: (data, b'')."""
    if fmt == "meta":
        i = data.find(b"ElementDataFile")
        j = data.find(b"\n", i)
        if i >= 0 and j >= 0:
            return data[:j + 1], data[j + 1:]
    if fmt == "nrrd":
        i = data.find(b"\n\n")
        if i >= 0:
            return data[:i + 2], data[i + 2:]
    return data, b""


def body_inner(rng, body, bombs):
    """Damages the inflated voxel data of a compressed MetaImage/NRRD, deflates it again."""
    raw = inflate(body, 47)
    if raw is None:
        return random_byte_op(rng, body)
    raw, note = (float_specials if rng.random() < 0.3 else random_byte_op)(rng, raw)
    wrapped = gzip.compress(raw, mtime=0) if body[:2] == b"\x1f\x8b" else zlib.compress(raw)
    return wrapped, f"inflated data: {note}"


# ----------------------------------------------------------------------------- mutants

@dataclasses.dataclass
class Mutant:
    id: str
    seed: Seed
    files: dict
    notes: list

    @property
    def main(self):
        return self.seed.name


def on_main(fn):
    """An op on the main file's bytes: fn(rng, data) -> (data, note)."""
    def op(rng, m, bombs):
        m.files[m.main], note = fn(rng, m.files[m.main])
        return note
    op.__name__ = fn.__name__
    return op


def on_main_bombs(fn):
    """An op on the main file's bytes that may use the bombs: fn(rng, data, bombs)."""
    def op(rng, m, bombs):
        m.files[m.main], note = fn(rng, m.files[m.main], bombs)
        return note
    op.__name__ = fn.__name__
    return op


def on_header_text(fn):
    """A text op on the header part of the main file (the whole file for text formats)."""
    def op(rng, m, bombs):
        header, body = split_header(m.seed.fmt, m.files[m.main])
        text, note = fn(rng, header.decode("latin-1"), m.seed.fmt)
        m.files[m.main] = text.encode("latin-1") + body
        return note
    op.__name__ = fn.__name__
    return op


def header_bytes_op(rng, m, bombs):
    header, body = split_header(m.seed.fmt, m.files[m.main])
    header, note = encoding_op(rng, header)
    m.files[m.main] = header + body
    return note


def body_op(rng, m, bombs):
    """Voxel data attached to a MetaImage/NRRD header: damaged inflated data, a bomb, NaNs."""
    header, body = split_header(m.seed.fmt, m.files[m.main])
    if not m.seed.compressed:
        body, note = float_specials(rng, body)
    elif rng.random() < 0.8:
        body, note = body_inner(rng, body, bombs)
    else:
        is_gzip = body[:2] == b"\x1f\x8b"
        body, note = (bombs.gzip() if is_gzip else bombs.zlib()), "data inflates to 1.5 GiB of zeros"
    m.files[m.main] = header + body
    return note


def companion_op(rng, m, bombs):
    """The detached .raw file: cut, grown, NaN-filled, emptied or missing."""
    name = next(n for n in m.files if n != m.main) if len(m.files) > 1 else None
    if name is None:
        return "companion already gone"
    data = m.files[name]
    kind = rng.choice(["cut", "grow", "nan", "empty", "missing"])
    if kind == "missing":
        del m.files[name]
    elif kind == "cut":
        m.files[name] = data[:rng.randrange(len(data) or 1)]
    elif kind == "grow":
        m.files[name] = data + rng.randbytes(rng.choice([1, 4, 4096]))
    elif kind == "nan":
        m.files[name], _ = float_specials(rng, data)
    else:
        m.files[name] = b""
    return f"{name}: {kind}"


def ops_for(seed):
    """The weighted list of mutation ops that fit a seed's format."""
    generic = [on_main(fn) for fn in BYTE_OPS]
    text = [on_header_text(fn) for fn in TEXT_OPS] + [header_bytes_op]
    fmt = seed.fmt
    if fmt in ("nifti1", "nifti2"):
        return generic + [on_main(nifti_fields)] * 8 + [on_main(nifti_voxels)]
    if fmt == "niftigz":
        return (generic + [on_main_bombs(gz_inner)] * 8 + [on_main_bombs(gz_wrapper)] * 2
                + [on_main_bombs(gz_bomb)])
    if fmt in ("meta", "nrrd"):
        extra = [companion_op] * 3 if len(seed.files) > 1 else [body_op] * 3
        return generic + text + [on_header_text(data_file)] * 3 + extra
    if fmt == "png":
        return (generic + [on_main_bombs(png_ihdr)] * 4 + [on_main_bombs(png_chunks)] * 3
                + [on_main_bombs(png_length), on_main_bombs(png_bomb)] + [on_main_bombs(png_idat)] * 3)
    if fmt == "jpeg":
        return generic + [on_main_bombs(jpeg_field)] * 6 + [on_main_bombs(jpeg_marker)] * 3
    if fmt == "mat":
        return generic + [on_main_bombs(mat_header)] * 5 + [on_main_bombs(mat_name)] * 2
    if fmt in ("yaml", "json"):
        plan = [on_header_text(list_value)] * 3 + [on_header_text(nest_bomb), on_header_text(data_file)]
        return generic + text + plan + ([on_header_text(alias_bomb)] if fmt == "yaml" else [])
    return generic + text  # itk, csv, fcsv, elastix


def make_mutant(index, seeds, campaign_seed, bombs):
    seed = seeds[index % len(seeds)]
    rng = random.Random(f"{campaign_seed}:{index}")
    m = Mutant(f"{index:05d}-{seed.name}", seed, dict(seed.files), [])
    ops = ops_for(seed)
    for _ in range(rng.choices([1, 2, 3], weights=[75, 20, 5])[0]):
        if not m.files[m.main]:
            m.files[m.main] = b"\0"
        op = rng.choice(ops)
        m.notes.append(f"{op.__name__}: {op(rng, m, bombs)}")
    return m


# ----------------------------------------------------------------------------- running

@dataclasses.dataclass
class Proc:
    rc: int
    wall: float
    maxrss_kb: int
    timed_out: bool
    stdout: bytes
    stderr: str
    stderr_full: str


@dataclasses.dataclass
class Run:
    mutant: str
    seed: str
    notes: list
    command: str
    argv: list
    rc: int
    wall: float
    maxrss_kb: int
    timed_out: bool
    stderr: str
    names_in_stderr: bool
    left_files: list
    verify_note: str = ""
    confirm_wall: float = None
    crash_site: str = ""
    backtrace: str = ""
    outcome: str = ""
    flags: list = dataclasses.field(default_factory=list)

    @property
    def needs_confirm(self):
        """info/convert over the hang bar get rerun alone before they count as hangs."""
        return self.command in BAR_COMMANDS and not self.timed_out and self.wall > HANG_BAR_S

    @property
    def status(self):
        return f"signal {signal.Signals(-self.rc).name}" if self.rc < 0 else f"exit {self.rc}"


def run_limited(binary, args, cwd, log_dir, env=RUN_ENV, timeout=TIMEOUT_S):
    """Runs swiftreg under the address-space limit and the timeout; measures wall time and RSS."""
    cwd.mkdir(parents=True, exist_ok=True)
    prlimit = [shutil.which("prlimit"), f"--as={ADDRESS_LIMIT}", "--"] if shutil.which("prlimit") else []
    out_path, err_path = log_dir / "stdout", log_dir / "stderr"
    killed = threading.Event()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(prlimit + [binary, *map(str, args)], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True)
        timer = threading.Timer(timeout, kill_group, (proc.pid, killed))
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        timer.cancel()
        wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = err_path.read_bytes().decode(errors="replace")
    return Proc(proc.returncode, wall, usage.ru_maxrss, killed.is_set(), out_path.read_bytes(),
                stderr[:2000], stderr)


def kill_group(pid, killed):
    killed.set()
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def commands_for(role, main, refs, index):
    """(label, arguments, expected outputs) of each reader command for one mutant."""
    ref, pts, aff = refs["image"], refs["points"], refs["affine"]
    apply = ("apply", ["apply", "-i", ref, "-r", ref, "-t", main, "-o", "out.nii.gz"], ["out.nii.gz"])
    inverse_points = ("apply-points", ["apply-points", "-p", pts, "-t", f"[{main},1]", "-o", "out.csv"],
                      ["out.csv"])
    if role == "image":
        return [("info", ["info", main], []),
                ("convert", ["convert", main, "out.nii.gz"], ["out.nii.gz"])]
    if role == "field":
        return [("jacobian", ["jacobian", main, "-o", "j.nii.gz"], ["j.nii.gz"]), apply, inverse_points]
    if role == "transform":
        return [apply, inverse_points]
    if role == "points":
        out = "out.fcsv" if index % 2 else "out.csv"
        return [("apply-points", ["apply-points", "-p", main, "-t", aff, "-o", out], [out])]
    return [("plan-check", ["register", "--plan", main, "-o", "r", "--print-plan"], []),
            ("register", ["register", "--plan", main, "-o", "r", "-q"],
             ["r_affine.txt", "r_warped.nii.gz"])]


def verify_args(path, refs, check_dir):
    """The swiftreg command that must read an output file back, or None for other files."""
    name = path.name
    if name.endswith(IMAGE_SUFFIXES):
        return ["info", path]
    if name.endswith((".csv", ".fcsv")):
        return ["apply-points", "-p", path, "-o", check_dir / "check.csv"]
    if name.endswith((".txt", ".mat")):
        return ["apply-points", "-p", refs["points"], "-t", path, "-o", check_dir / "check.csv"]
    return None


def verify_outputs(binary, label, stdout, out_dir, run_dir, expected, refs):
    """'' when every output reads back; else what failed."""
    missing = [e for e in expected if not (out_dir / e).exists()]
    if missing:
        return f"exit 0 but no {', '.join(missing)}"
    checks = []
    if label == "plan-check":
        printed = run_dir / ("printed.json" if stdout.lstrip().startswith(b"{") else "printed.yaml")
        printed.write_bytes(stdout)
        checks.append(["register", "--plan", printed, "-o", "x", "--print-plan"])
    for path in sorted(p for p in out_dir.rglob("*") if p.is_file()):
        args = verify_args(path, refs, run_dir)
        if args:
            checks.append(args)
    for k, args in enumerate(checks):
        log = run_dir / f"verify{k}"
        log.mkdir()
        proc = run_limited(binary, args, log / "cwd", log)
        if proc.rc != 0:
            first = error_line(proc.stderr)
            return f"swiftreg {shlex.join(map(str, args))} -> exit {proc.rc}: {first}"
    return ""


def crash_site(backtrace):
    """'why at file:line' of the crashed thread, with the first frame in the project's Sources."""
    crashed = re.search(r"^Thread \d+.* crashed:$(.*?)(?=^Thread \d+|\Z)", backtrace, re.M | re.S)
    thread = crashed.group(1) if crashed else ""
    why = re.search(r"Swift runtime failure: (.+?) in swiftreg|Fatal error: ?(.+)", backtrace)
    frames = [(Path(path).name, line, path) for path, line in re.findall(r" at (/\S+?):(\d+)", thread)]
    if not frames:
        return (why and (why.group(1) or why.group(2)) or "no backtrace").strip()
    site = f"{frames[0][0]}:{frames[0][1]}"
    own = next((f"{name}:{line}" for name, line, path in frames
                if "/Sources/" in path and "/.build/" not in path), site)
    reason = (why.group(1) or why.group(2)).strip() if why else "trap"
    return f"{reason} at {site}" + (f" (from {own})" if own != site else "")


def error_line(text):
    """The error message of a run's standard error (its first line where none says error)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return next((line for line in lines if "error" in line.lower()), lines[0] if lines else "")


def run_command(binary, m, spec, refs, rdir):
    label, args, expected = spec
    out_dir = rdir / "out"
    proc = run_limited(binary, args, out_dir, rdir)
    run = Run(m.id, m.seed.name, m.notes, label, [binary, *map(str, args)], proc.rc, proc.wall,
              proc.maxrss_kb, proc.timed_out, proc.stderr,
              any(name in proc.stderr for name in m.seed.files),
              sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*")) if proc.rc != 0 else [])
    if proc.rc == 0 and not proc.timed_out:
        run.verify_note = verify_outputs(binary, label, proc.stdout, out_dir, rdir, expected, refs)
    return classify(run)


def classify(run):
    crashed = run.rc not in (0, 1, 2)
    slow = (not run.timed_out and run.wall > HANG_BAR_S
            and (run.confirm_wall is None or run.confirm_wall > HANG_BAR_S))
    if run.timed_out:
        run.outcome = "hang"
    elif run.maxrss_kb > MEMORY_BAR_KB or (crashed and "alloc" in run.stderr.lower()):
        run.outcome = "memory"
    elif crashed:
        run.outcome = "crash"
    elif run.verify_note:
        run.outcome = "unreadable"
    elif slow and run.command in BAR_COMMANDS:
        run.outcome = "hang"
    else:
        run.outcome = "ok" if run.rc == 0 else "rejected"
    run.flags = [flag for flag, on in (("left-files", run.rc != 0 and bool(run.left_files)),
                                       ("no-name", run.rc == 1 and not run.names_in_stderr),
                                       ("slow", slow and run.outcome != "hang")) if on]
    return run


def is_kept(run):
    return run.outcome in OFFENDING or "left-files" in run.flags or run.needs_confirm


class Campaign:
    def __init__(self, binary, work, seeds, refs, campaign_seed, bombs):
        self.binary, self.work, self.seeds, self.refs = binary, work, seeds, refs
        self.campaign_seed, self.bombs = campaign_seed, bombs

    def write_mutant(self, m):
        mdir = self.work / "mutants" / m.id
        mdir.mkdir(parents=True)
        for name, data in m.files.items():
            (mdir / name).write_bytes(data)
        return mdir

    def run_mutant(self, m, index):
        """Every reader command on one mutant; keeps the mutant's files only if a run needs them."""
        mdir = self.write_mutant(m)
        runs = []
        for spec in commands_for(m.seed.role, mdir / m.main, self.refs, index):
            rdir = self.work / "runs" / f"{m.id}--{spec[0]}"
            runs.append(run_command(self.binary, m, spec, self.refs, rdir))
            shutil.rmtree(rdir)
        if not any(is_kept(r) for r in runs):
            shutil.rmtree(mdir)
        return runs

    def mutant_task(self, index):
        return self.run_mutant(make_mutant(index, self.seeds, self.campaign_seed, self.bombs), index)

    def baseline(self):
        """The unmutated seeds must read cleanly, or the campaign measures nothing."""
        bad = []
        for index, seed in enumerate(self.seeds):
            runs = self.run_mutant(Mutant(f"seed-{seed.name}", seed, dict(seed.files), ["unmutated"]), index)
            bad += [r for r in runs if r.rc != 0 or r.verify_note]
        shutil.rmtree(self.work / "mutants", ignore_errors=True)
        return bad

    def backtrace(self, run):
        """Reruns a crash with Swift's backtracer on; keeps the trace and where it trapped."""
        rdir = self.work / "runs" / f"{run.mutant}--{run.command}--backtrace"
        proc = run_limited(self.binary, run.argv[1:], rdir / "out", rdir, BACKTRACE_ENV,
                           BACKTRACE_TIMEOUT_S)
        shutil.rmtree(rdir)
        run.backtrace = proc.stderr_full
        run.crash_site = crash_site(proc.stderr_full)

    def confirm(self, run):
        """Reruns a slow run alone, so that load from the other worker cannot make a hang."""
        rdir = self.work / "runs" / f"{run.mutant}--{run.command}--confirm"
        proc = run_limited(self.binary, run.argv[1:], rdir / "out", rdir)
        shutil.rmtree(rdir)
        run.confirm_wall = TIMEOUT_S if proc.timed_out else proc.wall
        return classify(run)


# ----------------------------------------------------------------------------- reporting

def save_finding(work, run):
    kind = run.outcome if run.outcome in OFFENDING else "left-files"
    mdir = work / "mutants" / run.mutant
    dest = work / "findings" / kind / f"{run.mutant}--{run.command}"
    shutil.copytree(mdir, dest)
    argv = [a.replace(str(mdir), str(dest)) for a in run.argv]
    (dest / "cmd.txt").write_text(
        f"# SWIFT_BACKTRACE=enable=no, prlimit --as={ADDRESS_LIMIT}, in an empty folder\n"
        f"mkdir -p /tmp/replay && cd /tmp/replay && {shlex.join(argv)}\n")
    (dest / "stderr.txt").write_text(run.stderr)
    if run.backtrace:
        (dest / "backtrace.txt").write_text(run.backtrace)
    (dest / "result.json").write_text(json.dumps(run_record(run), indent=1) + "\n")


def run_record(run):
    record = dataclasses.asdict(run)
    del record["backtrace"]
    record["status"] = run.status
    return record


def table(header, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    fmt = lambda row: "  ".join(str(x).rjust(w) if i else str(x).ljust(w)
                                for i, (x, w) in enumerate(zip(row, widths)))
    return "\n".join([fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows])


def count_row(name, runs, columns):
    return [name, len(runs)] + [sum(1 for r in runs if r.outcome == c or c in r.flags) for c in columns]


def summary(runs, mutants, wall, command_line):
    columns = OUTCOMES + FLAGS
    harness_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    commands = sorted({r.command for r in runs})
    by_command = [count_row(c, [r for r in runs if r.command == c], columns) for c in commands]
    by_command.append(count_row("TOTAL", runs, columns))
    seeds = sorted({r.seed for r in runs})
    offending = OFFENDING + ("left-files", "no-name")
    by_seed = [count_row(s, [r for r in runs if r.seed == s], offending) for s in seeds]
    lines = [f"command: {command_line}",
             f"mutants: {mutants}, runs: {len(runs)}, wall time: {wall:.0f} s",
             f"harness peak RSS (a floor under each run's max RSS): {harness_kb // 1024} MiB", "",
             table(["command", "runs", *columns], by_command), "",
             table(["seed", "runs", *offending], by_seed), ""]
    for kind in offending:
        examples = [r for r in runs if r.outcome == kind or kind in r.flags]
        if examples:
            lines.append(f"{kind}: {len(examples)} runs; by cause:")
            lines += [f"  {n:5d}  {cause}" for cause, n in tally(cause_of(r) for r in examples)]
            lines.append("  examples:")
            lines += [f"    {r.mutant} {r.command} -> {r.status}, {r.wall:.2f} s, "
                      f"{r.maxrss_kb // 1024} MiB: {error_line(r.stderr)[:150]!r}\n"
                      f"        {'; '.join(r.notes)[:200]}" for r in examples[:3]]
    return "\n".join(lines) + "\n"


def cause_of(run):
    """A crash's trap site; otherwise the command, seed and mutation ops."""
    ops = "+".join(sorted({note.split(":", 1)[0] for note in run.notes}))
    return run.crash_site or f"{run.command} {run.seed}: {ops}"


def tally(keys):
    counts = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


# ----------------------------------------------------------------------------- main

def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", default=".build/release/swiftreg", help="the swiftreg to test")
    parser.add_argument("--count", type=int, default=12000, help="mutants, spread over the seeds")
    parser.add_argument("--seed", type=int, default=1, help="RNG seed (each mutant is reproducible)")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a new temp folder)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at once")
    return parser.parse_args()


def run_all(campaign, count, jobs):
    runs, started = [], time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(campaign.mutant_task, i) for i in range(count)]
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            runs += future.result()
            if done % 500 == 0 or done == count:
                bad = sum(1 for r in runs if r.outcome in OFFENDING)
                print(f"[{done:>6}/{count}] {time.monotonic() - started:6.0f} s, {len(runs)} runs, "
                      f"{bad} offending so far", file=sys.stderr, flush=True)
    return runs


def main():
    args = parse_args()
    binary = str(Path(args.binary).resolve())
    work = (args.work or Path(tempfile.mkdtemp(prefix="mutant-campaign-"))).resolve()
    if work.exists() and any(work.iterdir()):
        sys.exit(f"{work} is not empty")
    started = time.monotonic()
    seeds, refs = make_seeds(binary, work / "seeds")
    print(f"{len(seeds)} seeds in {work / 'seeds'}; making decompression bombs…", file=sys.stderr)
    campaign = Campaign(binary, work, seeds, refs, args.seed, Bombs())
    bad = campaign.baseline()
    if bad:
        sys.exit("unmutated seeds fail:\n" + "\n".join(
            f"  {shlex.join(r.argv)} -> {r.status} {error_line(r.stderr)} {r.verify_note}" for r in bad))
    runs = run_all(campaign, args.count, args.jobs)
    for run in runs:
        if run.needs_confirm:
            campaign.confirm(run)
    for run in runs:
        if run.outcome == "crash":
            campaign.backtrace(run)
        if run.outcome in OFFENDING or "left-files" in run.flags:
            save_finding(work, run)
    shutil.rmtree(work / "mutants", ignore_errors=True)
    shutil.rmtree(work / "runs", ignore_errors=True)
    with open(work / "results.jsonl", "w") as out:
        out.writelines(json.dumps(run_record(r)) + "\n" for r in runs)
    command_line = shlex.join([sys.executable, *sys.argv])
    report = summary(runs, args.count, time.monotonic() - started, command_line)
    (work / "summary.txt").write_text(report)
    print(report)
    print(f"findings: {work / 'findings'}; every run: {work / 'results.jsonl'}")
    return 1 if any(r.outcome in OFFENDING for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
