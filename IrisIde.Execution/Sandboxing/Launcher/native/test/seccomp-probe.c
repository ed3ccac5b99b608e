/*
 * Test harness: run inside the sandbox, tries every call the seccomp policy denies and a few it
 * must allow, and prints one line per call: "PASS name: errno" or "FAIL name: got …, want …".
 * Exits 0 when every line passes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static int failures;

/* Checks a raw syscall's result: want_errno 0 means it must succeed. */
static void check(const char *name, long result, int want_errno)
{
    int got = result < 0 ? errno : 0;
    if (got == want_errno)
        printf("PASS %s: %s\n", name, got ? strerrorname_np(got) : "ok");
    else
    {
        printf("FAIL %s: got %s, want %s\n", name, got ? strerrorname_np(got) : "ok",
            want_errno ? strerrorname_np(want_errno) : "ok");
        failures++;
    }
}

static void check_socket(const char *name, int family, int type, int want_errno)
{
    long fd = syscall(SYS_socket, family, type, 0);
    check(name, fd, want_errno);
    if (fd >= 0)
        close((int)fd);
}

/*
 * Runs fn in a child and checks how the child ended: killed by want_signal (or by also_signal,
 * when that is not 0), or exit 0.
 */
static void check_child(const char *name, void (*fn)(void), int want_signal, int also_signal)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
    {
        fn();
        _exit(0);
    }

    int status;
    waitpid(pid, &status, 0);
    int got = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    if (got == want_signal || (also_signal != 0 && got == also_signal))
        printf("PASS %s: %s\n", name, got ? sigabbrev_np(got) : "exit 0");
    else
    {
        printf("FAIL %s: got %s (status %#x), want %s\n", name, got ? sigabbrev_np(got) : "no signal", status,
            want_signal ? sigabbrev_np(want_signal) : "exit 0");
        failures++;
    }
}

/*
 * getpid through the i386 ABI: the filter is for x86_64 only, so this must kill the process with
 * SIGSYS. A kernel without the int 0x80 gate (ia32_emulation=0, some hypervisors) kills it with
 * SIGSEGV before the filter runs: the call does not happen either way.
 */
static void i386_getpid(void)
{
    long result = 20;
    __asm__ volatile("int $0x80" : "+a"(result) : : "memory");
}

/* getpid through the x32 ABI (same audit arch as x86_64, the 0x40000000 bit set). */
static void x32_getpid(void)
{
    syscall(0x40000000 | SYS_getpid);
}

static void *thread_main(void *arg)
{
    return arg;
}

static void print_seccomp_status(const char *path)
{
    char line[256];
    FILE *status = fopen(path, "r");
    while (status != NULL && fgets(line, sizeof line, status) != NULL)
    {
        if (strncmp(line, "Seccomp:", 8) == 0)
            printf("INFO %s %s", path, line);
    }

    if (status != NULL)
        fclose(status);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    print_seccomp_status("/proc/self/status");
    print_seccomp_status("/proc/1/status");

    struct io_uring_params uring = { 0 };
    check("io_uring_setup", syscall(SYS_io_uring_setup, 4, &uring), ENOSYS);
    check("io_uring_enter", syscall(SYS_io_uring_enter, 0, 0, 0, 0, NULL, 0), ENOSYS);
    check("io_uring_register", syscall(SYS_io_uring_register, 0, 0, NULL, 0), ENOSYS);
    check("add_key", syscall(SYS_add_key, "user", "iris", "secret", 6, -2 /* KEY_SPEC_PROCESS_KEYRING */), EPERM);
    check("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -4 /* KEY_SPEC_USER_KEYRING */, 1), EPERM);
    check("request_key", syscall(SYS_request_key, "user", "iris", NULL, 0), EPERM);
    check("ptrace(PTRACE_ATTACH, 1)", syscall(SYS_ptrace, PTRACE_ATTACH, 1, 0, 0), EPERM);
    check("ptrace(PTRACE_TRACEME)", syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0), EPERM);
    char buffer[16];
    struct iovec local = { buffer, sizeof buffer }, remote = { buffer, sizeof buffer };
    check("process_vm_readv", syscall(SYS_process_vm_readv, getppid(), &local, 1, &remote, 1, 0), EPERM);
    check("process_vm_writev", syscall(SYS_process_vm_writev, getppid(), &local, 1, &remote, 1, 0), EPERM);
    check("kcmp", syscall(SYS_kcmp, getpid(), getppid(), 0 /* KCMP_FILE */, 0, 0), EPERM);
    check("pidfd_getfd", syscall(SYS_pidfd_getfd, 0, 0, 0), EPERM);
    check("process_madvise", syscall(SYS_process_madvise, 0, NULL, 0, 0, 0), EPERM);
    check("personality(READ_IMPLIES_EXEC)", syscall(SYS_personality, READ_IMPLIES_EXEC), EPERM);
    check("personality(ADDR_NO_RANDOMIZE)", syscall(SYS_personality, ADDR_NO_RANDOMIZE), EPERM);
    check("personality(query)", syscall(SYS_personality, 0xffffffffUL), 0);
    check("personality(PER_LINUX)", syscall(SYS_personality, PER_LINUX), 0);
    check("userfaultfd", syscall(SYS_userfaultfd, 0), EPERM);
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    check("bpf", syscall(SYS_bpf, BPF_MAP_CREATE, &attr, sizeof attr), EPERM);
    struct perf_event_attr perf = { .type = PERF_TYPE_SOFTWARE, .size = sizeof perf, .config = PERF_COUNT_SW_CPU_CLOCK };
    check("perf_event_open", syscall(SYS_perf_event_open, &perf, 0, -1, -1, 0), EPERM);
    check("unshare(CLONE_NEWUSER)", syscall(SYS_unshare, CLONE_NEWUSER), EPERM);
    check("unshare(CLONE_NEWNS)", syscall(SYS_unshare, CLONE_NEWNS), EPERM);
    check("setns", syscall(SYS_setns, 0, 0), EPERM);
    check("clone(CLONE_NEWNS)", syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0), EPERM);
    check("clone(CLONE_NEWUSER)", syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0), EPERM);
    check("clone(CLONE_NEWNET)", syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0), EPERM);
    check("clone3", syscall(SYS_clone3, NULL, 0), ENOSYS);
    check("mount", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL), EPERM);
    check("umount2", syscall(SYS_umount2, "/tmp", 0), EPERM);
    check("pivot_root", syscall(SYS_pivot_root, "/tmp", "/tmp"), EPERM);
    check("chroot", syscall(SYS_chroot, "/tmp"), EPERM);
    check("fsopen", syscall(SYS_fsopen, "tmpfs", 0), EPERM);
    check("open_tree", syscall(SYS_open_tree, AT_FDCWD, "/tmp", 0), EPERM);
    check("move_mount", syscall(SYS_move_mount, AT_FDCWD, "/tmp", AT_FDCWD, "/tmp", 0), EPERM);
    check("mount_setattr", syscall(SYS_mount_setattr, AT_FDCWD, "/tmp", 0, NULL, 0), EPERM);
    check("init_module", syscall(SYS_init_module, NULL, 0, ""), EPERM);
    check("finit_module", syscall(SYS_finit_module, 0, "", 0), EPERM);
    check("delete_module", syscall(SYS_delete_module, "x", 0), EPERM);
    check("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0), EPERM);
    check("reboot", syscall(SYS_reboot, 0xfee1dead, 0x28121969, 0x4321fedc /* RB_POWER_OFF */, NULL), EPERM);
    check("swapon", syscall(SYS_swapon, "/tmp/swap", 0), EPERM);
    check("acct", syscall(SYS_acct, NULL), EPERM);
    check("syslog", syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0), EPERM);
    check("settimeofday", syscall(SYS_settimeofday, NULL, NULL), EPERM);
    struct timespec now = { 0, 0 };
    check("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, &now), EPERM);
    check("adjtimex", syscall(SYS_adjtimex, NULL), EPERM);
    check("clock_adjtime", syscall(SYS_clock_adjtime, CLOCK_REALTIME, NULL), EPERM);
    check("iopl", syscall(SYS_iopl, 3), EPERM);
    check("ioperm", syscall(SYS_ioperm, 0x80, 1, 1), EPERM);
    check("modify_ldt", syscall(SYS_modify_ldt, 0, buffer, sizeof buffer), EPERM);
    check("name_to_handle_at", syscall(SYS_name_to_handle_at, AT_FDCWD, ".", NULL, NULL, 0), EPERM);
    check("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0), EPERM);
    check("fanotify_init", syscall(SYS_fanotify_init, 0, 0), EPERM);
    check("quotactl", syscall(SYS_quotactl, 0, NULL, 0, NULL), EPERM);
    check("vhangup", syscall(SYS_vhangup), EPERM);
    check("sethostname", syscall(SYS_sethostname, "x", 1), EPERM);
    check("lookup_dcookie", syscall(SYS_lookup_dcookie, 0, NULL, 0), EPERM);
    check("uselib", syscall(SYS_uselib, "/nonexistent"), EPERM);
    check("ustat", syscall(SYS_ustat, 0, NULL), EPERM);
    check("sysfs", syscall(SYS_sysfs, 3), EPERM);
    check("mbind", syscall(SYS_mbind, buffer, 4096, 0, NULL, 0, 0), EPERM);
    check("set_mempolicy", syscall(SYS_set_mempolicy, 0, NULL, 0), EPERM);
    check("move_pages", syscall(SYS_move_pages, 0, 0, NULL, NULL, NULL, 0), EPERM);
    check("syncfs", syscall(SYS_syncfs, 1), EPERM);
    check("memfd_secret", syscall(SYS_memfd_secret, 0), EPERM);

    check_socket("socket(AF_VSOCK)", AF_VSOCK, SOCK_STREAM, EAFNOSUPPORT);
    check_socket("socket(AF_NETLINK)", AF_NETLINK, SOCK_RAW, EAFNOSUPPORT);
    check_socket("socket(AF_PACKET)", AF_PACKET, SOCK_RAW, EAFNOSUPPORT);
    check_socket("socket(AF_KEY)", AF_KEY, SOCK_RAW, EAFNOSUPPORT);
    check_socket("socket(AF_ALG)", AF_ALG, SOCK_SEQPACKET, EAFNOSUPPORT);
    check_socket("socket(AF_BLUETOOTH)", AF_BLUETOOTH, SOCK_STREAM, EAFNOSUPPORT);
    check_socket("socket(AF_UNSPEC)", AF_UNSPEC, SOCK_STREAM, EAFNOSUPPORT);
    check("socket(0x100000001)", syscall(SYS_socket, 0x100000001UL, SOCK_STREAM, 0), EAFNOSUPPORT);
    int pair[2];
    check("socketpair(AF_NETLINK)", syscall(SYS_socketpair, AF_NETLINK, SOCK_RAW, 0, pair), EAFNOSUPPORT);
    check("socketpair(AF_UNIX)", syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, pair), 0);
    check_socket("socket(AF_UNIX)", AF_UNIX, SOCK_STREAM, 0);
    check_socket("socket(AF_INET)", AF_INET, SOCK_STREAM, 0);
    check_socket("socket(AF_INET6)", AF_INET6, SOCK_DGRAM, 0);

    /* A TCP round trip over the sandbox's own loopback. */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t length = sizeof address;
    long tcp = bind(listener, (struct sockaddr *)&address, sizeof address);
    if (tcp == 0)
        tcp = listen(listener, 1);
    if (tcp == 0)
        tcp = getsockname(listener, (struct sockaddr *)&address, &length);
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (tcp == 0)
        tcp = connect(client, (struct sockaddr *)&address, sizeof address);
    int accepted = tcp == 0 ? accept4(listener, NULL, NULL, SOCK_CLOEXEC) : -1;
    if (tcp == 0)
        tcp = accepted < 0 ? -1 : write(client, "x", 1) == 1 && read(accepted, buffer, 1) == 1 ? 0 : -1;
    check("tcp over 127.0.0.1", tcp, 0);

    /* And over a Unix socket in the workspace's /tmp. */
    int unix_listener = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un unix_address = { .sun_family = AF_UNIX };
    snprintf(unix_address.sun_path, sizeof unix_address.sun_path, "/tmp/probe-%d.sock", getpid());
    long unix_round_trip = bind(unix_listener, (struct sockaddr *)&unix_address, sizeof unix_address);
    if (unix_round_trip == 0)
        unix_round_trip = listen(unix_listener, 1);
    int unix_client = socket(AF_UNIX, SOCK_STREAM, 0);
    if (unix_round_trip == 0)
        unix_round_trip = connect(unix_client, (struct sockaddr *)&unix_address, sizeof unix_address);
    check("unix socket connect", unix_round_trip, 0);

    pthread_t thread;
    errno = pthread_create(&thread, NULL, thread_main, NULL);
    check("pthread_create", errno ? -1 : pthread_join(thread, NULL), 0);
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    check("fork", child, 0);
    if (child > 0)
        waitpid(child, NULL, 0);
    check("pidfd_open", syscall(SYS_pidfd_open, getpid(), 0), 0);
    check("memfd_create", syscall(SYS_memfd_create, "probe", 0), 0);
    check("mkfifo", mkfifo("/tmp/probe-fifo", 0600), 0);

    check_child("int 0x80 getpid (i386 ABI)", i386_getpid, SIGSYS, SIGSEGV);
    check_child("x32 getpid", x32_getpid, SIGSYS, 0);

    printf("%s: %d failed\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
