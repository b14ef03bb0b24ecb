#include "swiftreg_h5.h"
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

void swiftreg_h5_quiet(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

int64_t swiftreg_h5_open(const char *path) {
    if (H5Fis_hdf5(path) <= 0) return -1;
    return H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
}

int64_t swiftreg_h5_create_in_memory(void) {
    hid_t access = H5Pcreate(H5P_FILE_ACCESS);
    if (access < 0) return -1;
    // The core driver without a backing store: the file lives in memory until its image is taken.
    if (H5Pset_fapl_core(access, 1 << 20, 0) < 0) { H5Pclose(access); return -1; }
    hid_t file = H5Fcreate("swiftreg-in-memory.h5", H5F_ACC_TRUNC, H5P_DEFAULT, access);
    H5Pclose(access);
    return file;
}

int64_t swiftreg_h5_image(int64_t file, void *buffer, int64_t capacity) {
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0) return -1;
    return (int64_t)H5Fget_file_image(file, buffer, (size_t)capacity);
}

int swiftreg_h5_close(int64_t file) { return H5Fclose(file) < 0 ? -1 : 0; }

int swiftreg_h5_exists(int64_t file, const char *name) {
    // Check each prefix in turn: H5Lexists fails when an intermediate group is missing.
    size_t n = strlen(name);
    char *part = malloc(n + 1);
    if (!part) return 0;
    for (size_t i = 1; i <= n; i++) {
        if (i == n || name[i] == '/') {
            memcpy(part, name, i);
            part[i] = 0;
            if (H5Lexists(file, part, H5P_DEFAULT) <= 0) { free(part); return 0; }
        }
    }
    free(part);
    return 1;
}

int64_t swiftreg_h5_length(int64_t file, const char *name) {
    hid_t set = H5Dopen2(file, name, H5P_DEFAULT);
    if (set < 0) return -1;
    hid_t space = H5Dget_space(set);
    hssize_t count = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (space >= 0) H5Sclose(space);
    H5Dclose(set);
    return count;
}

int swiftreg_h5_read_doubles(int64_t file, const char *name, double *values, int64_t count) {
    hid_t set = H5Dopen2(file, name, H5P_DEFAULT);
    if (set < 0) return -1;
    int status = -1;
    hid_t type = H5Dget_type(set);
    hid_t space = H5Dget_space(set);
    H5T_class_t cls = H5Tget_class(type);
    if ((cls == H5T_FLOAT || cls == H5T_INTEGER) && H5Sget_simple_extent_npoints(space) == count) {
        status = H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0 ? -1 : 0;
    }
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(set);
    return status;
}

int64_t swiftreg_h5_read_string(int64_t file, const char *name, char *buffer, int64_t capacity) {
    if (capacity < 1) return -1;
    hid_t set = H5Dopen2(file, name, H5P_DEFAULT);
    if (set < 0) return -1;
    int64_t length = -1;
    hid_t type = H5Dget_type(set);
    hid_t space = H5Dget_space(set);
    if (H5Tget_class(type) == H5T_STRING && H5Sget_simple_extent_npoints(space) == 1) {
        if (H5Tis_variable_str(type) > 0) {
            hid_t memory = H5Tcopy(H5T_C_S1);
            H5Tset_size(memory, H5T_VARIABLE);
            char *value = NULL;
            if (H5Dread(set, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) >= 0 && value) {
                length = (int64_t)strlen(value);
                if (length > capacity - 1) length = capacity - 1;
                memcpy(buffer, value, (size_t)length);
                buffer[length] = 0;
                H5Dvlen_reclaim(memory, space, H5P_DEFAULT, &value);
            }
            H5Tclose(memory);
        } else {
            size_t size = H5Tget_size(type);
            char *value = calloc(size + 1, 1);
            hid_t memory = H5Tcopy(H5T_C_S1);
            H5Tset_size(memory, size);
            if (value && H5Dread(set, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, value) >= 0) {
                length = (int64_t)strnlen(value, size);
                if (length > capacity - 1) length = capacity - 1;
                memcpy(buffer, value, (size_t)length);
                buffer[length] = 0;
            }
            free(value);
            H5Tclose(memory);
        }
    }
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(set);
    return length;
}

int swiftreg_h5_create_group(int64_t file, const char *name) {
    hid_t group = H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (group < 0) return -1;
    H5Gclose(group);
    return 0;
}

int swiftreg_h5_write_doubles(int64_t file, const char *name, const double *values, int64_t count, int compress) {
    hsize_t dims[1] = {(hsize_t)count};
    hid_t space = H5Screate_simple(1, dims, NULL);
    if (space < 0) return -1;
    hid_t properties = H5Pcreate(H5P_DATASET_CREATE);
    if (compress && count > 4096) {
        hsize_t chunk[1] = {count < 65536 ? (hsize_t)count : 65536};
        H5Pset_chunk(properties, 1, chunk);
        H5Pset_deflate(properties, 1);
    }
    hid_t set = H5Dcreate2(file, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, properties, H5P_DEFAULT);
    int status = -1;
    if (set >= 0) {
        status = H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0 ? -1 : 0;
        H5Dclose(set);
    }
    H5Pclose(properties);
    H5Sclose(space);
    return status;
}

int swiftreg_h5_write_string(int64_t file, const char *name, const char *value) {
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    hsize_t one[1] = {1};   // a one-element list, as ITK writes its strings
    hid_t space = H5Screate_simple(1, one, NULL);
    hid_t set = H5Dcreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int status = -1;
    if (set >= 0) {
        status = H5Dwrite(set, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value) < 0 ? -1 : 0;
        H5Dclose(set);
    }
    H5Sclose(space);
    H5Tclose(type);
    return status;
}
