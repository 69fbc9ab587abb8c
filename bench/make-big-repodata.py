#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the metadata of a large, plausible repository in createrepo_c's
schema: primary.xml, and filelists.xml and other.xml for the same packages.

usage: make-big-repodata.py COUNT PRIMARY.xml FILELISTS.xml OTHER.xml

Each package looks like one of a distribution's: a description of a few
lines, a dozen provides and requires, a few file entries, about 2 KiB of
XML in primary (50,000 packages: about 110 MB, like a RHEL/Fedora primary of
that size). filelists lists exactly the files primary lists (a real package
has more: this is the least a filelists can say) and other no changelogs, so
the three agree on the package set, as in any real repository. Digests are
made up: the files are for metadata-only (on_demand) syncs, where no package
is fetched.
"""
import hashlib
import sys

HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
        '<metadata xmlns="http://linux.duke.edu/metadata/common" '
        'xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="%d">\n')

PKG = '''<package type="rpm">
  <name>{name}</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="{ver}" rel="{rel}.fc40"/>
  <checksum type="sha256" pkgid="YES">{sum}</checksum>
  <summary>Library and tools number {i} for the benchmark of metadata-only syncs</summary>
  <description>This is package {name}, generated for a benchmark.
It has a description of a few lines, like most packages of a distribution,
with enough text to make the metadata about as large per package as a real
primary.xml: dependencies, provides and a few files follow.</description>
  <packager>Fedora Project</packager>
  <url>https://example.org/projects/{name}</url>
  <time file="1700000000" build="{build}"/>
  <size package="{size}" installed="{isize}" archive="{asize}"/>
  <location href="Packages/{first}/{name}-{ver}-{rel}.fc40.x86_64.rpm"/>
  <format>
    <rpm:license>MIT AND (GPL-2.0-or-later OR LGPL-2.1-or-later)</rpm:license>
    <rpm:vendor>Fedora Project</rpm:vendor>
    <rpm:group>Unspecified</rpm:group>
    <rpm:buildhost>buildvm-x86-{host}.iad2.fedoraproject.org</rpm:buildhost>
    <rpm:sourcerpm>{name}-{ver}-{rel}.fc40.src.rpm</rpm:sourcerpm>
    <rpm:header-range start="4504" end="{hend}"/>
    <rpm:provides>
      <rpm:entry name="{name}" flags="EQ" epoch="0" ver="{ver}" rel="{rel}.fc40"/>
      <rpm:entry name="{name}(x86-64)" flags="EQ" epoch="0" ver="{ver}" rel="{rel}.fc40"/>
      <rpm:entry name="lib{name}.so.{rel}()(64bit)"/>
      <rpm:entry name="lib{name}.so.{rel}(V_{rel})(64bit)"/>
      <rpm:entry name="config({name})" flags="EQ" epoch="0" ver="{ver}" rel="{rel}.fc40"/>
      <rpm:entry name="pkgconfig({name})" flags="EQ" epoch="0" ver="{ver}"/>
    </rpm:provides>
    <rpm:requires>
      <rpm:entry name="/usr/bin/sh" pre="1"/>
      <rpm:entry name="libc.so.6(GLIBC_2.34)(64bit)"/>
      <rpm:entry name="libc.so.6()(64bit)"/>
      <rpm:entry name="libm.so.6()(64bit)"/>
      <rpm:entry name="libz.so.1()(64bit)"/>
      <rpm:entry name="libglib-2.0.so.0()(64bit)"/>
      <rpm:entry name="{dep}" flags="GE" epoch="0" ver="1.0"/>
      <rpm:entry name="rtld(GNU_HASH)"/>
    </rpm:requires>
    <rpm:obsoletes>
      <rpm:entry name="{name}-compat" flags="LT" epoch="0" ver="{ver}"/>
    </rpm:obsoletes>
{files}  </format>
</package>
'''


FILELISTS_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                  '<filelists xmlns="http://linux.duke.edu/metadata/filelists" packages="%d">\n')
OTHER_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
              '<otherdata xmlns="http://linux.duke.edu/metadata/other" packages="%d">\n')
# how filelists.xml and other.xml name a package
PKG_ID = '''<package pkgid="{sum}" name="{name}" arch="x86_64">
  <version epoch="0" ver="{ver}" rel="{rel}.fc40"/>
'''
# a package's files, in primary (the ones createrepo_c puts there) and in filelists
FILES = ("/usr/bin/{name}", "/etc/{name}.conf")


def files(name, indent):
    return "".join("%s<file>%s</file>\n" % (indent, f.format(name=name)) for f in FILES)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    count = int(sys.argv[1])
    with open(sys.argv[2], "w", encoding="utf-8") as primary, \
            open(sys.argv[3], "w", encoding="utf-8") as filelists, \
            open(sys.argv[4], "w", encoding="utf-8") as other:
        primary.write(HEAD % count)
        filelists.write(FILELISTS_HEAD % count)
        other.write(OTHER_HEAD % count)
        for i in range(count):
            name = "bench-pkg-%06d" % i
            ver = "%d.%d.%d" % (i % 7, i % 13, i % 101)
            rel = i % 9 + 1
            digest = hashlib.sha256(name.encode()).hexdigest()
            primary.write(PKG.format(
                name=name, i=i, first=name[0], ver=ver, rel=rel, sum=digest,
                build=1700000000 + i, size=10000 + i, isize=40000 + i, asize=30000 + i,
                host=i % 40, hend=4504 + 2000 + i % 500,
                dep="bench-pkg-%06d" % ((i * 7919) % count), files=files(name, "    ")))
            pkg_id = PKG_ID.format(sum=digest, name=name, ver=ver, rel=rel)
            filelists.write(pkg_id + files(name, "  ") + "</package>\n")
            other.write(pkg_id + "</package>\n")
        primary.write("</metadata>\n")
        filelists.write("</filelists>\n")
        other.write("</otherdata>\n")


main()
