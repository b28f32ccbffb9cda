/* nn_omp.h - OpenMP pragmas that vanish without OpenMP (make NO_OMP=1 builds with
 * -Werror=unknown-pragmas): write NN_OMP(parallel for schedule(static)). Private to src/nn. */
#ifndef CGPC_NN_OMP_H
#define CGPC_NN_OMP_H

#ifdef _OPENMP
#define NN_OMP(x) _Pragma(NN_OMP_STR(omp x))
#define NN_OMP_STR(x) #x
#else
#define NN_OMP(x)
#endif

#endif
