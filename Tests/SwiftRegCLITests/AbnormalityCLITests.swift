import Foundation
import RegCore
import RegIO
import RegTestSupport
import Testing

/// `normative build`, `synth lesion` and `abnormality` end to end on phantom brains: healthy
/// subjects are the atlas under small random warps; a lesion with mass effect is found where it
/// was put, an unmodified subject shows no large cluster, and a model is refused with another atlas.
@Suite(.enabled(if: CLI.binary != nil, "swiftreg binary not built"))
struct AbnormalityCLITests {
    let folder = TemporaryFolder()

    struct Summary: Decodable {
        struct Table: Decodable { var clusters: [Cluster] }
        struct Cluster: Decodable { var voxels: Int; var volume: Double; var peak: Double; var peakPoint: [Double]; var centre: [Double] }
        var subjectClusters: Table
    }

    @Test func lesionIsFoundAndHealthyIsQuiet() throws {
        let grid = try Geometry(size: SIMD3(48, 52, 44), spacing: SIMD3(1.5, 1.4, 1.6), origin: SIMD3(-30, 20, -10),
                                direction: Phantoms.rotation(6, -8, 12))
        let center = grid.physicalPoint(ofIndex: SIMD3(23.5, 25.5, 21.5))
        let texture = Phantoms.blobs(center: center, extent: SIMD3(14, 15, 13), count: 14, seed: 5)
        let atlas = folder.file("atlas.nii.gz")
        try ImageFile.write(Phantoms.image(on: grid) { p in
            texture(p) / (1 + exp((((p - center) / SIMD3(28, 30, 27)).length - 1) * 25))
        }, to: atlas)
        func run(_ arguments: [String]) throws {
            let r = try CLI.run(arguments)
            #expect(r.status == 0, "\(arguments.prefix(2)): \(r.stderr)")
        }
        // Healthy subjects: the atlas under random warps of up to 3 mm, each with noise of its own
        // (`synth atrophy --change 0` adds only the noise).
        var healthy: [String] = []
        for seed in 1...6 {
            try run(["synth", "warp", atlas, "--max-displacement", "3", "--control-spacing", "20", "--seed", "\(seed)", "-o", folder.file("h\(seed)")])
            try run(["synth", "atrophy", folder.file("h\(seed)_moving.nii.gz"), "--change", "0", "--noise", "0.03", "--seed", "\(seed)",
                     "-o", folder.file("n\(seed)")])
            healthy.append(folder.file("n\(seed)_followup.nii.gz"))
        }
        let norm = folder.file("norm")
        try run(["normative", "build", "--atlas", atlas, "--healthy"] + healthy.dropLast() + ["-o", norm, "-q"])
        // The held-out healthy subject, and the same with a lesion of 7.5 mm pushing 2.5 mm.
        let subject = healthy.last!
        let lesionCenter = center + SIMD3(8, -6, 5)
        try run(["synth", "lesion", subject, "--center", "\(lesionCenter.x),\(lesionCenter.y),\(lesionCenter.z)", "--radius", "7.5",
                 "--mass-effect", "2.5", "-o", folder.file("les")])
        try run(["abnormality", folder.file("les_image.nii.gz"), "--atlas", atlas, "--normative", norm, "-o", folder.file("ab"), "-q"])
        let found = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: URL(fileURLWithPath: folder.file("ab_summary.json"))))
        // The largest cluster is the lesion with its rim of pushed tissue: centred on it, peaking
        // inside the pushed rim.
        let top = try #require(found.subjectClusters.clusters.first)
        let peak = SIMD3(top.peakPoint[0], top.peakPoint[1], top.peakPoint[2]), centre = SIMD3(top.centre[0], top.centre[1], top.centre[2])
        #expect((centre - lesionCenter).length < 5, "largest cluster centred \((centre - lesionCenter).length) mm from the lesion; \(found.subjectClusters.clusters.map { ($0.volume, $0.centre) })")
        #expect((peak - lesionCenter).length < 15, "largest cluster peaks \((peak - lesionCenter).length) mm from the lesion")
        #expect(top.volume > 1000)
        try run(["abnormality", subject, "--atlas", atlas, "--normative", norm, "-o", folder.file("ok"), "-q"])
        let quiet = try JSONDecoder().decode(Summary.self, from: Data(contentsOf: URL(fileURLWithPath: folder.file("ok_summary.json"))))
        #expect(quiet.subjectClusters.clusters.allSatisfy { $0.volume < 1000 }, "\(quiet.subjectClusters.clusters.map(\.volume))")
        let z = try ImageFile.read(folder.file("ab_z_combined_subject.nii.gz")).image
        #expect(z.geometry.sameGrid(as: try ImageFile.read(subject).image.geometry))

        // A model used with another atlas: exit 1 naming the mismatch, nothing written.
        let refused = try CLI.run(["abnormality", subject, "--atlas", healthy[0], "--normative", norm, "-o", folder.file("bad"), "-q"])
        #expect(refused.status == 1 && refused.stderr.contains("built with the atlas"), "\(refused.stderr)")
        let few = try CLI.run(["normative", "build", "--atlas", atlas, "--healthy", healthy[0], "-o", folder.file("badnorm"), "-q"])
        #expect(few.status == 1 && few.stderr.contains("at least 3"), "\(few.stderr)")
        #expect(!folder.contents.contains { $0.hasPrefix("bad") })
    }
}
