/* Identifiers and secrets from the kernel's CSPRNG. */
#ifndef CR_RANDOM_H
#define CR_RANDOM_H

#include <stddef.h>

/* Fills buf with n random bytes from getrandom(2). Returns 0, or -1 if the kernel refused. */
int cr_random_bytes(void *buf, size_t n);

/* A random (version 4) UUID, 36 characters and a NUL. Returns 0 or -1. */
int cr_random_uuid(char out[37]);

/* A 256-bit random token, base64url without padding: 43 characters and a NUL. */
#define CR_TOKEN_LEN 44
int cr_random_token(char out[CR_TOKEN_LEN]);

/* base64url (RFC 4648 section 5) without padding; out must hold 4 * ceil(n / 3) + 1 bytes. */
void cr_base64url(const unsigned char *in, size_t n, char *out);

#endif
