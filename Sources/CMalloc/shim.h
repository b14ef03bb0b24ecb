// glibc's malloc tuning (mallopt), part of libc itself: nothing to link.
#include <malloc.h>
