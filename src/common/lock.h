/* lock.h - one writer per run directory.
 *
 * Every command that writes a run directory (`cgpc train`, `cgpc evolve`, a PBS batch, which
 * runs `train --resume`, and `pbs merge` for its output) takes an exclusive flock(2) on
 * DIR/.cgpc-lock before it looks at or writes anything in DIR, and holds it until it is done
 * (in practice the life of the process). The kernel drops the lock when the process dies, also
 * on kill -9, so a stale lock file never blocks anyone. A second writer fails at once with
 * CGPC_ERR_BUSY and a message naming the holder's pid and host, which the holder writes into
 * the lock file right after locking ("cgpc-lock v1" / "pid N" / "host H"; emptied again on a
 * clean release).
 *
 * Readers (`model-metrics`, `pbs merge` for the batches it copies) take a shared lock without
 * waiting: they fail with CGPC_ERR_BUSY while a writer holds the directory, and never create
 * the lock file (a directory written before locks existed, or a read-only one, is read
 * without a lock).
 *
 * Right after taking the exclusive lock, the writer removes temp files ("<name>.tmp.<pid>",
 * see fileio.h) left in DIR by a killed process: those whose pid is not a live process on
 * this host. Under the lock no other cgpc process can be writing DIR, so nothing in flight is
 * removed.
 *
 * A lock belongs to the open file description: locking the same directory twice from one
 * process fails like a second process would. Handles are plain values; cgpc_dir_unlock on a
 * zeroed or already released handle is a no-op. */
#ifndef CGPC_LOCK_H
#define CGPC_LOCK_H

#include "error.h"

#define CGPC_LOCK_FILE ".cgpc-lock"
#define CGPC_LOCK_MAGIC "cgpc-lock v1"

struct cgpc_dir_lock {
    int held;      /* 1 while fd is open and locked */
    int fd;        /* the lock file */
    int exclusive; /* 1: writer (clears the holder record on release) */
};

/* Writer: create DIR first if `create` (mkdir -p), take the exclusive lock, record pid and
 * host, remove stale temp files. CGPC_ERR_BUSY (exit 1) when another process holds DIR. */
cgpc_status cgpc_dir_lock_writer(struct cgpc_dir_lock *lk, const char *dir, int create,
                                 struct cgpc_err *err);

/* Reader: take a shared lock on DIR's lock file if it has one. CGPC_ERR_BUSY while a writer
 * holds DIR. */
cgpc_status cgpc_dir_lock_reader(struct cgpc_dir_lock *lk, const char *dir,
                                 struct cgpc_err *err);

/* Release (the kernel also does at exit). */
void cgpc_dir_unlock(struct cgpc_dir_lock *lk);

/* Remove "<name>.tmp.<pid>" files in DIR whose pid is not `self` and not alive on this host.
 * Returns how many were removed, or -1 if DIR cannot be read. Called by
 * cgpc_dir_lock_writer; callers must hold DIR's exclusive lock. */
int cgpc_dir_remove_stale_temps(const char *dir, long self);

#endif
