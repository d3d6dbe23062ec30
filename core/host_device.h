// Marks arithmetic that both backends compile: host and device under nvcc, plain inline in C++.
#pragma once

#ifdef __CUDACC__
#define UC_HOST_DEVICE __host__ __device__
#else
#define UC_HOST_DEVICE
#endif
