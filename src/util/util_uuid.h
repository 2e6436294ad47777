/* Random (version 4) UUIDs in canonical lower-case text form. */
#ifndef IDSYNC_UTIL_UUID_H
#define IDSYNC_UTIL_UUID_H
/* Writes 36 characters plus NUL into out. */
void uuid_v4(char out[37]);
/* Lower-case hex of data into a new string the caller frees. */
char *hex_encode(const void *data, unsigned long len);
#endif
