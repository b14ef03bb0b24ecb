/* SwiftReg's C ABI: the library's images, registration and transforms for callers in C, Python
 * (the swiftreg package, through ctypes) or any language with a C foreign-function interface.
 * Built as libswiftreg_c.so (swift build -c release --product swiftreg_c -Xswiftc -static-stdlib; see scripts/build-wheel.sh).
 *
 * Conventions
 *  - Physical space is LPS millimetres, as in ITK, ANTs and DICOM. Directions are 3×3 row-major;
 *    column j is the LPS unit vector of index axis j. 2-D images have ndim 2, size[2] 1.
 *  - Arrays are indexed (x, y, z) with x fastest in memory (NumPy's Fortran order; a C-ordered
 *    (z, y, x) array, as SimpleITK gives, transposed is the same memory).
 *  - Every function that can fail returns a status: SR_OK, or a code whose message
 *    sr_last_error() returns on the same thread until its next failure.
 *  - Handles (sr_image, sr_result, sr_transform) are owned by the caller and freed with their
 *    _free function; strings the library returns are freed with sr_string_free.
 *
 * Example:
 *   sr_image fixed, moving; sr_result result;
 *   if (sr_image_read("fixed.nii.gz", &fixed) || sr_image_read("moving.nii.gz", &moving)
 *       || sr_register(fixed, moving, "syn", NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, &result))
 *       fprintf(stderr, "%s\n", sr_last_error());
 */
#ifndef SWIFTREG_H
#define SWIFTREG_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { SR_OK = 0, SR_BAD_INPUT = 1, SR_BAD_ARGUMENT = 2, SR_CANCELLED = 3 };

typedef struct sr_image_s *sr_image;
typedef struct sr_result_s *sr_result;
typedef struct sr_transform_s *sr_transform;

/* Called with each progress event as JSON ({"kind": "iteration"|"level"|"done", "stage",
 * "level", "levels", "iteration", "iterations", "value", "message"}); non-zero cancels. */
typedef int32_t (*sr_progress_fn)(const char *event_json, void *context);

const char *sr_version(void);
const char *sr_last_error(void);
void sr_string_free(char *s);

/* An image from an array (one copy, converted to float32). dtype: NumPy's name (float32,
 * float64, int8, uint8, int16, uint16, int32, uint32, int64, uint64); shape and strides (bytes)
 * in (x, y, z) order for ndim values; spacing, origin 3 values; direction 9 values. */
int32_t sr_image_create(const void *data, const char *dtype, int32_t ndim, const int64_t *shape, const int64_t *strides,
                        const double *spacing, const double *origin, const double *direction, sr_image *out);
/* An image on the caller's float32 voxels, x fastest (NumPy's Fortran order), without a copy.
 * The library only reads them, until it calls release(context) once, when the image and every
 * result sharing its voxels are gone; keep them valid and unchanged until then. On failure
 * nothing is borrowed and release is not called. */
int32_t sr_image_borrow(float *data, int32_t ndim, const int64_t *shape, const double *spacing, const double *origin,
                        const double *direction, void (*release)(void *context), void *context, sr_image *out);
int32_t sr_image_geometry(sr_image image, int32_t *ndim, int64_t shape[3], double spacing[3], double origin[3], double direction[9]);
int32_t sr_image_copy_voxels(sr_image image, float *out, int64_t count);
/* The image's voxels in place (float32, x fastest, read-only), valid until the handle is freed. */
int32_t sr_image_voxels(sr_image image, const float **data, int64_t *count);
int32_t sr_image_read(const char *path, sr_image *out);
int32_t sr_image_write(sr_image image, const char *path);
void sr_image_free(sr_image image);

/* plan: a preset name (rigid, affine, syn, …) or a plan as YAML or JSON text. Masks and point
 * sets are optional (NULL, 0); points are count × (x, y, z). threads 0: all cores. */
int32_t sr_register(sr_image fixed, sr_image moving, const char *plan, sr_image fixed_mask, sr_image moving_mask,
                    const double *fixed_points, const double *moving_points, int64_t count, int32_t threads,
                    sr_progress_fn progress, void *context, sr_result *out);
/* which: 0 the warped moving image, 1 det J (NULL without a deformable stage). */
int32_t sr_result_image(sr_result result, int32_t which, sr_image *out);
int32_t sr_result_summary(sr_result result, char **json);
/* inverse 0: fixed → moving points (ANTs order, as apply takes them); 1: moving → fixed. */
int32_t sr_result_transform(sr_result result, int32_t inverse, sr_transform *out);
/* The files register writes under prefix; their paths as a JSON list. */
int32_t sr_result_save(sr_result result, const char *prefix, int32_t composite, char **paths_json);
void sr_result_free(sr_result result);

/* specs_json: a JSON list of transform files in ANTs order ("[FILE,1]" for an inverse). */
int32_t sr_transform_read(const char *specs_json, sr_transform *out);
/* interpolation: nearest, linear, bspline or label. */
int32_t sr_transform_apply(sr_transform transform, sr_image image, sr_image reference, const char *interpolation, sr_image *out);
int32_t sr_transform_points(sr_transform transform, double *points, int64_t count);
/* .h5: an ITK composite (any chain); .txt, .tfm, .mat: one linear transform; an image: one field. */
int32_t sr_transform_save(sr_transform transform, const char *path);
void sr_transform_free(sr_transform transform);

/* The applications on files: application "evaluate", "segment", "longitudinal" or "template";
 * request_json their options (camelCase: {"target": …, "atlases": [{"image": …, "labels": …}], …},
 * with "threads": N for any application, 0 or absent for all cores; segment and template take
 * "concurrent": registrations at once);
 * output the prefix (template: the folder; evaluate: unused); progress lines to the callback;
 * the summary back as JSON. */
typedef void (*sr_line_fn)(const char *line, void *context);
int32_t sr_run(const char *application, const char *request_json, const char *output, sr_line_fn progress, void *context,
               char **summary_json);

#ifdef __cplusplus
}
#endif
#endif
