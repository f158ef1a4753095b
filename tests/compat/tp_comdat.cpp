// SPDX-License-Identifier: MIT
// tp_comdat.cpp - the second translation unit using tpc_shared (see tp_comdat.h).
#include "tp_comdat.h"

int tpc_other_unit(int x)
{
	tpc_shared(x);
	return x;
}
