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

void cgpc_seq_publish(struct cgpc_seq *s, uint32_t v)
{
    /* seq_cst store then load, against the waiter's seq_cst increment then load: either the
     * waiter sees v before it sleeps or this sees the waiter (Dekker) */
    atomic_store_explicit(&s->value, v, memory_order_seq_cst);
    if (atomic_load_explicit(&s->sleepers, memory_order_seq_cst))
        seq_wake(&s->value);
}

void cgpc_seq_wake(struct cgpc_seq *s)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&s->sleepers, memory_order_relaxed))
        seq_wake(&s->value);
}

uint32_t cgpc_seq_wait(struct cgpc_seq *s, uint32_t want, int spins)
{
    uint32_t v;
    for (int i = 0; i < spins; i++) {
        if (cgpc_seq_reached(v = atomic_load_explicit(&s->value, memory_order_acquire), want))
            return v;
        cgpc_cpu_relax();
    }
    atomic_fetch_add_explicit(&s->sleepers, 1, memory_order_seq_cst);
    while (!cgpc_seq_reached(v = atomic_load_explicit(&s->value, memory_order_seq_cst), want))
        seq_sleep(&s->value, v);
    atomic_fetch_sub_explicit(&s->sleepers, 1, memory_order_relaxed);
    return v;
}
