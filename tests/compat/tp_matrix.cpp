// SPDX-License-Identifier: MIT
// tp_matrix.cpp - tp_matrix.c compiled as C++ (the header's C++ type classification).
#include "tp_matrix.c"
