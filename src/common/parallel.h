/* parallel.h - OpenMP wrappers that also compile without OpenMP (make NO_OMP=1). */
#ifndef CGPC_PARALLEL_H
#define CGPC_PARALLEL_H

#ifdef _OPENMP
#include <omp.h>
static inline int cgpc_max_threads(void) { return omp_get_max_threads(); }
static inline int cgpc_thread_id(void) { return omp_get_thread_num(); }
static inline void cgpc_set_threads(int n) { if (n > 0) omp_set_num_threads(n); }
static inline double cgpc_wtime(void) { return omp_get_wtime(); }
#else
#include <time.h>
static inline int cgpc_max_threads(void) { return 1; }
static inline int cgpc_thread_id(void) { return 0; }
static inline void cgpc_set_threads(int n) { (void)n; }
static inline double cgpc_wtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#endif

#endif
