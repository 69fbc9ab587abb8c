#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Write a tree of files and a matching PULP_MANIFEST for the file importer.

The content is random but deterministic (seeded), and every file differs
from every other, so syncs, benchmarks and demos see the same tree on
every run and the content store does not deduplicate it away.

    make-file-tree.py DIR --count 1000 --size 4096 --subdirs 10 --odd-names

prints one line "files=N bytes=B manifest=DIR/PULP_MANIFEST" when done.
"""

import argparse
import hashlib
import os
import random
import sys

CHUNK = 1024 * 1024

# Names a sync must survive: each needs percent-encoding in a URL, and the
# comma ones also test that the manifest is split at the last two commas.
# None starts with "#" (that would be a comment line) or contains "/".
ODD_FILE_NAMES = [
    "with space {i}.bin",
    "comma,{i},name.txt",
    "hash#{i}.txt",
    "percent%20{i}.txt",
    "question?{i}&x=y.txt",
    "café-{i}.txt",
    "日本語-{i}.dat",
    "plus+semi;colon={i}",
    "quote'{i}\"double\".txt",
    "colon:{i}",
    "back\\slash{i}",
    "~tilde {i} ü.tar.gz",
]
ODD_DIR_NAMES = ["dir with space {k}", "ünï,cödé {k}", "d#{k}%25"]


def parse_size(text):
    """Accepts a plain byte count or one with a k, M or G suffix (powers of 1024)."""
    units = {"k": 1024, "K": 1024, "M": 1024**2, "G": 1024**3}
    try:
        if text and text[-1] in units:
            value = int(text[:-1]) * units[text[-1]]
        else:
            value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r}")
    if value < 0:
        raise argparse.ArgumentTypeError(f"negative size: {text!r}")
    return value


def directory_for(index, args):
    if args.subdirs <= 0:
        return ""
    k = index % args.subdirs
    if args.odd_names and k % 2 == 1:
        return ODD_DIR_NAMES[k % len(ODD_DIR_NAMES)].format(k=k)
    return f"dir{k:04d}"


def name_for(index, args):
    # With --odd-names every other file gets an odd name, so a tree has
    # both kinds and each odd pattern appears many times.
    if args.odd_names and index % 2 == 1:
        pattern = ODD_FILE_NAMES[(index // 2) % len(ODD_FILE_NAMES)]
        return pattern.format(i=index)
    return f"file-{index:07d}.bin"


def write_file(path, size, rng):
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left > 0:
            block = rng.randbytes(min(CHUNK, left))
            digest.update(block)
            f.write(block)
            left -= len(block)
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", help="where to write the tree (created if missing)")
    parser.add_argument("--count", type=int, default=10, help="number of files (default 10)")
    parser.add_argument("--size", type=parse_size, default=parse_size("4k"),
                        help="size of each file in bytes, k/M/G suffixes allowed (default 4k)")
    parser.add_argument("--subdirs", type=int, default=0,
                        help="spread the files over this many subdirectories "
                             "(default 0: all at the top)")
    parser.add_argument("--odd-names", action="store_true",
                        help="give half of the files (and subdirectories) names with spaces, "
                             "commas, #, %%, ?, quotes and non-ASCII characters")
    parser.add_argument("--seed", type=int, default=1,
                        help="random seed for the content (default 1)")
    parser.add_argument("--manifest", default="PULP_MANIFEST",
                        help="manifest file name (default PULP_MANIFEST)")
    args = parser.parse_args()

    if args.count < 0:
        parser.error("--count must not be negative")

    rng = random.Random(args.seed)
    os.makedirs(args.directory, exist_ok=True)
    lines = []
    total = 0
    for index in range(args.count):
        relative = directory_for(index, args)
        if relative:
            os.makedirs(os.path.join(args.directory, relative), exist_ok=True)
            relative += "/"
        relative += name_for(index, args)
        sha256 = write_file(os.path.join(args.directory, relative), args.size, rng)
        lines.append(f"{relative},{sha256},{args.size}\n")
        total += args.size

    manifest = os.path.join(args.directory, args.manifest)
    tmp = manifest + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(f"# {args.count} files of {args.size} bytes, seed {args.seed}\n")
        f.writelines(sorted(lines))
    os.replace(tmp, manifest)
    print(f"files={args.count} bytes={total} manifest={manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
