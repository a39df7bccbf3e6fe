#ifndef LMGATE_COPENBLAS_SHIM_H
#define LMGATE_COPENBLAS_SHIM_H

#include <cblas.h>

#endif
