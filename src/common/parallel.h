/* parallel.h - OpenMP wrappers that also compile without OpenMP (make NO_OMP=1), and a
 * counter threads sleep on while they wait for a condition another thread makes true.
 *
 * struct cgpc_seq: a 32-bit counter and a sleepers count on their own cache line, for threads
 * that wait for a condition (another thread's record, a flag): a waiter checks the condition a
 * bounded number of times (cheap when it is about to hold) and then sleeps in the kernel (Linux
 * futex on the counter; elsewhere short sleeps), so no core is spun on for long: on a machine
 * shared with other processes a spinning waiter takes the core the thread it waits for needs.
 * Whoever makes the condition true notifies, entering the kernel only when a waiter sleeps. */
#ifndef CGPC_PARALLEL_H
#define CGPC_PARALLEL_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* An OpenMP pragma that vanishes without OpenMP (make NO_OMP=1 builds with
 * -Werror=unknown-pragmas): write CGPC_OMP(parallel num_threads(n)). */
#ifdef _OPENMP
#define CGPC_OMP(x) _Pragma(CGPC_OMP_STR(omp x))
#define CGPC_OMP_STR(x) #x
#else
#define CGPC_OMP(x)
#endif

#ifdef _OPENMP
#include <omp.h>
static inline int cgpc_max_threads(void) { return omp_get_max_threads(); }
static inline int cgpc_thread_id(void) { return omp_get_thread_num(); }
static inline int cgpc_num_threads(void) { return omp_get_num_threads(); }
static inline void cgpc_set_threads(int n) { if (n > 0) omp_set_num_threads(n); }
static inline double cgpc_wtime(void) { return omp_get_wtime(); }
#else
#include <time.h>
static inline int cgpc_max_threads(void) { return 1; }
static inline int cgpc_thread_id(void) { return 0; }
static inline int cgpc_num_threads(void) { return 1; }
static inline void cgpc_set_threads(int n) { (void)n; }
static inline double cgpc_wtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#endif

/* n x size bytes on whole 64-byte cache lines of their own (aligned, size rounded up; free()
 * releases them), not initialised: per-thread buffers so allocated share no cache line with
 * another thread's, whatever the allocator does (glibc with MALLOC_ARENA_MAX=1 puts every
 * thread's chunks in one heap, interleaved). NULL when out of memory. */
static inline void *cgpc_alloc_lines(size_t n, size_t size)
{
    size_t bytes = (n * size + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

/* The same, zeroed. From 128 KiB on it is calloc's block instead, aligned to 16 bytes only:
 * glibc maps such blocks (its default mmap threshold) as pages of their own, zeroed by the
 * kernel as they are first touched, where a memset would fault in every page at once (~3 ms
 * per MB in this VM) for buffers mostly never touched (the values rows of nodes never active);
 * do not use it for a type that needs 64-byte alignment. */
static inline void *cgpc_calloc_lines(size_t n, size_t size)
{
    size_t bytes = (n * size + 63) / 64 * 64;
    if (bytes >= (size_t)128 << 10)
        return calloc(1, bytes);
    void *p = aligned_alloc(64, bytes ? bytes : 64);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* A spin-wait hint to the core (x86 PAUSE): lets the sibling hyperthread run, saves power. */
static inline void cgpc_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

struct cgpc_seq {
    _Atomic uint32_t value;
    _Atomic uint32_t sleepers; /* waiters in the kernel (or about to be) */
    char pad[56];              /* one cache line each: no false sharing between counters */
};

/* value reached want: want or later, in wrap-around order */
static inline int cgpc_seq_reached(uint32_t value, uint32_t want)
{
    return (int32_t)(value - want) >= 0;
}

/* Set the value (before any thread waits on it). */
static inline void cgpc_seq_reset(struct cgpc_seq *s, uint32_t v)
{
    atomic_store_explicit(&s->value, v, memory_order_relaxed);
    atomic_store_explicit(&s->sleepers, 0, memory_order_relaxed);
}

/* Add d to the value and wake the waiters sleeping on s, if any (cgpc_seq_wait_until).
 * Returns the new value. */
uint32_t cgpc_seq_add(struct cgpc_seq *s, uint32_t d);

/* Wake the waiters sleeping in cgpc_seq_wait_until on s, if any, after the caller made their
 * condition true (a seq_cst fence, then the sleepers count: a system call only when one
 * sleeps). */
void cgpc_seq_notify(struct cgpc_seq *s);

/* Wait until cond(arg) holds: check it `spins` CPU-relax iterations, then sleep on s until
 * woken by cgpc_seq_notify or cgpc_seq_add (whoever makes cond true must call one). */
void cgpc_seq_wait_until(struct cgpc_seq *s, int (*cond)(void *), void *arg, int spins);

#endif
