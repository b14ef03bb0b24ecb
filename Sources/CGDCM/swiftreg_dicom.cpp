#include "swiftreg_dicom.h"

#include <gdcmDirectory.h>
#include <gdcmImage.h>
#include <gdcmImageApplyLookupTable.h>
#include <gdcmImageChangePhotometricInterpretation.h>
#include <gdcmImageChangePlanarConfiguration.h>
#include <gdcmImageChangeTransferSyntax.h>
#include <gdcmImageHelper.h>
#include <gdcmImageReader.h>
#include <gdcmMediaStorage.h>
#include <gdcmReader.h>
#include <gdcmScanner.h>
#include <gdcmSystem.h>
#include <gdcmTrace.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

// The tags the scan reports, in this order (DICOMSeries.headers reads them by position).
const gdcm::Tag scanTags[] = {
    gdcm::Tag(0x0020, 0x000e),  // SeriesInstanceUID
    gdcm::Tag(0x0008, 0x0060),  // Modality
    gdcm::Tag(0x0008, 0x103e),  // SeriesDescription
    gdcm::Tag(0x0020, 0x0032),  // ImagePositionPatient
    gdcm::Tag(0x0020, 0x0037),  // ImageOrientationPatient
    gdcm::Tag(0x0028, 0x0030),  // PixelSpacing
    gdcm::Tag(0x0028, 0x0010),  // Rows
    gdcm::Tag(0x0028, 0x0011),  // Columns
    gdcm::Tag(0x0028, 0x0008),  // NumberOfFrames
    gdcm::Tag(0x0002, 0x0010),  // TransferSyntaxUID
    gdcm::Tag(0x0008, 0x0016),  // SOPClassUID
    gdcm::Tag(0x0020, 0x0013),  // InstanceNumber
};

void setError(char *error, size_t capacity, const std::string &message) {
    if (!error || capacity == 0) return;
    std::strncpy(error, message.c_str(), capacity - 1);
    error[capacity - 1] = 0;
}

// GDCM prints warnings and errors to stderr; they come back through return values instead.
// Also reads PixelSpacing and RescaleSlope/Intercept in every IOD, as ITK's GDCMImageIO asks GDCM to.
void quiet() {
    gdcm::Trace::SetDebug(false);
    gdcm::Trace::SetWarning(false);
    gdcm::Trace::SetError(false);
    gdcm::ImageHelper::SetForcePixelSpacing(true);
    gdcm::ImageHelper::SetForceRescaleInterceptSlope(true);
}

// The image as SimpleITK's GDCMImageIO (ITK 5.4) gives it: palette colour through its lookup
// table, YBR as RGB, MONOCHROME1 inverted to MONOCHROME2, colour planes interleaved. A conversion
// of compressed data decompresses it first.
bool normalise(gdcm::Image &image, std::string &problem) {
    using PI = gdcm::PhotometricInterpretation;
    PI::PIType pi = image.GetPhotometricInterpretation();
    if (pi == PI::YBR_FULL_422 && !image.GetTransferSyntax().IsEncapsulated()) {
        problem = "uncompressed YBR_FULL_422 (chroma subsampled) colour is not read";
        return false;
    }
    const bool convert = pi == PI::PALETTE_COLOR || pi == PI::YBR_FULL || pi == PI::YBR_FULL_422 || pi == PI::MONOCHROME1;
    if (convert && image.GetTransferSyntax().IsEncapsulated()) {
        gdcm::ImageChangeTransferSyntax decompress;
        decompress.SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
        decompress.SetInput(image);
        if (!decompress.Change()) { problem = "GDCM could not decompress the pixel data"; return false; }
        image = decompress.GetOutput();
        pi = image.GetPhotometricInterpretation();
    }
    if (pi == PI::PALETTE_COLOR) {
        gdcm::ImageApplyLookupTable lut;
        lut.SetInput(image);
        if (!lut.Apply()) { problem = "GDCM could not apply the palette lookup table"; return false; }
        image = lut.GetOutput();
    } else if (pi == PI::YBR_FULL || pi == PI::MONOCHROME1) {
        gdcm::ImageChangePhotometricInterpretation change;
        change.SetInput(image);
        change.SetPhotometricInterpretation(pi == PI::YBR_FULL ? PI::RGB : PI::MONOCHROME2);
        if (!change.Change()) { problem = "GDCM could not convert the photometric interpretation"; return false; }
        image = change.GetOutput();
    } else if (pi == PI::YBR_FULL_422) {
        problem = "YBR_FULL_422 colour that GDCM's decoder left subsampled is not read";
        return false;
    }
    if (image.GetPlanarConfiguration() == 1) {
        gdcm::ImageChangePlanarConfiguration planar;
        planar.SetInput(image);
        planar.SetPlanarConfiguration(0);
        if (!planar.Change()) { problem = "GDCM could not interleave the colour planes"; return false; }
        image = planar.GetOutput();
    }
    return true;
}

std::string clean(const char *value) {
    std::string s = value ? value : "";
    for (char &c : s) if (c == '\t' || c == '\n' || c == '\r' || c == 0) c = ' ';
    size_t first = s.find_first_not_of(' '), last = s.find_last_not_of(' ');
    return first == std::string::npos ? "" : s.substr(first, last - first + 1);
}

}  // namespace

extern "C" void swiftreg_dicom_free(void *pointer) { std::free(pointer); }

extern "C" char *swiftreg_dicom_scan(const char *path, char *error, size_t error_capacity) {
    quiet();
    try {
        std::vector<std::string> files;
        if (gdcm::System::FileIsDirectory(path)) {
            gdcm::Directory directory;
            directory.Load(path, true);
            files = directory.GetFilenames();
        } else if (gdcm::System::FileExists(path)) {
            files.push_back(path);
        } else {
            setError(error, error_capacity, "no such file or folder");
            return nullptr;
        }
        gdcm::Scanner scanner;
        for (const gdcm::Tag &tag : scanTags) scanner.AddTag(tag);
        if (!files.empty() && !scanner.Scan(files)) {
            setError(error, error_capacity, "GDCM could not scan the files");
            return nullptr;
        }
        std::ostringstream out;
        for (const std::string &file : files) {
            if (!scanner.IsKey(file.c_str())) continue;  // not DICOM
            out << clean(file.c_str());
            for (const gdcm::Tag &tag : scanTags) out << '\t' << clean(scanner.GetValue(file.c_str(), tag));
            out << '\n';
        }
        std::string text = out.str();
        char *result = static_cast<char *>(std::malloc(text.size() + 1));
        if (!result) {
            setError(error, error_capacity, "out of memory");
            return nullptr;
        }
        std::memcpy(result, text.c_str(), text.size() + 1);
        return result;
    } catch (const std::exception &e) {
        setError(error, error_capacity, std::string("GDCM: ") + e.what());
        return nullptr;
    } catch (...) {
        setError(error, error_capacity, "GDCM failed");
        return nullptr;
    }
}

extern "C" int swiftreg_dicom_read(const char *path, swiftreg_dicom_image *info, void *buffer, uint64_t capacity,
                                   char *error, size_t error_capacity) {
    quiet();
    try {
        // GDCM asserts (aborts) on an RT Dose object without NumberOfFrames: refuse it first.
        {
            gdcm::Reader header;
            header.SetFileName(path);
            const gdcm::Tag pixelData(0x7fe0, 0x0010);
            std::set<gdcm::Tag> skip;
            skip.insert(pixelData);
            if (header.ReadUpToTag(pixelData, skip)) {
                gdcm::MediaStorage storage;
                storage.SetFromFile(header.GetFile());
                if (storage == gdcm::MediaStorage::RTDoseStorage && !header.GetFile().GetDataSet().FindDataElement(gdcm::Tag(0x0028, 0x0008))) {
                    setError(error, error_capacity, "an RT Dose object without NumberOfFrames (0028,0008)");
                    return -1;
                }
            }
        }
        gdcm::ImageReader reader;
        reader.SetFileName(path);
        if (!reader.Read()) {
            setError(error, error_capacity, "GDCM cannot read an image from it (not DICOM, no pixel data, or a damaged header)");
            return -1;
        }
        gdcm::Image &image = reader.GetImage();  // the reader's own (filters keep counted references to it)
        std::string problem;
        if (!normalise(image, problem)) {
            setError(error, error_capacity, problem);
            return -1;
        }
        const unsigned int *dims = image.GetDimensions();
        const gdcm::PixelFormat &format = image.GetPixelFormat();
        std::memset(info, 0, sizeof(*info));
        info->columns = dims[0];
        info->rows = image.GetNumberOfDimensions() > 1 ? dims[1] : 1;
        info->frames = image.GetNumberOfDimensions() > 2 ? dims[2] : 1;
        info->samples_per_pixel = format.GetSamplesPerPixel();
        info->bits_allocated = format.GetBitsAllocated();
        info->bits_stored = format.GetBitsStored();
        info->pixel_representation = format.GetPixelRepresentation();
        const double *origin = image.GetOrigin(), *spacing = image.GetSpacing(), *cosines = image.GetDirectionCosines();
        for (int i = 0; i < 3; i++) {
            info->origin[i] = origin[i];
            info->spacing[i] = spacing[i];
        }
        const double row[3] = {cosines[0], cosines[1], cosines[2]}, column[3] = {cosines[3], cosines[4], cosines[5]};
        const double normal[3] = {row[1] * column[2] - row[2] * column[1], row[2] * column[0] - row[0] * column[2],
                                  row[0] * column[1] - row[1] * column[0]};
        for (int i = 0; i < 3; i++) {
            info->direction[3 * i] = row[i];
            info->direction[3 * i + 1] = column[i];
            info->direction[3 * i + 2] = normal[i];
        }
        info->slope = image.GetSlope();
        info->intercept = image.GetIntercept();
        const bool singleBit = info->bits_allocated == 1;
        const uint64_t voxels = uint64_t(info->columns) * info->rows * info->frames * info->samples_per_pixel;
        // One-bit images (segmentations) are unpacked to a byte per voxel (0 or 255), as ITK does.
        info->buffer_length = singleBit ? voxels : image.GetBufferLength();
        if (singleBit) info->bits_allocated = info->bits_stored = 8;
        if (!buffer) return 0;
        if (capacity < info->buffer_length) {
            setError(error, error_capacity, "the buffer is smaller than the decoded pixel data");
            return -1;
        }
        std::vector<char> packed(singleBit ? image.GetBufferLength() : 0);
        if (!image.GetBuffer(singleBit ? packed.data() : static_cast<char *>(buffer))) {
            const char *syntax = image.GetTransferSyntax().GetString();
            setError(error, error_capacity, std::string("GDCM could not decode the pixel data (transfer syntax ") + (syntax ? syntax : "?") +
                                                "): damaged or unsupported");
            return -1;
        }
        if (singleBit) {
            unsigned char *out = static_cast<unsigned char *>(buffer);
            // Set bits read as 255, as ITK's GDCMImageIO gives them.
            for (uint64_t i = 0; i < voxels && i / 8 < packed.size(); i++) out[i] = ((static_cast<unsigned char>(packed[i / 8]) >> (i % 8)) & 1) * 255;
        }
        return 0;
    } catch (const std::exception &e) {
        setError(error, error_capacity, std::string("GDCM: ") + e.what());
        return -1;
    } catch (...) {
        setError(error, error_capacity, "GDCM failed");
        return -1;
    }
}
