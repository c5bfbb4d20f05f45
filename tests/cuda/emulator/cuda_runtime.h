// Stands in for CUDA's header in the emulated kernel test (see simt_emulator.h).
#pragma once
#include "simt_emulator.h"
