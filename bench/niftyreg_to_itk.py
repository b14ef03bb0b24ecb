"""Converts a NiftyReg displacement field (reg_transform -disp: vectors in the NIfTI world frame, RAS mm)
into the ITK/ANTs convention (vectors in LPS mm, 5-D NIfTI with intent 1007 'vector'), same grid.
Usage: niftyreg_to_itk.py DISP_RAS.nii.gz FIELD_LPS.nii.gz  (needs nibabel and numpy)"""
import sys
import nibabel as nib
import numpy as np

source = nib.load(sys.argv[1])
vectors = np.asarray(source.dataobj, dtype=np.float32).copy()
if vectors.ndim != 5:
    sys.exit(f"{sys.argv[1]}: expected a 5-D displacement field, found shape {vectors.shape}")
vectors[..., 0] *= -1
vectors[..., 1] *= -1
out = nib.Nifti1Image(vectors, source.affine)
out.header.set_qform(source.affine, code=1)
out.header.set_sform(source.affine, code=1)
out.header.set_intent("vector")
out.header.set_xyzt_units("mm")
nib.save(out, sys.argv[2])
