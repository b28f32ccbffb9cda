/* nn_omp.h - OpenMP pragmas that vanish without OpenMP: write NN_OMP(parallel for
 * schedule(static)); the same as CGPC_OMP (common/parallel.h). Private to src/nn. */
#ifndef CGPC_NN_OMP_H
#define CGPC_NN_OMP_H

#include "common/parallel.h"

#define NN_OMP(x) CGPC_OMP(x)

#endif
