/*
 * spawn-cost N PROGRAM [ARGS...]: starts PROGRAM N times one after another (posix_spawn + waitpid, its stdout and
 * stderr to /dev/null) and prints the wall time and the children's CPU (getrusage) per start. With SPAWN_FD10=PATH
 * each start gets PATH open read-only as descriptor 10 (for bwrap --seccomp 10). docs/BENCHMARKS.md, 2026-12-04.
 *
 *   cc -O2 -o spawn-cost spawn-cost.c
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

static double milliseconds(struct timeval t)
{
    return t.tv_sec * 1e3 + t.tv_usec / 1e3;
}

int main(int argc, char **argv)
{
    if (argc < 3 || atoi(argv[1]) <= 0) {
        fputs("usage: spawn-cost N PROGRAM [ARGS...]\n", stderr);
        return 2;
    }
    int count = atoi(argv[1]);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    if (getenv("SPAWN_FD10"))
        posix_spawn_file_actions_addopen(&actions, 10, getenv("SPAWN_FD10"), O_RDONLY, 0);

    struct timespec started, ended;
    clock_gettime(CLOCK_MONOTONIC, &started);
    for (int i = 0; i < count; i++) {
        pid_t child;
        int status;
        if (posix_spawn(&child, argv[2], &actions, NULL, argv + 2, environ) != 0 || waitpid(child, &status, 0) < 0) {
            perror(argv[2]);
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &ended);
    struct rusage usage;
    getrusage(RUSAGE_CHILDREN, &usage);
    double wall = (ended.tv_sec - started.tv_sec) * 1e3 + (ended.tv_nsec - started.tv_nsec) / 1e6;
    double cpu = milliseconds(usage.ru_utime) + milliseconds(usage.ru_stime);
    printf("%-32s cpu per start %.3f ms   wall per start %.3f ms\n", argv[2], cpu / count, wall / count);
    return 0;
}
