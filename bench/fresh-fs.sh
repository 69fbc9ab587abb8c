# Sourced by the benchmarks. fresh_fs DIR mounts a new, empty ext4 file
# system on the empty folder DIR, made in an image file beside it (so on the
# same disk) and like the file system under it: without a journal when that
# one has none, as on this machine. fresh_fs_remove DIR unmounts it and
# deletes the image. Without root, or with FRESH_FS=0, DIR stays a plain
# folder (and the figures depend on what the disk went through before).
#
# Why: on an ext4 without a journal, creating a file skips, one by one,
# every inode freed in the last minute or more (the kernel's
# recently_deleted() check). A run that starts soon after another one's
# cleanup (or anyone's rm -rf on that disk) pays for each new file what
# depends on how much was deleted before: pulpd's CPU for bench-rpm (a)
# was 0.87 s on a fresh file system and 2.0-3.1 s on the next runs in the
# same one, most of it in that scan. Every client of a run gets the same
# clean start here. The loop device adds a page cache of its own, which
# helps clients that never sync more than pulpd, whose syncfs() goes
# through to the disk; bench-file.sh, whose (b) measures write throughput,
# stays on the disk's own file system for that reason.
fresh_fs() {
  local dir=$1 dev features=
  if [ "${FRESH_FS:-1}" = 0 ] || [ "$(id -u)" != 0 ] || ! command -v mkfs.ext4 >/dev/null; then
    echo "note: $dir is on the shared file system (FRESH_FS=0, no root or no mkfs.ext4)"
    return 0
  fi
  dev=$(basename "$(findmnt -n -o SOURCE -T "$dir")")
  if [ "$(findmnt -n -o FSTYPE -T "$dir")" = ext4 ] && ! grep -q 'data=' "/proc/fs/ext4/$dev/options" 2>/dev/null; then
    features="-O ^has_journal"
  fi
  truncate -s "${FRESH_FS_SIZE:-64G}" "$dir.img"
  mkfs.ext4 -q -F $features "$dir.img"
  # noinit_itable: no inode tables written in the background during the run
  mount -o loop,noinit_itable "$dir.img" "$dir"
  chmod 755 "$dir"
  echo "work: a new ext4 file system${features:+ without a journal} on $dir"
}
fresh_fs_remove() {
  local dir=$1
  mountpoint -q "$dir" || return 0
  # the servers and daemons just told to stop may still hold files there
  for _ in $(seq 50); do umount "$dir" 2>/dev/null && break; sleep 0.1; done
  mountpoint -q "$dir" && umount -l "$dir"
  rm -f "$dir.img"
}
