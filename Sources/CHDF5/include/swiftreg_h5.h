// A few plain functions over libhdf5 for ITK transform files: HDF5's type constants are
// macros that call into the library, which Swift cannot import, so they are resolved here.
#ifndef SWIFTREG_H5_H
#define SWIFTREG_H5_H
#include <stddef.h>
#include <stdint.h>

/// Opens an existing file read-only; returns a file handle, or a negative value.
int64_t swiftreg_h5_open(const char *path);
/// Creates a file in memory; returns a file handle, or a negative value.
int64_t swiftreg_h5_create_in_memory(void);
/// The bytes of a file made in memory: with a null `buffer`, the size needed; else copies up to
/// `capacity` bytes and returns the size. Negative on failure.
int64_t swiftreg_h5_image(int64_t file, void *buffer, int64_t capacity);
int swiftreg_h5_close(int64_t file);
/// 1 when every link along `name` (an absolute path such as /TransformGroup/0) exists, else 0.
int swiftreg_h5_exists(int64_t file, const char *name);
/// The number of elements of a dataset, or a negative value.
int64_t swiftreg_h5_length(int64_t file, const char *name);
/// Reads a numeric dataset of `count` elements as doubles (any integer or float type); 0 on success.
int swiftreg_h5_read_doubles(int64_t file, const char *name, double *values, int64_t count);
/// Reads a string dataset (fixed-length or variable-length, scalar or one element) into `buffer`;
/// returns the string's length (truncated to capacity − 1), or a negative value.
int64_t swiftreg_h5_read_string(int64_t file, const char *name, char *buffer, int64_t capacity);
int swiftreg_h5_create_group(int64_t file, const char *name);
/// Writes a one-dimensional dataset of doubles (gzip-compressed when `compress` and large); 0 on success.
int swiftreg_h5_write_doubles(int64_t file, const char *name, const double *values, int64_t count, int compress);
/// Writes a variable-length string as a one-element dataset (as ITK does); 0 on success.
int swiftreg_h5_write_string(int64_t file, const char *name, const char *value);
/// Turns off HDF5's printing of its error stack (errors are reported by return values).
void swiftreg_h5_quiet(void);

#endif
