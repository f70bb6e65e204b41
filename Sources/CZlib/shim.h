// C access to zlib (Debian's zlib1g-dev): inflate for deflated .npz members, crc32 for every
// member. Implementation detail of NumPyIO: no stable API.
#ifndef ONNX_RSTD_CZLIB_SHIM_H
#define ONNX_RSTD_CZLIB_SHIM_H
#include <zlib.h>
#endif
