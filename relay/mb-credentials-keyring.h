/* mb-credentials-keyring.h - the routes' secrets in the Secret Service
 *
 * The keyring backend of MbCredentials (libsecret, the desktop session's
 * gnome-keyring or KWallet).  Items use the schema "org.mailbridge.Secret"
 * (mb_credentials_keyring_get_schema()) with three string attributes:
 *
 *   route    the route name ("office365")
 *   kind     MB_CREDENTIALS_KIND_* ("password", "client-secret", ...)
 *   expires  the secret's expiry in unix seconds, "0" for none
 *
 * and labels like "Mailbridge: password for route office365".  The
 * expiry is an attribute of the secret's own item, not a second item, so
 * a secret and its expiry are written in one step and can never disagree.
 *
 * Rules for every writer of this schema (the GUI's keyring code too):
 * look up by route and kind only; store with all three attributes; after
 * storing, delete the other items of the same route and kind (an item
 * with a different "expires" is a different item to the Secret Service).
 * This backend does so, one write at a time.
 *
 * All calls use libsecret's asynchronous API on the caller's main context
 * and never block it.  The keyring is first contacted by the first call.
 */
#pragma once

#include <libsecret/secret.h>

#include "mb-credentials.h"

G_BEGIN_DECLS

#define MB_CREDENTIALS_KEYRING_SCHEMA_NAME "org.mailbridge.Secret"

#define MB_TYPE_CREDENTIALS_KEYRING (mb_credentials_keyring_get_type ())
G_DECLARE_FINAL_TYPE (MbCredentialsKeyring,
                      mb_credentials_keyring,
                      MB,
                      CREDENTIALS_KEYRING,
                      MbCredentials)

MbCredentialsKeyring *mb_credentials_keyring_new (void);

/* The schema, for code that reads or writes our items directly. */
const SecretSchema *mb_credentials_keyring_get_schema (void);

/* "Mailbridge: client secret for route office365".  (transfer full) */
char *mb_credentials_keyring_make_label (const char *route, const char *kind);

G_END_DECLS
