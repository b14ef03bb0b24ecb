"""Arrays and their geometry through swiftreg.Image, nibabel, SimpleITK and ANTsPy: oblique,
anisotropic, LIA-like grids keep their voxels and their place; bad arrays raise the library's message."""
import numpy as np
import pytest

import swiftreg


def rotation(ax, ay, az):
    ax, ay, az = np.radians([ax, ay, az])
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    rz = np.array([[np.cos(az), -np.sin(az), 0], [np.sin(az), np.cos(az), 0], [0, 0, 1]])
    return rz @ ry @ rx


# LIA (x → left, y → inferior, z → anterior: in LPS the axes L=+x, I=−z, A=−y), turned a little.
LIA = rotation(7, -5, 11) @ np.array([[1.0, 0, 0], [0, 0, -1], [0, -1, 0]])


@pytest.fixture
def image():
    rng = np.random.default_rng(3)
    array = rng.random((23, 17, 11), dtype=np.float32) * 100
    return swiftreg.Image(array, spacing=(0.9, 1.3, 2.1), origin=(-12.5, 30.25, 7.75), direction=LIA), array


def expect_same(a, b, tolerance=1e-6):
    assert a.shape == b.shape
    np.testing.assert_array_equal(a.array, b.array)
    np.testing.assert_allclose(a.spacing, b.spacing, atol=tolerance)
    np.testing.assert_allclose(a.origin, b.origin, atol=tolerance)
    np.testing.assert_allclose(a.direction, b.direction, atol=tolerance)


def test_an_image_keeps_its_voxels_and_geometry(image):
    img, array = image
    np.testing.assert_array_equal(img.array, array)
    assert img.spacing == (0.9, 1.3, 2.1) and img.origin == (-12.5, 30.25, 7.75)
    np.testing.assert_allclose(img.direction, LIA)
    # The index-to-LPS map: voxel (1, 2, 3) lies at origin + D · diag(spacing) · (1, 2, 3).
    expected = np.array(img.origin) + LIA @ (np.array(img.spacing) * [1, 2, 3])
    np.testing.assert_allclose((img.affine @ [1, 2, 3, 1])[:3], expected)
    # C order (z fastest) holds the same voxels as Fortran order.
    expect_same(swiftreg.Image(np.ascontiguousarray(array), img.spacing, img.origin, img.direction), img)
    assert not img.array.flags.writeable


def test_nibabel_round_trip_and_files(image, tmp_path):
    nib = pytest.importorskip("nibabel")
    img, _ = image
    expect_same(swiftreg.Image.from_nibabel(img.to_nibabel()), img, 1e-9)
    # A file the library writes, read by nibabel: the same voxels in the same place (RAS affine).
    img.write(tmp_path / "a.nii.gz")
    theirs = nib.load(tmp_path / "a.nii.gz")
    np.testing.assert_array_equal(np.asanyarray(theirs.dataobj), img.array)
    np.testing.assert_allclose(theirs.affine, img.to_nibabel().affine, atol=1e-5)
    expect_same(swiftreg.Image.from_nibabel(theirs), swiftreg.Image.read(tmp_path / "a.nii.gz"), 1e-5)


def test_simpleitk_round_trip_and_files(image, tmp_path):
    sitk = pytest.importorskip("SimpleITK")
    img, _ = image
    expect_same(swiftreg.Image.from_sitk(img.to_sitk()), img, 1e-12)
    img.write(tmp_path / "a.nrrd")
    theirs = sitk.ReadImage(str(tmp_path / "a.nrrd"))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(theirs).T, img.array)
    np.testing.assert_allclose(theirs.GetOrigin(), img.origin, atol=1e-9)
    np.testing.assert_allclose(theirs.GetSpacing(), img.spacing, atol=1e-9)
    np.testing.assert_allclose(np.reshape(theirs.GetDirection(), (3, 3)), img.direction, atol=1e-9)
    # A physical point: SimpleITK and the library's affine agree on where voxel (4, 5, 6) lies.
    np.testing.assert_allclose(theirs.TransformIndexToPhysicalPoint((4, 5, 6)), (img.affine @ [4, 5, 6, 1])[:3], atol=1e-9)


def test_antspy_round_trip(image):
    ants = pytest.importorskip("ants")
    img, _ = image
    theirs = img.to_ants()
    np.testing.assert_allclose(theirs.origin, img.origin)
    expect_same(swiftreg.Image.from_ants(theirs), img, 1e-9)


def test_a_2d_image(tmp_path):
    sitk = pytest.importorskip("SimpleITK")
    a = np.arange(12 * 7, dtype=np.int16).reshape(12, 7)
    img = swiftreg.Image(a, spacing=(0.5, 2.0), origin=(3, -4), direction=rotation(0, 0, 30)[:2, :2])
    assert img.ndim == 2 and img.shape == (12, 7)
    expect_same(swiftreg.Image.from_sitk(img.to_sitk()), img, 1e-12)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((4, 4, 4), np.complex64), "dtype complex64 is not a voxel type"),
    (np.zeros((4, 4, 4), bool), "dtype bool is not a voxel type"),
    (np.zeros((4, 4, 4, 3), np.float32), "a 4-D array"),
    (np.zeros((8, 8, 8), np.float32)[:, ::2, :], "a strided view"),
    (np.zeros((0, 8, 8), np.float32), "size"),
    (np.float32(3), "a 0-D array"),
])
def test_bad_arrays_raise_the_librarys_message(bad, message):
    with pytest.raises(swiftreg.Error, match=message):
        swiftreg.Image(bad)


def test_bad_geometry_raises_the_librarys_message():
    with pytest.raises(swiftreg.Error, match="spacing"):
        swiftreg.Image(np.zeros((4, 4, 4), np.float32), spacing=(1, 0, 1))
    with pytest.raises(swiftreg.Error, match="singular direction"):
        swiftreg.Image(np.zeros((4, 4, 4), np.float32), direction=np.zeros((3, 3)))
    with pytest.raises(swiftreg.Error, match="cannot read"):
        swiftreg.Image.read("/nonexistent/a.nii.gz")
