/*
 * Time for the library and the worker (libc only): one monotonic clock for
 * durations, deadlines and timers, and a sleep that resumes after signals.
 * Wall-clock timestamps (Resque's "run_at", log lines) are not here: they
 * come from time(2) or Redis TIME where they are written.
 */
#ifndef QR_CLOCK_H
#define QR_CLOCK_H

/* Monotonic clock in seconds (CLOCK_MONOTONIC); only differences mean anything. */
double qr_now(void);

/*
 * Sleeps `s` seconds (nothing when s <= 0), resuming after signal
 * interruptions. Loops that must notice a signal flag sleep in short steps
 * of this instead (the worker's qr_worker__sleep).
 */
void qr_sleep(double s);

#endif
