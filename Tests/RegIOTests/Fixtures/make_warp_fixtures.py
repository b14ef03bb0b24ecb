"""Makes Fixtures/warps/: a displacement field written by ANTs (antspyx's antsRegistration, SyNOnly)
on an oblique, anisotropic grid, the moving image, and ANTs' own warps of it (linear) through
`-t warp` and `-t warp -t affine`, for WarpInteropTests. Run from this folder:
python3 make_warp_fixtures.py"""
import numpy as np, ants, os

out = 'warps'
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(3)
shape = (24, 22, 18)
z, y, x = np.meshgrid(*[np.arange(s, dtype=np.float32) for s in shape[::-1]], indexing='ij')
def blob(cx, cy, cz, r):
    d = np.sqrt((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2)
    return (100 / (1 + np.exp((d - r) * 1.5))).transpose(2, 1, 0).astype(np.float32)
direction = np.array([[0.98, -0.17, 0.1], [0.17, 0.985, 0.0], [-0.1, 0.02, 0.995]])
q, _ = np.linalg.qr(direction)
q = q @ np.diag([-1, -1, 1]) if np.linalg.det(q) > 0 else q
fixed = ants.from_numpy(blob(12, 11, 9, 6) + 20 * blob(8, 8, 7, 2) / 100, origin=(-10.0, 20.0, 5.0), spacing=(1.2, 1.0, 1.4), direction=q)
moving = ants.from_numpy(blob(13, 10, 9, 7) + 20 * blob(9, 7, 8, 2) / 100, origin=(-10.0, 20.0, 5.0), spacing=(1.2, 1.0, 1.4), direction=q)
ants.image_write(fixed, out + '/fixed.nii.gz')
ants.image_write(moving, out + '/moving.nii.gz')
reg = ants.registration(fixed, moving, type_of_transform='SyNOnly', reg_iterations=(20, 10), verbose=False)
warp = [t for t in reg['fwdtransforms'] if t.endswith('Warp.nii.gz')][0]
os.replace(warp, out + '/ants_warp.nii.gz')
affine = ants.create_ants_transform(transform_type='AffineTransform', dimension=3,
                                    matrix=np.array([[1.02, 0.03, 0.0], [-0.02, 0.98, 0.01], [0.0, 0.02, 1.01]]),
                                    translation=(0.8, -0.5, 0.3), center=(-3.0, 28.0, 15.0))
ants.write_transform(affine, out + '/affine.mat')
for name, chain in [('ants_warped.nii.gz', [out + '/ants_warp.nii.gz']),
                    ('ants_warped_chain.nii.gz', [out + '/ants_warp.nii.gz', out + '/affine.mat'])]:
    ants.image_write(ants.apply_transforms(fixed, moving, transformlist=chain, interpolator='linear'), out + '/' + name)
