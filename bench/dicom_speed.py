#!/usr/bin/env python3
"""Reading a 512×512×300 CT series: SwiftReg (`swiftreg convert DIR out.nii`) against SimpleITK
(ImageSeriesReader with GDCMSeriesFileNames, then WriteImage to .nii), in one run, alternating,
best of three each. The series is written once by pydicom (int16, RescaleIntercept −1024, a smooth
phantom with noise) into a temporary folder.

Usage: bench/dicom_speed.py [--slices 300] [--binary .build/release/swiftreg] [--json out.json]
"""
import argparse, json, os, subprocess, tempfile, time
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid, CTImageStorage
import SimpleITK as sitk


def write_series(folder, slices):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:512, 0:512]
    series, study = generate_uid(), generate_uid()
    for k in range(slices):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = study, series, "CT"
        ds.PatientName, ds.PatientID, ds.InstanceNumber = "Phantom", "0", k + 1
        ds.ImagePositionPatient = ["-250", "-250", f"{-150 + k * 1.0:.3f}"]
        ds.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        ds.PixelSpacing, ds.SliceThickness = ["0.9765625", "0.9765625"], "1.0"
        ds.Rows = ds.Columns = 512
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
        body = 1024 + 1000 * ((x - 256) ** 2 + (y - 256) ** 2 < (200 - abs(k - slices / 2) / 3) ** 2)
        ds.PixelData = (body + rng.integers(-20, 20, (512, 512))).astype(np.int16).tobytes()
        ds.save_as(os.path.join(folder, f"{k:04d}.dcm"), enforce_file_format=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "swiftreg"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "series")
        os.makedirs(folder)
        write_series(folder, args.slices)
        times = {"swiftreg": [], "simpleitk": []}
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(args.threads)
        for _ in range(3):
            start = time.time()
            subprocess.run([args.binary, "convert", folder, os.path.join(tmp, "ours.nii"), "--threads", str(args.threads)], check=True)
            times["swiftreg"].append(time.time() - start)
            start = time.time()
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder))
            sitk.WriteImage(reader.Execute(), os.path.join(tmp, "theirs.nii"))
            times["simpleitk"].append(time.time() - start)
        a = sitk.GetArrayFromImage(sitk.ReadImage(os.path.join(tmp, "ours.nii")))
        b = sitk.GetArrayFromImage(sitk.ReadImage(os.path.join(tmp, "theirs.nii")))
        result = {"slices": args.slices, "threads": args.threads, "swiftregSeconds": min(times["swiftreg"]),
                  "simpleitkSeconds": min(times["simpleitk"]), "identical": bool((a == b).all())}
        result["ratio"] = result["swiftregSeconds"] / result["simpleitkSeconds"]
        print(json.dumps(result, indent=1))
        if args.json:
            json.dump(result, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
