/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The least a metadata-only sync of a yum repository costs with
 * libcreaterepo_c: the streaming parse of primary.xml that pulpd's rpm
 * importer runs (files included), with each package freed as soon as it is
 * parsed: no unit, no database. Built and run by bench/bench-rpm.sh.
 *
 *   primary-parse-floor PRIMARY.xml[.gz|.xz|.bz2]
 *
 * Prints the number of packages.
 */
#include <createrepo_c/createrepo_c.h>
#include <stdio.h>

static int
drop_package (cr_Package *pkg, void *data, GError **err)
{
  (*(guint64 *) data)++;
  cr_package_free (pkg);
  return CR_CB_RET_OK;
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  guint64 packages = 0;

  if (argc != 2)
    {
      g_printerr ("usage: %s PRIMARY.xml[.gz|.xz|.bz2]\n", argv[0]);
      return 2;
    }
  if (cr_xml_parse_primary (argv[1], NULL, NULL, drop_package, &packages, NULL, NULL, TRUE,
                            &error) != CRE_OK)
    {
      g_printerr ("%s: %s\n", argv[1], error != NULL ? error->message : "parse failed");
      return 1;
    }
  printf ("%" G_GUINT64_FORMAT "\n", packages);
  return 0;
}
