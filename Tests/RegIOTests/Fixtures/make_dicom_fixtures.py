#!/usr/bin/env python3
"""Tiny DICOM series for DICOMSeriesTests, written with pydicom, and SimpleITK's reading of each
(ImageSeriesReader with GDCMSeriesFileNames, the oracle) in dicom_reference.json:

- oblique/: 6 slices of 12×10, oblique orientation, anisotropic pixels, signed 16-bit with
  RescaleSlope 2 and RescaleIntercept −1000, files named out of order;
- uneven/: 5 slices whose gaps are 2.0, 2.1, 1.9, 2.05 mm;
- tilt/: 5 slices whose positions shift along the rows as they advance (a 15° gantry tilt);
- gap/: 6 slices with one missing (an error); mixed/: two orientations in one series (an error);
- rle/: an RLE-compressed slice series, and rle_corrupt/: the same with a damaged frame (an error).

Run from this folder: python3 make_dicom_fixtures.py (needs pydicom ≥ 3, SimpleITK, numpy).
"""
import json, os, shutil
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid, CTImageStorage
import SimpleITK as sitk

OUT = "dicom"
rng = np.random.default_rng(5)


def rotation(ax, ay, az):
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ rx @ ry


def write_series(folder, positions, orientations, rows=10, columns=12, spacing=(0.8, 1.1), rle=False, names=None):
    if os.path.exists(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    series = generate_uid()
    study = generate_uid()
    for k, (position, orientation) in enumerate(zip(positions, orientations)):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.Modality = "CT"
        ds.SeriesDescription = os.path.basename(folder)
        ds.PatientName = "Phantom"
        ds.PatientID = "0"
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.8f}" for v in orientation]
        ds.PixelSpacing = [f"{spacing[0]}", f"{spacing[1]}"]
        ds.SliceThickness = "3.0"
        ds.Rows, ds.Columns = rows, columns
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleSlope, ds.RescaleIntercept = "2", "-1000"
        pixels = rng.integers(-500, 1500, (rows, columns)).astype(np.int16)
        ds.PixelData = pixels.tobytes()
        if rle:
            ds.compress(RLELossless, pixels)
        name = names[k] if names else f"slice{k:02d}.dcm"
        ds.save_as(os.path.join(folder, name), enforce_file_format=True)


def stack(origin, direction, gaps, shift=0.0):
    """Positions along the third column of `direction`, shifted along the first by `shift` per mm."""
    positions, along = [], 0.0
    for gap in [0.0] + list(gaps):
        along += gap
        positions.append(np.array(origin) + direction[:, 2] * along + direction[:, 0] * shift * along)
    return positions


def orientation(direction):
    return list(direction[:, 0]) + list(direction[:, 1])


def sitk_reading(folder):
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder))
    image = reader.Execute()
    values = sitk.GetArrayFromImage(image).astype(float)
    return {"size": list(image.GetSize()), "spacing": list(image.GetSpacing()), "origin": list(image.GetOrigin()),
            "direction": list(image.GetDirection()), "sum": float(values.sum()),
            "weighted_sum": float((values.reshape(-1) * np.arange(values.size) % 9973).sum()),
            "first": float(values.reshape(-1)[0]), "last": float(values.reshape(-1)[-1])}


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    reference = {}
    d = rotation(0.2, -0.3, 0.4)
    names = [f"img{n}.dcm" for n in [5, 2, 0, 4, 1, 3]]
    write_series(f"{OUT}/oblique", stack((-40.0, 25.0, 60.0), d, [2.5] * 5), [orientation(d)] * 6, names=names)
    reference["oblique"] = sitk_reading(f"{OUT}/oblique")
    write_series(f"{OUT}/uneven", stack((10.0, -5.0, 0.0), np.eye(3), [2.0, 2.1, 1.9, 2.05]), [orientation(np.eye(3))] * 5)
    reference["uneven"] = sitk_reading(f"{OUT}/uneven")
    write_series(f"{OUT}/tilt", stack((0.0, 0.0, 0.0), np.eye(3), [3.0] * 4, shift=np.tan(np.radians(15))), [orientation(np.eye(3))] * 5)
    reference["tilt"] = sitk_reading(f"{OUT}/tilt")
    write_series(f"{OUT}/gap", stack((0.0, 0.0, 0.0), np.eye(3), [2.0, 2.0, 6.0, 2.0, 2.0]), [orientation(np.eye(3))] * 6)
    other = rotation(0.0, 0.0, 0.3)
    write_series(f"{OUT}/mixed", stack((0.0, 0.0, 0.0), np.eye(3), [2.0] * 3), [orientation(np.eye(3))] * 3 + [orientation(other)])
    write_series(f"{OUT}/rle", stack((5.0, 5.0, 5.0), d, [1.5] * 3), [orientation(d)] * 4, rle=True)
    reference["rle"] = sitk_reading(f"{OUT}/rle")
    shutil.rmtree(f"{OUT}/rle_corrupt", ignore_errors=True)
    shutil.copytree(f"{OUT}/rle", f"{OUT}/rle_corrupt")
    victim = f"{OUT}/rle_corrupt/slice02.dcm"
    data = bytearray(open(victim, "rb").read())
    # The RLE header's segment offsets sit at the start of the frame: point the first past the end.
    frame = data.rfind(b"\x02\x00\x00\x00\x40\x00\x00\x00")
    assert frame > 0, "RLE header not found"
    data[frame + 4:frame + 8] = (0x7fffff00).to_bytes(4, "little")
    open(victim, "wb").write(bytes(data))
    json.dump(reference, open("dicom_reference.json", "w"), indent=1)
