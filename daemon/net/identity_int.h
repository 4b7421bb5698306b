/*
 * Between identity.c (the certificate, fingerprints, signatures) and
 * identity_file.c (the key file), which identity.c calls; nothing else
 * includes this.
 */
#ifndef P2P_IDENTITY_INT_H
#define P2P_IDENTITY_INT_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "identity.h"

/* *cause = the formatted message (the caller frees it). */
void	identity_cause(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Zero and free a datum that held private key material. */
void	identity_datum_clear(gnutls_datum_t *);
/* Open the key file dir/name into key, or make one if there is none. */
int	identity_key(const char *dir, const char *name, gnutls_x509_privkey_t,
	    char **cause);

#endif
