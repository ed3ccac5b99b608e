/*
 * The runs' seccomp filter (seccomp-policy.c), compiled with libseccomp.
 *
 *   iris-seccomp PATH    write it, as raw BPF for bwrap --seccomp, to PATH (iris-seccomp.c)
 *
 * A program of its own, apart from iris-launch: it runs once per server start, and it needs glibc (Debian's
 * libseccomp is built for it), which the launcher, started for every run, does without.
 */
#ifndef IRIS_SECCOMP_POLICY_H
#define IRIS_SECCOMP_POLICY_H

/*
 * Writes the seccomp filter every sandboxed program runs under, as raw BPF for bwrap --seccomp,
 * to the open descriptor fd. Returns 0, or a negative errno.
 */
int iris_seccomp_export(int fd);

#endif
