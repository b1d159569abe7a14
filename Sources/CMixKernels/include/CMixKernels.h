// Inner loops of the audio mixer, written in C so the compiler vectorises
// them (built with -O3 even in debug builds; see Package.swift).
#ifndef TESSERA_CMIXKERNELS_H
#define TESSERA_CMIXKERNELS_H
#include <stdint.h>
#include <stddef.h>

#endif
