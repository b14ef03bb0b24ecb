// The compiler's cache prefetch hint, which Swift does not expose: nothing to link.
static inline void swiftreg_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
