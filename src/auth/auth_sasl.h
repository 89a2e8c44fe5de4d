/* auth_sasl.h — the SASL mechanisms every login service shares (POP3 AUTH,
   IMAP AUTHENTICATE, SMTP AUTH): base64 as SASL exchanges carry it
   (RFC 4648 §4, strict), PLAIN (RFC 4616) and LOGIN
   (draft-murchison-sasl-login-00). Pure functions: no I/O, no allocation;
   what they decode goes into caller-owned fixed buffers, which the caller
   wipes with the *_clear function (they hold passwords).

   The protocol framing stays with each service: "=" for an empty initial
   response (RFC 5034 §4, RFC 4954 §4), "*" to cancel, the "+ " prefix. */
#ifndef PETREL_AUTH_SASL_H
#define PETREL_AUTH_SASL_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 4616 §2: authzid, authcid and passwd are each at most 255 octets. */
#define AUTH_SASL_FIELD_MAX 255
/* The longest PLAIN message: three fields and two NULs. */
#define AUTH_SASL_PLAIN_MAX (3 * AUTH_SASL_FIELD_MAX + 2)
/* Its base64 form, padded: the longest response line a service needs to
   read for PLAIN (1024); LOGIN's are shorter. */
#define AUTH_SASL_PLAIN_B64_MAX (((AUTH_SASL_PLAIN_MAX + 2) / 3) * 4)

/* Base64 of "Username:" and "Password:", the LOGIN challenges. */
#define AUTH_SASL_LOGIN_USERNAME "VXNlcm5hbWU6"
#define AUTH_SASL_LOGIN_PASSWORD "UGFzc3dvcmQ6"

/* A SASL response line that cancels the exchange (RFC 4422 §3.5,
   RFC 5034 §4: "*"). */
bool auth_sasl_is_cancel(const char *line, size_t len);

struct auth_sasl_plain {
	char authzid[AUTH_SASL_FIELD_MAX + 1];	/* "" when not given */
	char authcid[AUTH_SASL_FIELD_MAX + 1];
	char passwd[AUTH_SASL_FIELD_MAX + 1];
	size_t passwd_len;
};

/* Decodes a base64 PLAIN response (RFC 4616 §2):
	message = [authzid] NUL authcid NUL passwd
   Refused (-1, with *error_r a short static text for the log): bad
   base64, not exactly two NULs, an empty authcid or passwd, a field over
   255 octets, identities that are not well-formed UTF-8 or hold control
   characters. The password may be any octets but NUL (RFC 4616 §2: its
   charset is the user's business; Dovecot accepts legacy 8-bit ones).
   Returns 0 with *plain filled. *plain is wiped on failure too. */
int auth_sasl_plain_decode(const char *b64, size_t len,
    struct auth_sasl_plain *plain, const char **error_r);

/* Whether the client may act as authzid: no authzid, or the authcid
   itself (ASCII case ignored). Petrel has no proxy users (RFC 4616 §2
   lets the server refuse any other authzid). */
bool auth_sasl_plain_authzid_ok(const struct auth_sasl_plain *plain);

/* Wipes the buffers (explicit_bzero). */
void auth_sasl_plain_clear(struct auth_sasl_plain *plain);

/* One LOGIN response (the user name, or then the password): base64 of
   1-255 octets without NUL. The user name must also be well-formed UTF-8
   without control characters. Returns 0 with out (NUL-terminated, *len_r
   octets), or -1 with *error_r; out is wiped on failure. */
int auth_sasl_login_decode(const char *b64, size_t len, bool is_password,
    char out[AUTH_SASL_FIELD_MAX + 1], size_t *len_r, const char **error_r);
#endif
