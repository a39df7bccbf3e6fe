// Which kernel paths this CPU runs, from cpuid and the register state the
// operating system saves (XCR0): a CPU may list AVX-512 that the system does
// not enable, and then its instructions fault.
#include "CKernels.h"

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t enabled_register_state(void) {
    uint32_t low, high;
    __asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
    return ((uint64_t)high << 32) | low;
}

// Everything `-target-cpu haswell` lets the compiler use in the AVX2 copy of
// the row kernels (Package.swift), not only AVX2 itself: BMI1, BMI2, LZCNT,
// MOVBE and POPCNT too. Real CPUs with AVX2 have them all, but a hypervisor
// may hide some, and then that copy would die with SIGILL.
static int supports_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    const int movbe = (c >> 22) & 1, popcnt = (c >> 23) & 1;
    if (!(osxsave && avx && fma && f16c && movbe && popcnt)) return 0;
    // XMM and YMM state (bits 1, 2).
    if ((enabled_register_state() & 0x6) != 0x6) return 0;
    if (!__get_cpuid(0x80000001, &a, &b, &c, &d) || !((c >> 5) & 1)) return 0;  // LZCNT
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const int avx2 = (b >> 5) & 1, bmi1 = (b >> 3) & 1, bmi2 = (b >> 8) & 1;
    return avx2 && bmi1 && bmi2;
}

static int supports_avx512vnni(void) {
    if (!supports_avx2()) return 0;
    // Opmask, upper ZMM0-15 and ZMM16-31 state (bits 5, 6, 7) besides XMM/YMM.
    if ((enabled_register_state() & 0xE6) != 0xE6) return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const int f = (b >> 16) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1, vnni = (c >> 11) & 1;
    return f && bw && vl && vnni;
}

int lmgate_cpu_supports(int path) {
    switch (path) {
    case LMGATE_KERNELS_PORTABLE: return 1;
    case LMGATE_KERNELS_AVX2: return supports_avx2();
    case LMGATE_KERNELS_AVX512VNNI: return supports_avx512vnni();
    default: return 0;
    }
}
#else
int lmgate_cpu_supports(int path) { return path == LMGATE_KERNELS_PORTABLE; }
#endif
