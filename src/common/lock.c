#include "lock.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"

static int lock_path(const char *dir, char *path, size_t cap)
{
    int n = snprintf(path, cap, "%s/" CGPC_LOCK_FILE, dir);
    return n >= 0 && (size_t)n < cap;
}

/* "pid N on host H" from the holder's record, or a note that it has not written one yet. */
static void describe_holder(int fd, char *out, size_t cap)
{
    char buf[512];
    /* the holder writes its record right after locking: give it a moment */
    for (int attempt = 0; attempt < 50; attempt++) {
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        long pid = 0;
        char host[256] = "";
        const char *p = strstr(buf, "\npid ");
        const char *h = strstr(buf, "\nhost ");
        if (p && h && sscanf(p, "\npid %ld", &pid) == 1 && sscanf(h, "\nhost %255s", host) == 1) {
            snprintf(out, cap, "pid %ld on host %s", pid, host);
            return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    snprintf(out, cap, "a process that has not recorded its pid");
}

static cgpc_status take(struct cgpc_dir_lock *lk, const char *dir, int exclusive,
                        struct cgpc_err *err)
{
    memset(lk, 0, sizeof *lk);
    char path[4200];
    if (!lock_path(dir, path, sizeof path))
        return CGPC_FAIL(err, CGPC_ERR_ARG, "%s: path too long", dir);
    int fd = exclusive ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666)
                       : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (!exclusive && errno == ENOENT)
            return CGPC_OK; /* never written under a lock: nothing to wait for */
        if (errno == ENOENT && !cgpc_path_exists(dir))
            return CGPC_FAIL(err, CGPC_ERR_NOT_FOUND, "%s: no such directory", dir);
        return CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot open the lock file: %s", path,
                         strerror(errno));
    }
    if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0) {
        cgpc_status st;
        if (errno == EWOULDBLOCK) {
            char who[320];
            describe_holder(fd, who, sizeof who);
            st = CGPC_FAIL(err, CGPC_ERR_BUSY,
                           "%s: another cgpc process (%s) is writing this run directory; "
                           "wait until it ends%s",
                           dir, who, exclusive ? " or choose another output directory" : "");
        } else {
            st = CGPC_FAIL(err, CGPC_ERR_IO, "%s: cannot lock: %s", path, strerror(errno));
        }
        close(fd);
        return st;
    }
    lk->held = 1;
    lk->fd = fd;
    lk->exclusive = exclusive;
    return CGPC_OK;
}

cgpc_status cgpc_dir_lock_writer(struct cgpc_dir_lock *lk, const char *dir, int create,
                                 struct cgpc_err *err)
{
    memset(lk, 0, sizeof *lk);
    cgpc_status st = create ? cgpc_mkdirs(dir, err) : CGPC_OK;
    if (st == CGPC_OK)
        st = take(lk, dir, 1, err);
    if (st != CGPC_OK)
        return st;
    char host[256] = "?";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    char rec[400];
    int n = snprintf(rec, sizeof rec, CGPC_LOCK_MAGIC "\npid %ld\nhost %s\n", (long)getpid(),
                     host);
    if (ftruncate(lk->fd, 0) != 0 || pwrite(lk->fd, rec, (size_t)n, 0) != n) {
        st = CGPC_FAIL(err, CGPC_ERR_IO, "%s/" CGPC_LOCK_FILE ": cannot record the holder: %s",
                       dir, strerror(errno));
        cgpc_dir_unlock(lk);
        return st;
    }
    cgpc_dir_remove_stale_temps(dir, (long)getpid());
    return CGPC_OK;
}

cgpc_status cgpc_dir_lock_reader(struct cgpc_dir_lock *lk, const char *dir,
                                 struct cgpc_err *err)
{
    return take(lk, dir, 0, err);
}

void cgpc_dir_unlock(struct cgpc_dir_lock *lk)
{
    if (!lk || !lk->held)
        return;
    if (lk->exclusive)
        (void)ftruncate(lk->fd, 0); /* no holder any more; best effort */
    close(lk->fd); /* closing the last descriptor releases the flock */
    lk->held = 0;
    lk->fd = -1;
}

/* The pid of "<name>.tmp.<digits>", or 0 if the name is not a temp file. */
static long temp_pid(const char *name)
{
    const char *t = strstr(name, ".tmp.");
    if (!t || t == name)
        return 0;
    const char *d = t + 5;
    while ((t = strstr(d, ".tmp.")))
        d = t + 5;
    if (!*d || strlen(d) > 9)
        return 0;
    for (const char *c = d; *c; c++)
        if (!isdigit((unsigned char)*c))
            return 0;
    return strtol(d, NULL, 10);
}

static int pid_alive(long pid)
{
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

int cgpc_dir_remove_stale_temps(const char *dir, long self)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid = temp_pid(e->d_name);
        if (pid <= 0 || pid == self || pid_alive(pid))
            continue;
        char path[4400];
        int n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (n > 0 && (size_t)n < sizeof path && unlink(path) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}
