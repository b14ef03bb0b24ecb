import Foundation
import Testing
import RegCore
import RegIO
import RegTestSupport

/// elastix (Debian) registers real pairs — the 2-D elastix example and a 3-D brain pair at 3 mm —
/// with an Euler, affine and B-spline chain; `swiftreg apply` with its last parameter file
/// reproduces transformix's image within 1e-3 of the range. Runs where elastix is installed
/// (`scripts/install-peers.sh`) and `../shared/data` is present.
enum ElastixTools {
    static let available = (try? PythonOracle.runProcess(["elastix", "--version"])) != nil
        && (try? PythonOracle.runProcess(["transformix", "--version"])) != nil
}

@Suite(.enabled(if: CLI.binary != nil && SharedData.isAvailable && ElastixTools.available,
                "swiftreg binary not built, ../shared/data absent, or elastix/transformix not on PATH"))
struct ElastixLiveTests {
    let folder = TemporaryFolder()

    static func stage(_ transform: String, dimension: Int, grid: Double) -> String {
        """
        (FixedImageDimension \(dimension))
        (MovingImageDimension \(dimension))
        (FixedInternalImagePixelType "float")
        (MovingInternalImagePixelType "float")
        (UseDirectionCosines "true")
        (Registration "MultiResolutionRegistration")
        (Interpolator "BSplineInterpolator")
        (ResampleInterpolator "FinalBSplineInterpolator")
        (FinalBSplineInterpolationOrder 3)
        (Resampler "DefaultResampler")
        (FixedImagePyramid "FixedSmoothingImagePyramid")
        (MovingImagePyramid "MovingSmoothingImagePyramid")
        (Optimizer "AdaptiveStochasticGradientDescent")
        (ImageSampler "RandomCoordinate")
        (NumberOfSpatialSamples 3000)
        (NewSamplesEveryIteration "true")
        (HowToCombineTransforms "Compose")
        (Metric "AdvancedMattesMutualInformation")
        (AutomaticScalesEstimation "true")
        (AutomaticTransformInitialization "\(transform == "EulerTransform" ? "true" : "false")")
        (Transform "\(transform)")
        (NumberOfResolutions 2)
        (MaximumNumberOfIterations 100)
        (FinalGridSpacingInPhysicalUnits \(grid))
        (DefaultPixelValue 0)
        (WriteResultImage "false")
        (ResultImagePixelType "float")
        (ResultImageFormat "nii.gz")
        (RandomSeed 3)
        """
    }

    func check(fixed: String, moving: String, dimension: Int, grid: Double) throws {
        var arguments = ["elastix", "-f", fixed, "-m", moving, "-out", folder.path]
        for (i, transform) in ["EulerTransform", "AffineTransform", "BSplineTransform"].enumerated() {
            let p = folder.file("stage\(i).txt")
            try Self.stage(transform, dimension: dimension, grid: grid).write(toFile: p, atomically: true, encoding: .utf8)
            arguments += ["-p", p]
        }
        _ = try PythonOracle.runProcess(arguments)
        let last = folder.file("TransformParameters.2.txt")
        _ = try PythonOracle.runProcess(["transformix", "-in", moving, "-out", folder.path, "-tp", last])
        let ours = folder.file("ours.nii.gz")
        let r = try CLI.run(["apply", "-i", moving, "-r", fixed, "-t", last, "--interp", "bspline", "-o", ours])
        #expect(r.status == 0, "\(r.stderr)")
        let a = try ImageFile.read(ours).image.floatImage(), b = try ImageFile.read(folder.file("result.nii.gz")).image.floatImage()
        #expect(a.geometry.sameGrid(as: b.geometry, tolerance: 1e-4))
        let range = Double(b.voxels.max()! - b.voxels.min()!)
        let worst = zip(a.voxels, b.voxels).map { Double(abs($0 - $1)) }.max()!
        #expect(worst < 1e-3 * range, "largest difference from transformix \(worst) of a range of \(range)")
    }

    @Test func elastixExample2D() throws {
        try check(fixed: SharedData.path("2d/elastix_example/fixed.mhd"), moving: SharedData.path("2d/elastix_example/moving.mhd"),
                  dimension: 2, grid: 16)
    }

    @Test func brainPair3DAt3mm() throws {
        for (subject, name) in [("A", "fixed"), ("B", "moving")] {
            let r = try CLI.run(["resample", SharedData.path("brain/lapirn/image_\(subject)_160x192x144.nii.gz"), folder.file("\(name).nii.gz"),
                                 "--spacing", "3"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        try check(fixed: folder.file("fixed.nii.gz"), moving: folder.file("moving.nii.gz"), dimension: 3, grid: 20)
    }
}
