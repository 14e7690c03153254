/*===- fpmode.h - The calling thread's floating-point control word -------===*
 * x86's MXCSR or Arm's FPCR: generated code runs with subnormals flushed
 * (state.c), and the thread pool gives every worker its caller's mode
 * (parallel.c) so results do not depend on which thread computed them.
 *===----------------------------------------------------------------------===*/
#ifndef KILN_RUNTIME_FPMODE_H
#define KILN_RUNTIME_FPMODE_H

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
typedef unsigned kiln_fp_mode;
#define KILN_FP_FLUSH 0x8040u /* MXCSR: FTZ (bit 15) and DAZ (bit 6) */
static inline kiln_fp_mode kiln_fp_get(void) { return _mm_getcsr(); }
static inline void kiln_fp_set(kiln_fp_mode m) {
  if (_mm_getcsr() != m)
    _mm_setcsr(m);
}
#elif defined(__aarch64__)
typedef unsigned long kiln_fp_mode;
#define KILN_FP_FLUSH (1ul << 24) /* FPCR.FZ */
static inline kiln_fp_mode kiln_fp_get(void) {
  kiln_fp_mode m;
  __asm__ volatile("mrs %0, fpcr" : "=r"(m));
  return m;
}
static inline void kiln_fp_set(kiln_fp_mode m) {
  if (kiln_fp_get() != m)
    __asm__ volatile("msr fpcr, %0" ::"r"(m));
}
#else
typedef int kiln_fp_mode;
#define KILN_FP_FLUSH 0
static inline kiln_fp_mode kiln_fp_get(void) { return 0; }
static inline void kiln_fp_set(kiln_fp_mode m) { (void)m; }
#endif

#endif /* KILN_RUNTIME_FPMODE_H */
