/*
 * malloc's thresholds (include/qr/mem.h).
 *
 * Images: glibc's default raises its mmap threshold after the first large
 * free, after which 10-60 MB pixel buffers come from the heap, fragment it,
 * and peak RSS doubles (525 MB against 223 MB on a 92 MB photo book). A
 * fixed threshold keeps them in mmap. Fixing it also fixes the trim
 * threshold at 128 KiB, and the heap then shrank and grew back on every PDF
 * slice (15,000 brk calls and 72,000 page faults for 1,151 slices, against
 * 531 and 21,600 with 8 MiB kept).
 *
 * Slices: with the 1 MiB threshold, every slice's large blocks (qpdf's
 * stream copies and output, the plain and sealed slice) were fresh mappings
 * whose pages fault in one at a time, at 15-20 us a fault on a virtual
 * machine. From the heap they reuse the pages of the slice before:
 * pst-geo (63.6 MB, 45 pages, one thread) 0.64 -> 0.40 s at one page per
 * slice and 0.78 -> 0.42 s at ten, peak RSS 104 -> 108 MB (medians of 5,
 * alternating). EPUBs neither gain nor lose (photobook 5.6 s and 208-211 MB
 * either way): their slices are small. 32 MiB is glibc's own upper bound
 * for the threshold; larger blocks are still mapped. Without a threshold
 * set at all (glibc's dynamic one) the photobook's peak was 286-349 MB.
 *
 * The PDF cutter thread (book_pdf.c) made that slower, not faster: its own
 * arena grew (331 mprotect calls) and shrank back (madvise) with every
 * large slice, 38,000 page faults against 14,000 on one thread, and
 * pst-geo took 0.82-0.95 s on two threads against 0.51 s on one. One arena
 * (a thread started from here on shares the main one; glibc fixes the
 * arena limit when it first needs one, so a process whose image threads
 * already made theirs keeps them) and 64 MiB of free heap kept instead of
 * 8: 3,500 faults, 0.37-0.44 s at one page per slice, 0.31-0.43 s at ten.
 */
#include <stdlib.h> /* defines __GLIBC__ under glibc */

#include "qr/mem.h"

#if defined(__GLIBC__)
#include <malloc.h>

void qr_mem_tune_for_images(void)
{
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    mallopt(M_ARENA_MAX, 4);
    mallopt(M_TRIM_THRESHOLD, 8 << 20);
}

void qr_mem_tune_for_slices(void)
{
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_ARENA_MAX, 1);
}

void qr_mem_tune_arenas(unsigned n)
{
    mallopt(M_ARENA_MAX, (int)(n ? n : 1));
}
#else
void qr_mem_tune_for_images(void)
{
}

void qr_mem_tune_for_slices(void)
{
}

void qr_mem_tune_arenas(unsigned n)
{
    (void)n;
}
#endif
