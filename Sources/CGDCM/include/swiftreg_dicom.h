// DICOM through GDCM, as plain C for Swift: a scan of a folder's headers, and the decoded
// pixel data of one file (every transfer syntax GDCM decodes: JPEG baseline/lossless, JPEG-LS,
// JPEG 2000, RLE, deflate). No DICOM parsing of our own.
#ifndef SWIFTREG_DICOM_H
#define SWIFTREG_DICOM_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Scans `path` (a folder, searched recursively, or one file) for DICOM files. Returns a
/// malloc'd text, one line per DICOM file: the path, then, tab-separated (empty where absent;
/// tabs and newlines in values become spaces), SeriesInstanceUID, Modality, SeriesDescription,
/// ImagePositionPatient, ImageOrientationPatient, PixelSpacing, Rows, Columns, NumberOfFrames,
/// TransferSyntaxUID, SOPClassUID, InstanceNumber. NULL on failure, with a message in `error`.
/// Free with `swiftreg_dicom_free`.
char *swiftreg_dicom_scan(const char *path, char *error, size_t error_capacity);

void swiftreg_dicom_free(void *pointer);

/// One file's image as GDCM sees it.
typedef struct {
    uint32_t columns, rows, frames;
    uint32_t samples_per_pixel;
    uint32_t bits_allocated, bits_stored, pixel_representation;
    double origin[3], spacing[3];
    double direction[9];     ///< row by row: x axis (row cosines), y axis (column cosines), normal, as columns of the matrix
    double slope, intercept;
    uint64_t buffer_length;  ///< bytes of decoded pixel data
} swiftreg_dicom_image;

/// Reads one file: its geometry and pixel format into `info`; with a non-null `buffer` of at
/// least `info->buffer_length` bytes (`capacity`), also the decoded pixel data, frame after frame.
/// Returns 0, or −1 with a message in `error`.
int swiftreg_dicom_read(const char *path, swiftreg_dicom_image *info, void *buffer, uint64_t capacity,
                        char *error, size_t error_capacity);

#ifdef __cplusplus
}
#endif
#endif
