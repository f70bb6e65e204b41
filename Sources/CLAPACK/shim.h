// C access to OpenBLAS (CBLAS) and LAPACKE, from Debian's libopenblas-dev and liblapacke-dev.
// Implementation detail of TensorAlgebra: no stable API.
#ifndef ONNX_RSTD_CLAPACK_SHIM_H
#define ONNX_RSTD_CLAPACK_SHIM_H
#include <cblas.h>
#include <lapacke.h>
#endif
