/* parallel.c - struct cgpc_seq's sleeping wait (see parallel.h). */
#include "common/parallel.h"

#include <limits.h>
#include <time.h>

#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* Sleep while *word == val (may return early: callers re-check). */
static void seq_sleep(_Atomic uint32_t *word, uint32_t val)
{
#ifdef __linux__
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
#else
    (void)word;
    (void)val;
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
#endif
}

static void seq_wake(_Atomic uint32_t *word)
{
#ifdef __linux__
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)word;
#endif
}

uint32_t cgpc_seq_add(struct cgpc_seq *s, uint32_t d)
{
    /* a seq_cst read-modify-write then the sleepers, against the waiter's seq_cst increment of
     * them then its load of the value (Dekker: either it sees the new value or this sees it) */
    uint32_t v = atomic_fetch_add_explicit(&s->value, d, memory_order_seq_cst) + d;
    if (atomic_load_explicit(&s->sleepers, memory_order_seq_cst))
        seq_wake(&s->value);
    return v;
}

void cgpc_seq_notify(struct cgpc_seq *s)
{
    /* the condition's stores, a seq_cst fence, then the sleepers: against the waiter's seq_cst
     * increment then the condition's loads (either it sees the condition or this sees it) */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&s->sleepers, memory_order_relaxed))
        cgpc_seq_add(s, 1);
}

void cgpc_seq_wait_until(struct cgpc_seq *s, int (*cond)(void *), void *arg, int spins)
{
    for (int i = 0; i < spins; i++) {
        if (cond(arg))
            return;
        cgpc_cpu_relax();
    }
    atomic_fetch_add_explicit(&s->sleepers, 1, memory_order_seq_cst);
    for (;;) {
        uint32_t v = atomic_load_explicit(&s->value, memory_order_seq_cst);
        if (cond(arg))
            break;
        seq_sleep(&s->value, v); /* returns at once if the value moved on since */
    }
    atomic_fetch_sub_explicit(&s->sleepers, 1, memory_order_relaxed);
}
