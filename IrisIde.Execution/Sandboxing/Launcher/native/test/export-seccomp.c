/* Test harness: writes the runs' seccomp filter to PATH, as `iris-launch seccomp PATH` will. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "../iris-launch.h"

int main(int argc, char **argv)
{
    if (argc != 2)
    {
        fputs("usage: export-seccomp PATH\n", stderr);
        return 2;
    }

    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
    {
        perror(argv[1]);
        return 1;
    }

    int rc = iris_seccomp_export(fd);
    if (rc < 0)
    {
        fprintf(stderr, "iris_seccomp_export: %s\n", strerror(-rc));
        return 1;
    }

    return close(fd) == 0 ? 0 : 1;
}
