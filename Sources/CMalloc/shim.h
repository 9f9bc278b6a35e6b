// glibc's allocator controls (mallopt), which Swift's Glibc module does not import.
#ifndef SWITCHYARD_CMALLOC_SHIM_H
#define SWITCHYARD_CMALLOC_SHIM_H

#include <malloc.h>

#endif
