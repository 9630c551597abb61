/*
 * malloc's settings for the two kinds of large buffer a quire process
 * holds (glibc; elsewhere these do nothing). Process-wide: only a process
 * that is quire's own calls them (the command line, a worker's job child),
 * through qr_process_opts.tune_malloc for the second.
 */
#ifndef QR_MEM_H
#define QR_MEM_H

/*
 * At start, for pixel buffers (10-60 MB, one per image thread, short-lived):
 * blocks of 1 MiB and more are mapped and unmapped, never kept in the heap,
 * which would fragment; 8 MiB of free heap is kept rather than trimmed.
 */
void qr_mem_tune_for_images(void);

/*
 * For the publish loop, once images are done: blocks up to 32 MiB (slices,
 * sealed slices, qpdf's stream and write buffers, remade for every slice)
 * come from the heap and reuse its pages instead of faulting in fresh ones;
 * threads started afterwards share the main arena, and up to 64 MiB of free
 * heap is kept.
 */
void qr_mem_tune_for_slices(void);

/*
 * After qr_mem_tune_for_slices, for threads that each run a qpdf document
 * of their own (PDF cutters): up to `n` arenas in all, the main one
 * included, so that they do not wait on one lock. Effective only while no
 * thread has needed an arena yet: glibc fixes the limit then.
 */
void qr_mem_tune_arenas(unsigned n);

#endif
