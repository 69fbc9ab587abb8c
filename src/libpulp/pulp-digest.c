/* SPDX-License-Identifier: LGPL-2.1-or-later */
#define G_LOG_DOMAIN "Pulp"

#include <openssl/evp.h>

#include "pulp-digest.h"

/**
 * PulpDigest:
 *
 * A message digest with the semantics of #GChecksum (update, then read the
 * hex string once, reset to reuse), computed by OpenSSL's libcrypto.
 * GLib's SHA-256 is portable C: about 100–250 MB/s here, slower than a
 * loopback download, so every byte of content went through the slowest
 * part of the transfer. libcrypto uses the CPU's SHA extensions or SIMD
 * code (1.4 GB/s on the project's machines).
 */
struct _PulpDigest
{
  EVP_MD_CTX *ctx;
  const EVP_MD *md;
  gboolean finished;
  gchar hex[EVP_MAX_MD_SIZE * 2 + 1];
};

/* The implementation of @name, fetched once: with the EVP_sha256()-style
 * constants libcrypto 3 looks the implementation up again at every
 * EVP_DigestInit_ex(), a visible cost when a digest is reset per 4 KiB
 * file. */
static const EVP_MD *
fetch_once (gsize *md, const gchar *name)
{
  if (g_once_init_enter (md))
    {
      EVP_MD *fetched = EVP_MD_fetch (NULL, name, NULL);

      if (fetched == NULL)
        g_error ("libcrypto has no %s digest", name);
      g_once_init_leave (md, (gsize) fetched);
    }
  return (const EVP_MD *) *md;
}

static const EVP_MD *
md_for (GChecksumType type)
{
  static gsize md5, sha1, sha256, sha384, sha512;

  switch (type)
    {
    case G_CHECKSUM_MD5:
      return fetch_once (&md5, "MD5");
    case G_CHECKSUM_SHA1:
      return fetch_once (&sha1, "SHA1");
    case G_CHECKSUM_SHA256:
      return fetch_once (&sha256, "SHA256");
    case G_CHECKSUM_SHA384:
      return fetch_once (&sha384, "SHA384");
    case G_CHECKSUM_SHA512:
      return fetch_once (&sha512, "SHA512");
    default:
      return NULL;
    }
}

/**
 * pulp_digest_new:
 * @type: which digest
 *
 * Returns: (transfer full): a new digest, or %NULL if @type is unknown
 */
PulpDigest *
pulp_digest_new (GChecksumType type)
{
  const EVP_MD *md = md_for (type);
  PulpDigest *digest;

  g_return_val_if_fail (md != NULL, NULL);

  digest = g_new0 (PulpDigest, 1);
  digest->md = md;
  digest->ctx = EVP_MD_CTX_new ();
  if (digest->ctx == NULL || !EVP_DigestInit_ex (digest->ctx, md, NULL))
    g_error ("libcrypto cannot start a %s digest", EVP_MD_get0_name (md));
  return digest;
}

/**
 * pulp_digest_update:
 *
 * Adds @length bytes; must not be called after pulp_digest_get_string()
 * unless pulp_digest_reset() was called in between.
 */
void
pulp_digest_update (PulpDigest *digest, const guchar *data, gsize length)
{
  g_return_if_fail (digest != NULL && !digest->finished);

  if (length > 0)
    EVP_DigestUpdate (digest->ctx, data, length);
}

/**
 * pulp_digest_get_string:
 *
 * Ends the digest (the first time) and returns it in lower-case hex.
 *
 * Returns: (transfer none): the digest, owned by @digest
 */
const gchar *
pulp_digest_get_string (PulpDigest *digest)
{
  static const gchar hex[] = "0123456789abcdef";
  guchar raw[EVP_MAX_MD_SIZE];
  unsigned int length = 0;

  g_return_val_if_fail (digest != NULL, NULL);

  if (digest->finished)
    return digest->hex;
  EVP_DigestFinal_ex (digest->ctx, raw, &length);
  for (unsigned int i = 0; i < length; i++)
    {
      digest->hex[2 * i] = hex[raw[i] >> 4];
      digest->hex[2 * i + 1] = hex[raw[i] & 0xf];
    }
  digest->hex[2 * length] = '\0';
  digest->finished = TRUE;
  return digest->hex;
}

/**
 * pulp_digest_reset:
 *
 * Starts over, with the same type.
 */
void
pulp_digest_reset (PulpDigest *digest)
{
  g_return_if_fail (digest != NULL);

  EVP_DigestInit_ex (digest->ctx, digest->md, NULL);
  digest->finished = FALSE;
}

/**
 * pulp_digest_free:
 */
void
pulp_digest_free (PulpDigest *digest)
{
  if (digest == NULL)
    return;
  EVP_MD_CTX_free (digest->ctx);
  g_free (digest);
}
