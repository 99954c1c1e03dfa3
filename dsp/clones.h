/* Functions built twice, for the named instruction sets and for the baseline, the choice made
   at run time by the CPU (GCC's target_clones). Not under clang or the sanitizers, which do
   not follow the choice. Without FMA a clone does the same arithmetic in every lane, so it
   gives the same bits as the baseline. */
#ifndef CR_CLONES_H
#define CR_CLONES_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&                         \
    !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define CR_CLONES(isa) __attribute__((target_clones(isa, "default")))
#else
#define CR_CLONES(isa)
#endif

#endif
