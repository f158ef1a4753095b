// SPDX-License-Identifier: MIT
// tp_bad.cpp - tp_bad.c compiled as C++.
#include "tp_bad.c"
