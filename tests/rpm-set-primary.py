#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Replaces the primary metadata of a yum repository, as upstream would.

usage: rpm-set-primary.py REPO PLAIN_XML COMPRESSION [--keep-revision]

Writes PLAIN_XML (an uncompressed primary.xml, or "-" for the repository's
current primary, decompressed) as REPO/repodata/<sha256>-primary.xml[.ext]
compressed with COMPRESSION (gz, xz, zst or none), removes the old primary
file and rewrites the primary <data> record of repomd.xml: checksum, size,
open-checksum, open-size, location and timestamp. The revision is left as it
is, so tests can change primary without a revision bump.

Debian's createrepo_c cannot write zstd; tests and benchmarks also use this
for generated, malformed or hostile primaries whose checksums must match.
"""
import gzip
import hashlib
import lzma
import os
import re
import subprocess
import sys
import time


def read_current(repo, repomd):
    href = re.search(r'<data type="primary">.*?<location href="([^"]+)"', repomd, re.S).group(1)
    path = os.path.join(repo, href)
    with open(path, "rb") as f:
        data = f.read()
    if href.endswith(".gz"):
        data = gzip.decompress(data)
    elif href.endswith(".xz"):
        data = lzma.decompress(data)
    elif href.endswith(".zst"):
        data = subprocess.run(["zstd", "-q", "-d", "-c", path], check=True,
                              capture_output=True).stdout
    return data, path


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in ("gz", "xz", "zst", "none"):
        sys.exit(__doc__)
    repo, plain_path, comp = sys.argv[1:]
    repomd_path = os.path.join(repo, "repodata", "repomd.xml")
    with open(repomd_path, encoding="utf-8") as f:
        repomd = f.read()
    current, old_path = read_current(repo, repomd)
    if plain_path == "-":
        plain = current
    else:
        with open(plain_path, "rb") as f:
            plain = f.read()

    if comp == "gz":
        packed = gzip.compress(plain, compresslevel=6, mtime=0)
    elif comp == "xz":
        packed = lzma.compress(plain)
    elif comp == "zst":
        packed = subprocess.run(["zstd", "-q", "-3", "-c"], input=plain, check=True,
                                capture_output=True).stdout
    else:
        packed = plain
    open_sum = hashlib.sha256(plain).hexdigest()
    packed_sum = hashlib.sha256(packed).hexdigest()
    ext = "" if comp == "none" else "." + comp
    href = "repodata/%s-primary.xml%s" % (packed_sum, ext)

    os.unlink(old_path)
    with open(os.path.join(repo, href), "wb") as f:
        f.write(packed)

    def record(m):
        block = m.group(0)
        block = re.sub(r'<checksum type="[^"]*">[^<]*</checksum>',
                       '<checksum type="sha256">%s</checksum>' % packed_sum, block)
        block = re.sub(r'<open-checksum type="[^"]*">[^<]*</open-checksum>',
                       '<open-checksum type="sha256">%s</open-checksum>' % open_sum, block)
        block = re.sub(r'<location href="[^"]*"', '<location href="%s"' % href, block)
        block = re.sub(r'<timestamp>[^<]*</timestamp>',
                       '<timestamp>%d</timestamp>' % int(time.time()), block)
        block = re.sub(r'<size>[^<]*</size>', '<size>%d</size>' % len(packed), block)
        block = re.sub(r'<open-size>[^<]*</open-size>', '<open-size>%d</open-size>' % len(plain),
                       block)
        return block

    repomd = re.sub(r'<data type="primary">.*?</data>', record, repomd, count=1, flags=re.S)
    with open(repomd_path, "w", encoding="utf-8") as f:
        f.write(repomd)


main()
