/*
 * iris-seccomp PATH: writes the runs' seccomp filter (seccomp-policy.c) to PATH, as raw BPF for bwrap --seccomp.
 * The server runs it once at start; errors go to stderr with the prefix "iris-seccomp:" and exit code 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "seccomp-policy.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: iris-seccomp PATH\n", stderr);
        return 1;
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        fprintf(stderr, "iris-seccomp: open %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    int result = iris_seccomp_export(fd);
    if (result < 0) {
        fprintf(stderr, "iris-seccomp: export: %s\n", strerror(-result));
        return 1;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fprintf(stderr, "iris-seccomp: close %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    return 0;
}
