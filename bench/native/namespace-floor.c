/*
 * namespace-floor ROOT PROGRAM [ARGS...]: what a sandbox's namespaces and mounts cost at the least, to compare with
 * bwrap doing the same work (docs/BENCHMARKS.md, 2026-12-04). Not part of the product and not a sandbox: a static
 * program that, as root, makes the namespaces our runs get (user, mount, pid, ipc, uts), binds ROOT as the new root
 * with /usr read-only and /dev, mounts /proc with the eight files the server masks bound to /dev/null, /tmp and
 * /dev/shm as tmpfs, pivots into ROOT, drops every capability, loads the seccomp filter in $FILTER (what iris-seccomp
 * writes) and execs PROGRAM, then waits for it. ROOT must hold the folders usr, dev, proc and tmp.
 *
 *   musl-gcc -O2 -static -o namespace-floor namespace-floor.c
 *   spawn-cost 1000 ./namespace-floor ROOT /path/to/static-program
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* musl ships no kernel headers; these are the kernel's own layouts. */
struct sock_filter {
    unsigned short code;
    unsigned char jt, jf;
    unsigned int k;
};
struct sock_fprog {
    unsigned short len;
    struct sock_filter *filter;
};
#define SECCOMP_SET_MODE_FILTER 1
#define LAST_CAPABILITY 63

static const char *masked_proc_files[] = {
    "keys", "key-users", "timer_list", "config.gz", "kallsyms", "kmsg", "cmdline", "sys/kernel/random/boot_id",
};

static void fail(const char *what)
{
    perror(what);
    _exit(125);
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, text, strlen(text)) < 0)
        fail(path);
    close(fd);
}

static void bind_read_only(const char *source, const char *target)
{
    if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0
        || mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        fail(target);
}

static void set_up_child(const char *root, int ready, char **command)
{
    static struct sock_filter filter[4096];
    const char *filter_path = getenv("FILTER");
    int fd = filter_path ? open(filter_path, O_RDONLY | O_CLOEXEC) : -1;
    ssize_t filter_bytes = fd < 0 ? -1 : read(fd, filter, sizeof filter);
    if (filter_bytes <= 0)
        fail("FILTER");
    close(fd);

    char byte;
    if (read(ready, &byte, 1) != 0)
        fail("waiting for the id maps");

    char path[4096];
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        fail("/");
    if (mount(root, root, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail(root);
    snprintf(path, sizeof path, "%s/usr", root);
    bind_read_only("/usr", path);
    snprintf(path, sizeof path, "%s/dev", root);
    if (mount("/dev", path, NULL, MS_BIND | MS_REC, NULL) < 0)
        fail(path);
    snprintf(path, sizeof path, "%s/proc", root);
    if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        fail(path);
    for (size_t i = 0; i < sizeof masked_proc_files / sizeof *masked_proc_files; i++) {
        snprintf(path, sizeof path, "%s/proc/%s", root, masked_proc_files[i]);
        bind_read_only("/dev/null", path);
    }
    snprintf(path, sizeof path, "%s/tmp", root);
    if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m,mode=1777") < 0)
        fail(path);
    snprintf(path, sizeof path, "%s/dev/shm", root);
    if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=64m") < 0)
        fail(path);
    if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
        fail("pivot_root");
    if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
        fail("read-only /");

    setsid();
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    for (int capability = 0; capability <= LAST_CAPABILITY; capability++)
        prctl(PR_CAPBSET_DROP, capability, 0, 0, 0);
    /* struct __user_cap_header_struct { version 3, pid 0 } and two empty data sets: no capability left. */
    unsigned int header[2] = { 0x20080522, 0 }, data[6] = { 0 };
    if (syscall(SYS_capset, header, data) < 0)
        fail("capset");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail("no_new_privs");
    struct sock_fprog program = { .len = (unsigned short)(filter_bytes / 8), .filter = filter };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) < 0)
        fail("seccomp");
    execv(command[0], command);
    fail(command[0]);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: namespace-floor ROOT PROGRAM [ARGS...]\n", stderr);
        return 125;
    }
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        fail("pipe");
    pid_t child = (pid_t)syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD,
                                 0, 0, 0, 0);
    if (child < 0)
        fail("clone");
    if (child == 0) {
        close(ready[1]);
        set_up_child(argv[1], ready[0], argv + 2);
    }
    close(ready[0]);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/setgroups", child);
    write_file(path, "deny");
    snprintf(path, sizeof path, "/proc/%d/uid_map", child);
    write_file(path, "0 0 1\n");
    snprintf(path, sizeof path, "/proc/%d/gid_map", child);
    write_file(path, "0 0 1\n");
    close(ready[1]);
    int status;
    if (waitpid(child, &status, 0) < 0)
        fail("waitpid");
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
