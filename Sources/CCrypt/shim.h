#ifndef LMGATE_CCRYPT_SHIM_H
#define LMGATE_CCRYPT_SHIM_H

#include <crypt.h>

#endif
